"""The one way metric collection talks HTTP: connect and read timeouts, a cap on the size of
an answer, and only to hosts whose resolved addresses are allowed by settings."""

import functools
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings


class FetchError(Exception):
    """The request did not produce an answer worth reading. `transient` errors may succeed on
    a retry (timeouts, refused connections); others will not until something changes."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_ms: float

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _allowed_networks():
    return [
        ipaddress.ip_network(network, strict=False)
        for network in settings.METRIC_HTTP_ALLOWED_NETWORKS
    ]


def check_host_allowed(url: str) -> None:
    """Refuse a URL whose host resolves to any address outside the allowed networks."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError(f"'{url}' is not an http:// or https:// address.", transient=False)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port)}
    except socket.gaierror as error:
        raise FetchError(
            f"Cannot resolve host '{parts.hostname}': {error.strerror}.", transient=True
        ) from error
    networks = _allowed_networks()
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not any(ip in network for network in networks):
            raise FetchError(
                f"Host '{parts.hostname}' resolves to {ip}, which is outside the networks "
                "metric sources may reach (METRIC_HTTP_ALLOWED_NETWORKS).",
                transient=False,
            )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process, made as httpx makes its default one (trust_env off, as
    the clients are): making one for every poll, loading the authorities again, took 20 ms."""
    return httpx.create_ssl_context(trust_env=False)


def fetch(url: str, *, params=None, headers=None, timeout: float | None = None) -> Answer:
    """GET `url` and return the whole answer, whatever its status; FetchError if there is
    none, or if it is larger than METRIC_HTTP_MAX_BYTES."""
    check_host_allowed(url)
    read_timeout = timeout or settings.METRIC_HTTP_READ_TIMEOUT
    limits = httpx.Timeout(
        connect=settings.METRIC_HTTP_CONNECT_TIMEOUT,
        read=read_timeout,
        write=read_timeout,
        pool=read_timeout,
    )
    cap = settings.METRIC_HTTP_MAX_BYTES
    started = time.perf_counter()
    try:
        with (
            httpx.Client(
                timeout=limits, follow_redirects=False, trust_env=False, verify=_tls_context()
            ) as client,
            client.stream("GET", url, params=params, headers=headers) as response,
        ):
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise FetchError(
                    f"The answer is {declared} bytes, larger than the {cap} bytes allowed.",
                    transient=False,
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > cap:
                    raise FetchError(
                        f"The answer is larger than the {cap} bytes allowed.", transient=False
                    )
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(response.status_code, response.headers, bytes(body), elapsed)
    except httpx.TimeoutException as error:
        raise FetchError(
            f"No answer within the time limit ({type(error).__name__}).", transient=True
        ) from error
    except httpx.ConnectError as error:
        raise FetchError(f"Could not connect: {error}.", transient=True) from error
    except httpx.HTTPError as error:
        raise FetchError(f"The HTTP exchange failed: {error}.", transient=True) from error
