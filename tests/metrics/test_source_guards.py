"""Metric sources cannot be turned against the network or the databases: addresses are judged
after resolving and the connection goes to the judged one, redirects are judged hop by hop,
hostile servers (a tarpit, a flood, garbage, a slow drip) cost a poll no more than its time
limit, and SQL sources run one read-only SELECT. Every server here is a real one on loopback."""

import contextlib
import gzip
import ipaddress
import json
import random
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from metrics import services
from metrics.collection.collectors import SourceError, collect, sql_query_rows
from metrics.collection.http_client import FetchError, check_host_allowed, fetch
from metrics.collection.source_config import validate_source_config
from metrics.models import Measurement, MetricSource
from tests.factories import KPIFactory, MetricSourceFactory

pytestmark = pytest.mark.django_db

CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 1.0
TIME_LIMIT = CONNECT_TIMEOUT + READ_TIMEOUT
MARGIN = 1.0  # scheduling and teardown on a busy two-core machine


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Every connection these tests open stays on loopback: an attempt to reach any other
    address is refused and fails the test, so a refused address is shown never contacted."""
    attempts = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            attempts.append(address)
            raise ConnectionRefusedError(f"test guard: {address} is not loopback")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"tried to connect beyond loopback: {attempts}"


@pytest.fixture
def small_timeouts(settings):
    settings.METRIC_HTTP_CONNECT_TIMEOUT = CONNECT_TIMEOUT
    settings.METRIC_HTTP_READ_TIMEOUT = READ_TIMEOUT


# Servers


class RawServer:
    """A TCP server on loopback whose every connection is handed to `behaviour(conn, server)`;
    it counts connections and notes when the client closed one."""

    def __init__(self, behaviour, host="127.0.0.1", port=0):
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.accepted = 0
        self.client_closed_at: list[float] = []
        self.listener = socket.create_server((host, port))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with contextlib.suppress(OSError), conn:
            conn.settimeout(0.05)
            self.read_request(conn)
            self.behaviour(conn, self)

    def read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data and not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk

    def client_gone(self, conn) -> bool:
        """True once the client closed the connection (or it broke)."""
        try:
            if conn.recv(4096) == b"":
                self.client_closed_at.append(time.monotonic())
                return True
        except TimeoutError:
            return False
        except OSError:
            self.client_closed_at.append(time.monotonic())
            return True
        return False

    def stop(self):
        self.stopping.set()
        self.listener.close()


def tarpit(conn, server):
    """Takes the request and never answers, until the client gives up."""
    while not server.stopping.is_set() and not server.client_gone(conn):
        pass


def _send_until_stopped(conn, server, pieces, pause=0.0):
    conn.settimeout(2)
    for piece in pieces:
        if server.stopping.is_set():
            return
        try:
            conn.sendall(piece)
        except OSError:
            server.client_closed_at.append(time.monotonic())
            return
        if pause:
            time.sleep(pause)


def _forever(piece):
    while True:
        yield piece


def flood_body(conn, server):
    """A body with no length that never ends."""
    _send_until_stopped(
        conn,
        server,
        [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n", *([b"7" * 65536] * 200)],
    )


def flood_chunked(conn, server):
    chunk = b"10000\r\n" + b"7" * 0x10000 + b"\r\n"
    _send_until_stopped(
        conn, server, [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", *[chunk] * 200]
    )


def flood_headers(conn, server):
    """Headers that never end."""
    line = b"X-Padding: " + b"a" * 1000 + b"\r\n"
    _send_until_stopped(conn, server, [b"HTTP/1.1 200 OK\r\n", *[line] * 5000])


def gzip_bomb(conn, server):
    """50 MB of zeros in about 50 kB of gzip (made before the test measures memory)."""
    body = server.bomb
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    _send_until_stopped(conn, server, [head, body])


def random_bytes(conn, server):
    """Bytes that are not HTTP at all, then the connection closes."""
    noise = random.Random(7).randbytes(4096)  # noqa: S311 (fixed noise, not a secret)
    _send_until_stopped(conn, server, [noise])


def other_protocol(conn, server):
    """Another service's greeting on the port (as an SSH server would answer)."""
    _send_until_stopped(conn, server, [b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"])
    tarpit(conn, server)


DRIP_BODY = b'{"data": {"p95_ms": 42.5}}'  # 26 bytes: 5 s at one byte every 0.2 s


def drip_headers(conn, server):
    """A valid answer whose headers come one byte every 0.2 s: no read waits long, and the
    whole would take 5 s."""
    dripped = b"X-Slow: " + b"s" * 16 + b"\r\n"  # 26 bytes
    rest = f"Content-Length: {len(DRIP_BODY)}\r\n\r\n".encode() + DRIP_BODY
    _send_until_stopped(conn, server, [b"HTTP/1.1 200 OK\r\n"])
    _send_until_stopped(conn, server, [bytes([b]) for b in dripped], pause=0.2)
    _send_until_stopped(conn, server, [rest])


def drip_body(conn, server):
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(DRIP_BODY)}\r\n\r\n".encode()
    _send_until_stopped(conn, server, [head, *(bytes([b]) for b in DRIP_BODY)], pause=0.2)


@pytest.fixture
def raw_server():
    started = []

    def start(behaviour, **where):
        server = RawServer(behaviour, **where)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class _RoutesHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        self.server.requests.append({"path": path, "headers": dict(self.headers)})
        status, headers, body = self.server.routes.get(path, (404, {}, b"unknown"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value.replace("{port}", str(self.server.server_port)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_routes():
    """Start a real HTTP server answering `routes` (path: (status, headers, body))."""
    started = []

    def start(routes, host="127.0.0.1", port=0, tls: ssl.SSLContext | None = None):
        server = ThreadingHTTPServer((host, port), _RoutesHandler)
        server.routes, server.requests = routes, []
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        started.append(server)
        scheme = "https" if tls else "http"
        server.url = f"{scheme}://{host}:{server.server_port}"
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


JSON_OK = (200, {"Content-Type": "application/json"}, b'{"data": {"p95_ms": 42.5}}')


# Collection through the service, as a worker runs it


def poll(source: MetricSource):
    """One poll through the collection service: (seconds taken, the error or None)."""
    started = time.monotonic()
    try:
        services.metric_source_poll(source_id=source.pk, slot=timezone.now())
        error = None
    except SourceError as raised:
        error = raised
    return time.monotonic() - started, error


def assert_failed_cleanly(source, message, elapsed, limit):
    source.refresh_from_db()
    assert elapsed < limit + MARGIN, f"the poll took {elapsed:.2f} s"
    assert message in source.last_error, source.last_error
    assert source.consecutive_failures == 1
    assert not Measurement.objects.filter(source=source).exists()


def assert_healthy_poll_still_works(http_routes):
    server = http_routes({"/json": JSON_OK})
    healthy = MetricSourceFactory(
        kind="http_json", config={"url": f"{server.url}/json", "json_path": "data.p95_ms"}
    )
    elapsed, error = poll(healthy)
    assert error is None and elapsed < 1
    assert Measurement.objects.get(source=healthy).value == 42.5


KINDS = {
    "http_json": lambda url: {"url": f"{url}/x", "json_path": "data.p95_ms"},
    "http_probe": lambda url: {"url": f"{url}/x", "requests": 3},
    # Prometheus' read timeout is its query timeout plus 2 s.
    "prometheus": lambda url: {"url": url, "query": "up", "timeout_seconds": 0.2},
}
LIMITS = {"http_json": TIME_LIMIT, "http_probe": TIME_LIMIT, "prometheus": CONNECT_TIMEOUT + 2.2}


@pytest.mark.parametrize("kind", KINDS)
def test_a_tarpit_costs_a_poll_its_time_limit_and_nothing_more(
    kind, raw_server, http_routes, small_timeouts
):
    server = raw_server(tarpit)
    source = MetricSourceFactory(kind=kind, config=KINDS[kind](server.url))
    started = time.monotonic()
    elapsed, error = poll(source)
    assert error is not None and error.transient  # a worker may retry it later
    assert_failed_cleanly(source, "time", elapsed, LIMITS[kind])
    # One connection; the probe's first request waits out its read timeout, the second what
    # is left of the poll's time, and the third is never sent.
    assert server.accepted == (2 if kind == "http_probe" else 1)
    deadline = time.monotonic() + 1
    while not server.client_closed_at and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.client_closed_at and server.client_closed_at[0] - started < LIMITS[kind] + 0.5
    assert_healthy_poll_still_works(http_routes)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [(drip_headers, "No complete answer within 1.5 s"), (drip_body, "No complete answer")],
)
def test_a_slow_drip_is_cut_at_the_total_time_limit(
    behaviour, message, raw_server, http_routes, small_timeouts
):
    # One byte every 0.2 s never lets a single read time out (1 s): only the total does.
    server = raw_server(behaviour)
    source = MetricSourceFactory(kind="http_json", config=KINDS["http_json"](server.url))
    elapsed, error = poll(source)
    assert error is not None
    assert elapsed > READ_TIMEOUT  # it did drip for a while
    assert_failed_cleanly(source, message, elapsed, TIME_LIMIT)
    assert_healthy_poll_still_works(http_routes)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (flood_body, "larger than the 1000000 bytes allowed"),
        (flood_chunked, "larger than the 1000000 bytes allowed"),
        (flood_headers, "not valid HTTP"),
        (random_bytes, "not valid HTTP"),
        (other_protocol, "No answer within the time limit"),
    ],
)
def test_floods_and_garbage_are_errors_with_a_reason(
    behaviour, message, raw_server, http_routes, small_timeouts
):
    server = raw_server(behaviour)
    source = MetricSourceFactory(kind="http_json", config=KINDS["http_json"](server.url))
    elapsed, _ = poll(source)
    assert_failed_cleanly(source, message, elapsed, TIME_LIMIT)
    assert_healthy_poll_still_works(http_routes)


def test_a_compressed_answer_is_inflated_only_up_to_the_cap(raw_server, small_timeouts):
    server = raw_server(gzip_bomb)
    server.bomb = gzip.compress(bytes(50_000_000), compresslevel=9)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than the 1000000 bytes allowed"):
            fetch(f"{server.url}/x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"inflating took {peak} bytes"


GARBAGE_PROMETHEUS = [
    (b"[]", "not one of Prometheus' query API"),
    (b'"success"', "not one of Prometheus' query API"),
    (b'{"status": "success", "data": "x"}', "has no 'data' object"),
    (b'{"status": "success", "data": {"resultType": "vector", "result": "x"}}', "no list"),
    (b'{"status": "success", "data": {"resultType": "vector", "result": [1]}}', "no [time, value]"),
    (b'{"status": "success", "data": {"resultType": "matrix", "result": []}}', "a matrix"),
    (b'{"status": "success", "data": {"resultType": ["x"], "result": []}}', "['x']"),
    (b'{"status": "error", "error": {"deep": [1]}, "errorType": 7}', "(HTTP 200, 7): {'deep'"),
    (b'{"status": "success", "data": {"resultType": "scalar", "result": [1, "x"]}}', "'x'"),
    (b'{"status":', "did not answer with JSON"),
    (random.Random(3).randbytes(300), "did not answer with JSON"),  # noqa: S311
]


@pytest.mark.parametrize(("body", "message"), GARBAGE_PROMETHEUS)
def test_garbage_from_prometheus_is_an_error_with_a_reason(body, message, http_routes):
    server = http_routes({"/api/v1/query": (200, {"Content-Type": "application/json"}, body)})
    source = MetricSourceFactory(kind="prometheus", config={"url": server.url, "query": "up"})
    elapsed, _ = poll(source)
    assert_failed_cleanly(source, message, elapsed, 1)


def test_prometheus_warnings_that_are_not_a_list_still_read_as_partial(http_routes):
    body = (
        b'{"status": "success", "warnings": "store down",'
        b' "data": {"resultType": "scalar", "result": [1, "3"]}}'
    )
    server = http_routes({"/api/v1/query": (200, {}, body)})
    reading = collect(MetricSource(kind="prometheus", config={"url": server.url, "query": "x"}))
    assert (reading.value, reading.partial, reading.note) == (3.0, True, "store down")


# Which addresses may be reached


REFUSED_BY_DEFAULT = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254, a cloud metadata address"),
    ("http://[::ffff:169.254.169.254]/", "169.254.169.254, a cloud metadata address"),
    ("http://169.254.10.1/", "169.254.10.1, a link-local address"),
    ("http://[fe80::1]/", "fe80::1, a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1, a private address"),
    ("http://172.16.5.4/", "172.16.5.4, a private address"),
    ("http://192.168.1.1/", "192.168.1.1, a private address"),
    ("http://[fc00::1]/", "fc00::1, a private (unique local) address"),
    ("http://[::ffff:10.0.0.1]/", "10.0.0.1, a private address"),
    ("http://0.0.0.0:8000/", "0.0.0.0, an unspecified"),
    ("http://[::]:8000/", "::, the unspecified address"),
    ("http://224.0.0.1/", "224.0.0.1, a multicast address"),
    ("http://[ff02::1]/", "ff02::1, a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1, a reserved address"),
    ("http://255.255.255.255/", "255.255.255.255, the broadcast address"),
    ("http://100.64.0.1/", "100.64.0.1, a shared (carrier-grade NAT) address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "an address translated to IPv4 (NAT64)"),
    ("http://93.184.215.14/", "93.184.215.14, which is outside"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED_BY_DEFAULT)
def test_only_loopback_is_reachable_by_default(url, message):
    with pytest.raises(FetchError) as error:
        check_host_allowed(url)
    assert message in str(error.value) and "METRIC_HTTP_ALLOWED_NETWORKS" in str(error.value)
    assert not error.value.transient


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_allowing_everything_does_not_open_special_addresses(url, settings):
    settings.METRIC_HTTP_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    with pytest.raises(FetchError, match=r"merely contains it .* does not count: list"):
        check_host_allowed(url)
    # A public address is open then: judged only, never contacted here.
    assert check_host_allowed("http://93.184.215.14/").addresses == (
        ipaddress.ip_address("93.184.215.14"),
    )


def test_a_special_block_opens_when_it_is_named(settings):
    settings.METRIC_HTTP_ALLOWED_NETWORKS = ["10.0.0.0/8", "169.254.0.0/16"]
    assert check_host_allowed("http://10.1.2.3/").addresses == (ipaddress.ip_address("10.1.2.3"),)
    check_host_allowed("http://169.254.1.1/")
    # The metadata address is a block of its own inside link-local: it needs naming itself.
    with pytest.raises(FetchError, match=r"list 169\.254\.169\.254/32 itself"):
        check_host_allowed("http://169.254.169.254/")
    settings.METRIC_HTTP_ALLOWED_NETWORKS = ["169.254.169.254/32"]
    check_host_allowed("http://169.254.169.254/")


def test_an_ipv4_mapped_address_is_judged_and_reached_as_its_ipv4(http_routes):
    server = http_routes({"/json": JSON_OK})
    url = f"http://[::ffff:127.0.0.1]:{server.server_port}/json"
    assert check_host_allowed(url).addresses == (ipaddress.ip_address("127.0.0.1"),)
    assert fetch(url).status == 200


def test_a_literal_address_outside_the_networks_is_refused_when_the_source_is_saved():
    with pytest.raises(ValidationError, match=r"169\.254\.169\.254, a cloud metadata address"):
        validate_source_config("http_json", {"url": "http://169.254.169.254/x", "json_path": "a"})
    with pytest.raises(ValidationError, match="a private address"):
        validate_source_config(
            "prometheus", {"url": "http://[::ffff:10.1.1.1]:9090", "query": "up"}
        )
    # A name is judged when it is resolved, at each collection.
    validate_source_config("prometheus", {"url": "http://prometheus.internal:9090", "query": "up"})


def test_timeouts_a_source_asks_for_are_bounded():
    with pytest.raises(ValidationError, match="'timeout_seconds' is at most 30"):
        validate_source_config(
            "http_json", {"url": "http://x", "json_path": "a", "timeout_seconds": 600}
        )


# Resolving once and connecting to exactly the address that was checked


@pytest.fixture
def fake_dns(monkeypatch):
    """Answers for made-up names (a fault injected into name resolution); each name's list of
    answers is given out one lookup at a time, the last one repeating. Other names resolve."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


def test_a_name_that_rebinds_after_the_check_still_reaches_the_checked_address(
    fake_dns, http_routes, settings
):
    settings.METRIC_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    allowed = http_routes({"/json": JSON_OK})
    port = allowed.server_port
    forbidden = http_routes(
        {"/json": (200, {}, b'{"data": {"p95_ms": 666}}')}, host="127.0.0.2", port=port
    )
    answers, lookups = fake_dns
    # Checked as 127.0.0.1; any later lookup would say 127.0.0.2, outside the networks.
    answers["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    reading = collect(
        MetricSource(
            kind="http_json",
            config={"url": f"http://rebind.test:{port}/json", "json_path": "data.p95_ms"},
        )
    )
    assert reading.value == 42.5
    assert lookups == ["rebind.test"]  # looked up once: no second lookup to rebind
    assert forbidden.requests == []
    assert allowed.requests[0]["headers"]["Host"] == f"rebind.test:{port}"


def test_a_name_with_any_address_outside_the_networks_is_refused(fake_dns, loopback_only):
    answers, _ = fake_dns
    answers["mixed.test"] = [["127.0.0.1", "169.254.169.254"]]
    with pytest.raises(FetchError, match=r"'mixed\.test' resolves to 169\.254\.169\.254, a cloud"):
        fetch("http://mixed.test/")
    answers["mapped.test"] = [["::ffff:169.254.169.254"]]
    with pytest.raises(FetchError, match=r"'mapped\.test' resolves to 169\.254\.169\.254"):
        fetch("http://mapped.test/")


def _certificate(tmp_path, name):
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    command = ["/usr/bin/openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", f"/CN={name}"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return key, cert


def test_https_to_a_pinned_address_still_sends_and_verifies_the_name(
    fake_dns, http_routes, settings, tmp_path
):
    key, cert = _certificate(tmp_path, "metrics.test")
    served_names = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda sock, name, context: served_names.append(name)
    server = http_routes({"/json": JSON_OK}, tls=tls)
    settings.METRIC_HTTP_CA_FILE = str(cert)
    answers, _ = fake_dns
    answers["metrics.test"] = [["127.0.0.1"]]
    answers["other.test"] = [["127.0.0.1"]]
    port = server.server_port
    answer = fetch(f"https://metrics.test:{port}/json")
    assert answer.status == 200 and json.loads(answer.body)["data"]["p95_ms"] == 42.5
    assert served_names == ["metrics.test"]
    assert server.requests[0]["headers"]["Host"] == f"metrics.test:{port}"
    # The same address under another name: the certificate does not match, and that is said.
    with pytest.raises(FetchError, match="certificate was refused: Hostname mismatch"):
        fetch(f"https://other.test:{port}/json")


# Redirects


@pytest.fixture
def redirecting(http_routes):
    elsewhere = http_routes({"/echo": JSON_OK})
    server = http_routes(
        {
            "/health": (301, {"Location": "/healthz/"}, b""),
            "/healthz/": JSON_OK,
            "/loop": (302, {"Location": "/loop"}, b""),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/to-mapped": (307, {"Location": "http://[::ffff:169.254.169.254]/"}, b""),
            "/to-ftp": (302, {"Location": "ftp://127.0.0.1/x"}, b""),
            "/to-same": (302, {"Location": "/echo"}, b""),
            "/echo": JSON_OK,
            "/to-elsewhere": (302, {"Location": f"{elsewhere.url}/echo"}, b""),
        }
    )
    return server, elsewhere


def test_a_redirect_within_the_allowed_networks_is_followed(redirecting):
    server, _ = redirecting
    probe = collect(MetricSource(kind="http_probe", config={"url": f"{server.url}/health"}))
    assert probe.note == "5 of 5 answered" and not probe.partial
    reading = collect(
        MetricSource(
            kind="http_json", config={"url": f"{server.url}/health", "json_path": "data.p95_ms"}
        )
    )
    assert reading.value == 42.5


@pytest.mark.parametrize(
    "path", ["/to-metadata", "/to-mapped"], ids=["metadata", "mapped-metadata"]
)
def test_a_redirect_to_the_metadata_address_is_refused_and_never_followed(
    path, redirecting, loopback_only
):
    server, _ = redirecting
    source = MetricSourceFactory(
        kind="http_json", config={"url": f"{server.url}{path}", "json_path": "a"}
    )
    elapsed, error = poll(source)
    assert error is None  # not transient: no retry will change it
    assert_failed_cleanly(source, "The answer redirects to http://", elapsed, 1)
    assert "169.254.169.254, a cloud metadata address, which is outside" in source.last_error


def test_redirects_are_followed_only_so_far(redirecting, settings):
    server, _ = redirecting
    settings.METRIC_HTTP_MAX_REDIRECTS = 3
    with pytest.raises(FetchError, match=r"still redirects after 3 redirects \(METRIC_HTTP_MAX"):
        fetch(f"{server.url}/loop")
    assert [r["path"] for r in server.requests] == ["/loop"] * 4
    with pytest.raises(FetchError, match=r"redirects to ftp://127\.0\.0\.1/x, which is not http"):
        fetch(f"{server.url}/to-ftp")


def test_the_secret_goes_along_a_redirect_only_to_the_same_origin(redirecting):
    server, elsewhere = redirecting
    sent = []
    for path in ("/to-same", "/to-elsewhere"):
        collect(
            MetricSource(
                kind="http_json",
                config={
                    "url": f"{server.url}{path}",
                    "json_path": "data.p95_ms",
                    "secret_header": "Authorization",
                },
                secret="Bearer s3cr3t",
            )
        )
        sent.append((server.requests + elsewhere.requests)[-1])
    same, other = sent
    assert same["path"] == "/echo" and same["headers"]["Authorization"] == "Bearer s3cr3t"
    assert other["path"] == "/echo" and other is elsewhere.requests[-1]
    assert "Authorization" not in other["headers"]


def test_a_probe_may_leave_redirects_unfollowed_and_says_so(redirecting):
    server, _ = redirecting
    config = {"url": f"{server.url}/health", "requests": 2, "follow_redirects": False}
    rate = collect(MetricSource(kind="http_probe", config={**config, "measure": "success_rate"}))
    assert rate.value == 0
    latency = collect(MetricSource(kind="http_probe", config=config))
    assert "HTTP 301 (a redirect to /healthz/, not followed: 'follow_redirects' is off)" in (
        latency.note
    )
    expected = collect(MetricSource(kind="http_probe", config={**config, "expect_status": 301}))
    assert expected.note == "2 of 2 answered"


# SQL sources: one read-only SELECT on a named database


@pytest.fixture
def warehouse(settings):
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        url = f"sqlite:///{name}"
    else:
        import os
        from urllib.parse import urlsplit, urlunsplit

        url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))
    settings.METRIC_SQL_DATABASES = {"warehouse": url}
    return url


NOT_ONE_SELECT = [
    ("SELECT 1; DELETE FROM metrics_kpi", "one statement, not 2"),
    ("SELECT count(*) FROM metrics_kpi;; DELETE FROM metrics_kpi", "one statement"),
    ("WITH gone AS (DELETE FROM metrics_kpi RETURNING 1) SELECT count(*) FROM gone", "DELETE"),
    ("SELECT * INTO stolen FROM metrics_kpi", "it contains INTO"),
    ("SELECT count(*) FROM metrics_kpi FOR UPDATE", "it contains UPDATE"),
    ("DELETE FROM metrics_kpi", "read-only SELECT"),
    ("UPDATE metrics_kpi SET name = 'x'", "read-only SELECT"),
    ("DROP TABLE metrics_kpi", "read-only SELECT"),
    ("PRAGMA writable_schema = 1", "read-only SELECT"),
    ("ATTACH DATABASE '/tmp/elsewhere.db' AS elsewhere", "read-only SELECT"),
    ("COPY metrics_kpi TO '/tmp/out'", "read-only SELECT"),
    ("SELECT 1 /* a comment */ ; SET default_transaction_read_only = off", "one statement"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("query", "message"), NOT_ONE_SELECT)
def test_sql_sources_run_exactly_one_select(query, message, warehouse):
    config = {"database": "warehouse", "query": query}
    with pytest.raises(ValidationError, match=message):
        validate_source_config("sql", config)
    # Refused again when collected, before connecting (for sources saved under older rules).
    with pytest.raises(SourceError, match=message):
        collect(MetricSource(kpi=KPIFactory(), kind="sql", config=config))
    assert KPIFactory._meta.model.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM metrics_kpi;",
        "WITH k AS (SELECT id FROM metrics_kpi) SELECT count(*) FROM k",
        "SELECT count(*) FROM metrics_kpi -- ; DELETE FROM metrics_kpi",
        "SELECT count(*) FROM metrics_kpi WHERE name <> 'DELETE; DROP TABLE x'",
        "select count(*) from metrics_kpi k where k.name not like '%into%'",
    ],
)
def test_a_reading_select_passes_with_comments_strings_and_ctes(query, warehouse):
    config = {"database": "warehouse", "query": query}
    validate_source_config("sql", config)
    assert collect(MetricSource(kpi=KPIFactory(), kind="sql", config=config)).value == 1


# What the database itself refuses, should the text check ever be fooled.
DATABASE_REFUSES = {
    "sqlite": [
        ("DELETE FROM metrics_kpi", "not authorized"),
        ("ATTACH DATABASE '/tmp/waymark-ssrf-attached.db' AS elsewhere", "not authorized"),
        ("PRAGMA query_only = OFF", "not authorized"),
        ("SELECT 1; DELETE FROM metrics_kpi", "one statement at a time"),
    ],
    "postgresql": [
        ("DELETE FROM metrics_kpi", "read-only transaction"),
        ("SELECT 1; COMMIT; DELETE FROM metrics_kpi", "cannot insert multiple commands"),
        (
            "WITH gone AS (DELETE FROM metrics_kpi RETURNING 1) SELECT count(*) FROM gone",
            "read-only transaction",
        ),
        ("SELECT nextval(pg_get_serial_sequence('metrics_kpi', 'id'))", "read-only transaction"),
        ("SELECT 1 FROM metrics_kpi FOR UPDATE", "read-only transaction"),
    ],
}


@pytest.mark.django_db(transaction=True)
def test_the_database_session_itself_is_read_only_and_runs_one_statement(warehouse):
    KPIFactory()
    for query, message in DATABASE_REFUSES[connection.vendor]:
        with pytest.raises((sqlite3.Error, psycopg.Error), match=message):
            sql_query_rows(url=warehouse, query=query, timeout=5)
    assert KPIFactory._meta.model.objects.count() == 1
    assert sql_query_rows(url=warehouse, query="SELECT count(*) FROM metrics_kpi", timeout=5) == [
        (1,)
    ]
