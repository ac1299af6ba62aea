"""The one way metric collection talks HTTP. A host is resolved once, every address it
resolves to is judged against METRIC_HTTP_ALLOWED_NETWORKS, and the connection goes to exactly
those checked addresses: no second lookup between the check and the connect, so a name that
changes its answer (DNS rebinding) cannot move the request elsewhere. Redirects are followed
within the same rules, each hop resolved, judged and pinned again. One collection has a total
deadline (connect + read timeout) however slowly a server drips, and a cap on the answer's size."""

import contextlib
import functools
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Special-purpose blocks (from IANA's registries) that no network merely containing them
# unlocks: an allowed network opens an address in one of these only if it lies inside the
# narrowest block the address falls in. So 0.0.0.0/0 opens no private or link-local address,
# 169.254.0.0/16 does not open the cloud metadata address; naming 10.0.0.0/8 opens 10.1.2.3.
SPECIAL_BLOCKS = [
    (ipaddress.ip_network(block), what)
    for block, what in [
        ("169.254.169.254/32", "a cloud metadata address"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("::/128", "the unspecified address"),
        ("127.0.0.0/8", "a loopback address"),
        ("::1/128", "the loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("fe80::/10", "a link-local address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("fc00::/7", "a private (unique local) address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("2001:db8::/32", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("224.0.0.0/4", "a multicast address"),
        ("ff00::/8", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("::/8", "a reserved IPv6 address"),
        ("64:ff9b::/96", "an address translated to IPv4 (NAT64)"),
        ("2002::/16", "an address tunnelled to IPv4 (6to4)"),
        ("2001::/32", "an address tunnelled to IPv4 (Teredo)"),
    ]
]


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
    url: str = ""
    redirects: int = 0

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass(frozen=True)
class Target:
    """A host and port with the addresses it was resolved to and judged allowed."""

    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def _allowed_networks():
    return [
        ipaddress.ip_network(network, strict=False)
        for network in settings.METRIC_HTTP_ALLOWED_NETWORKS
    ]


def _as_judged(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches that IPv4 address: judge it so."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _special_block(ip: IPAddress):
    """The narrowest special-purpose block `ip` lies in, and what it is; (None, "") if none."""
    blocks = [(block, what) for block, what in SPECIAL_BLOCKS if ip in block]
    if blocks:
        return max(blocks, key=lambda found: found[0].prefixlen)
    if not ip.is_global:
        return ipaddress.ip_network(ip), "a special-purpose address"
    return None, ""


def address_refusal(ip: IPAddress) -> str | None:
    """Why collection may not connect to `ip`, or None if an allowed network opens it."""
    ip = _as_judged(ip)
    block, what = _special_block(ip)
    containing = [
        network
        for network in _allowed_networks()
        if network.version == ip.version and ip in network
    ]
    if any(block is None or network.subnet_of(block) for network in containing):
        return None
    described = f"{ip}, {what}," if what else f"{ip},"
    message = (
        f"{described} which is outside the networks metric sources may reach "
        "(METRIC_HTTP_ALLOWED_NETWORKS)"
    )
    if containing:
        message += (
            f"; an allowed network that merely contains it ({containing[0]}) does not count: "
            f"list {block} itself to allow it"
        )
    return message + "."


def _resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    """The host's addresses, looked up once; a lookup that hangs ends after `timeout`."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found: dict = {}

    def lookup():
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            found["error"] = error

    worker = threading.Thread(target=lookup, daemon=True, name=f"resolve {host}")
    worker.start()
    worker.join(max(timeout, 0))
    if worker.is_alive():
        raise FetchError(
            f"Resolving host '{host}' took longer than {timeout:.3g} s.", transient=True
        )
    if "error" in found:
        reason = getattr(found["error"], "strerror", None) or str(found["error"])
        raise FetchError(f"Cannot resolve host '{host}': {reason}.", transient=True)
    addresses = []
    for info in found["infos"]:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def _target(url: httpx.URL, *, timeout: float) -> Target:
    if url.scheme not in {"http", "https"} or not url.host:
        raise FetchError(f"'{url}' is not an http:// or https:// address.", transient=False)
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = _resolve(host, port, timeout)
    if not addresses:
        raise FetchError(f"Host '{url.host}' resolves to no address.", transient=True)
    for ip in addresses:
        refusal = address_refusal(ip)
        if refusal:
            raise FetchError(f"Host '{url.host}' resolves to {refusal}", transient=False)
    return Target(host, port, tuple(_as_judged(ip) for ip in addresses))


def check_host_allowed(url: str) -> Target:
    """Resolve the URL's host once and refuse it if any address is outside the allowed
    networks; the Target holds the checked addresses that a connection must then use."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise FetchError(f"'{url}' is not a valid address: {error}.", transient=False) from error
    return _target(parsed, timeout=settings.METRIC_HTTP_CONNECT_TIMEOUT)


class _Deadline:
    """The one collection's total time: connections opened under it are shut when it passes,
    which ends any read however the server drips (a TLS handshake included)."""

    def __init__(self, at: float):
        self.at = at
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(at - time.monotonic(), 0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            if sock is not None:
                self._sockets.append(sock)
            if self.expired and sock is not None:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the target's checked addresses, whatever host name httpcore holds
    (it still sends that name as Host and, for https, as SNI and to verify the certificate)."""

    def __init__(self, target: Target, deadline: _Deadline):
        self._target = target
        self._deadline = deadline
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if (host, port) != (self._target.host, self._target.port):
            raise httpcore.ConnectError(f"{host}:{port} is not the host that was checked.")
        failure = None
        for address in self._target.addresses:
            budget = self._deadline.remaining()
            if budget <= 0:
                raise httpcore.ConnectTimeout("The collection's time limit has passed.")
            try:
                stream = self._backend.connect_tcp(
                    str(address),
                    port,
                    timeout=min(timeout, budget) if timeout else budget,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            self._deadline.watch(stream.get_extra_info("socket"))
            return stream
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("Metric collection does not use Unix sockets.")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, *, target: Target, deadline: _Deadline, ssl_context: ssl.SSLContext):
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx's transport takes no network backend; its pool does, so the pool is remade
        # with the same TLS context and the pinned backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            network_backend=_PinnedBackend(target, deadline),
        )


@functools.cache
def _tls_context(ca_file: str) -> ssl.SSLContext:
    """One TLS context per process (and per CA file), made as httpx makes its default one
    (trust_env off, as the clients are): making one for every poll took 20 ms."""
    if ca_file:
        return httpx.create_ssl_context(verify=ca_file, trust_env=False)
    return httpx.create_ssl_context(trust_env=False)


def _origin(url: httpx.URL) -> tuple:
    return url.scheme, url.raw_host, url.port


def _read_body(response: httpx.Response, cap: int) -> bytes:
    """The whole body, decoded, refusing it as soon as it passes `cap` bytes (a compressed
    answer is inflated only up to the cap, so a small bomb cannot fill the memory)."""
    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if declared and declared.isdigit() and int(declared) > cap and encoding in ("", "identity"):
        raise FetchError(
            f"The answer is {declared} bytes, larger than the {cap} bytes allowed.",
            transient=False,
        )
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)
    elif encoding in ("", "identity"):
        inflater = None
    else:
        raise FetchError(
            f"The answer is encoded as '{encoding}', which metric collection does not read.",
            transient=False,
        )
    body = bytearray()
    too_large = FetchError(f"The answer is larger than the {cap} bytes allowed.", transient=False)
    for chunk in response.iter_raw():
        if inflater is not None:
            try:
                chunk = inflater.decompress(chunk, cap + 1 - len(body))
            except zlib.error as error:
                raise FetchError(
                    f"The answer's {encoding} encoding is broken: {error}.", transient=False
                ) from error
            if inflater.unconsumed_tail:
                raise too_large
        body.extend(chunk)
        if len(body) > cap:
            raise too_large
    return bytes(body)


def _exchange(url: httpx.URL, *, headers, timeouts: httpx.Timeout, deadline: _Deadline):
    """One GET to `url`'s checked addresses; the answer's status, headers and body."""
    target = _target(url, timeout=min(timeouts.connect, max(deadline.remaining(), 0)))
    context = _tls_context(settings.METRIC_HTTP_CA_FILE)
    transport = _PinnedTransport(target=target, deadline=deadline, ssl_context=context)
    with (
        httpx.Client(
            transport=transport, timeout=timeouts, follow_redirects=False, trust_env=False
        ) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        return (
            response.status_code,
            response.headers,
            _read_body(response, settings.METRIC_HTTP_MAX_BYTES),
        )


def _is_redirect(status: int, headers: httpx.Headers) -> bool:
    return status in (301, 302, 303, 307, 308) and bool(headers.get("location"))


def fetch(
    url: str,
    *,
    params=None,
    headers=None,
    timeout: float | None = None,
    deadline: float | None = None,
    follow_redirects: bool = True,
) -> Answer:
    """GET `url` and return the whole answer, whatever its status; FetchError if there is
    none, if it is larger than METRIC_HTTP_MAX_BYTES, or if it does not arrive within the
    connect timeout plus the read timeout (`timeout`, else METRIC_HTTP_READ_TIMEOUT), or by
    `deadline` (a time.monotonic() value) if that comes first. Redirects are followed, up to
    METRIC_HTTP_MAX_REDIRECTS, each to an allowed host only; the source's headers go along
    only while the redirect stays on the same scheme, host and port."""
    connect_timeout = settings.METRIC_HTTP_CONNECT_TIMEOUT
    read_timeout = timeout or settings.METRIC_HTTP_READ_TIMEOUT
    timeouts = httpx.Timeout(
        connect=connect_timeout, read=read_timeout, write=read_timeout, pool=read_timeout
    )
    started = time.monotonic()
    ends_at = started + connect_timeout + read_timeout
    if deadline is not None:
        ends_at = min(ends_at, deadline)
    try:
        current = httpx.URL(url, params=params)
    except (httpx.InvalidURL, TypeError) as error:
        raise FetchError(f"'{url}' is not a valid address: {error}.", transient=False) from error
    sent_headers = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
    first_origin = _origin(current)
    limit = settings.METRIC_HTTP_MAX_REDIRECTS
    clock = _Deadline(ends_at)
    try:
        for hop in range(limit + 1):
            same_origin = _origin(current) == first_origin
            status, answer_headers, body = _call(
                current,
                headers=sent_headers if same_origin else {"Accept-Encoding": "gzip, deflate"},
                timeouts=timeouts,
                deadline=clock,
                total=ends_at - started,
                hop=hop,
            )
            if not (follow_redirects and _is_redirect(status, answer_headers)):
                elapsed = (time.monotonic() - started) * 1000
                return Answer(status, answer_headers, body, elapsed, str(current), hop)
            current = _redirect_target(current, answer_headers["location"])
        raise FetchError(
            f"The answer still redirects after {limit} redirects (METRIC_HTTP_MAX_REDIRECTS); "
            f"the last one pointed to {str(current)[:200]}.",
            transient=False,
        )
    finally:
        clock.cancel()


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        following = current.join(location)
    except httpx.InvalidURL as error:
        raise FetchError(
            f"The answer redirects to {location[:200]!r}, which is not a valid address.",
            transient=False,
        ) from error
    if following.scheme not in {"http", "https"}:
        raise FetchError(
            f"The answer redirects to {str(following)[:200]}, which is not http:// or https://.",
            transient=False,
        )
    return following


def _call(url: httpx.URL, *, headers, timeouts, deadline: _Deadline, total: float, hop: int):
    """One hop, with every failure turned into a FetchError that says what went wrong."""
    try:
        return _exchange(url, headers=headers, timeouts=timeouts, deadline=deadline)
    except FetchError as error:
        if deadline.expired:
            raise _out_of_time(total) from error
        if hop:
            raise FetchError(
                f"The answer redirects to {str(url)[:200]}: {error}", transient=error.transient
            ) from error
        raise
    except httpx.HTTPError as error:
        if deadline.expired or deadline.remaining() <= 0:
            raise _out_of_time(total) from error
        if isinstance(error, httpx.TimeoutException):
            raise FetchError(
                f"No answer within the time limit ({type(error).__name__}).", transient=True
            ) from error
        if isinstance(error, httpx.ConnectError):
            refused = _certificate_refusal(error)
            if refused is not None:
                raise FetchError(
                    f"The server's certificate was refused: {refused.verify_message}.",
                    transient=False,
                ) from error
            raise FetchError(f"Could not connect: {error}.", transient=True) from error
        if isinstance(error, httpx.RemoteProtocolError):
            raise FetchError(f"The answer is not valid HTTP: {error}.", transient=True) from error
        raise FetchError(f"The HTTP exchange failed: {error}.", transient=True) from error


def _certificate_refusal(error: BaseException) -> ssl.SSLCertVerificationError | None:
    while error is not None:
        if isinstance(error, ssl.SSLCertVerificationError):
            return error
        error = error.__cause__ or error.__context__
    return None


def _out_of_time(total: float) -> FetchError:
    return FetchError(
        f"No complete answer within {total:.3g} s, the time one collection may take "
        "(connect timeout + read timeout).",
        transient=True,
    )
