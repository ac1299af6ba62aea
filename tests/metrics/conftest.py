"""Real services for metric tests: an HTTP server on loopback and a real Prometheus."""

import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

# path: (status, content type, body); bodies are bytes or a callable giving bytes.
ROUTES = {
    "/json/ok": (200, "application/json", b'{"data": {"p95_ms": 420.5, "list": [1, 2]}}'),
    "/json/string": (200, "application/json", b'{"data": {"p95_ms": "fast"}}'),
    "/json/nan": (200, "application/json", b'{"data": {"p95_ms": NaN}}'),
    "/json/infinity": (200, "application/json", b'{"data": {"p95_ms": Infinity}}'),
    "/json/missing": (200, "application/json", b'{"data": {}}'),
    "/json/bool": (200, "application/json", b'{"data": {"p95_ms": true}}'),
    "/not-json": (200, "text/html", b"<html>maintenance</html>"),
    "/error/500": (500, "text/plain", b"internal error"),
    "/error/404": (404, "text/plain", b"no such page"),
    "/big": (200, "application/json", b'{"pad": "' + b"x" * 3_000_000 + b'"}'),
    "/health": (200, "application/json", b'{"database": "ok"}'),
    # Prometheus-shaped answers that a real Prometheus gives rarely or not on demand.
    "/fake-prometheus/warnings/api/v1/query": (
        200,
        "application/json",
        b'{"status": "success", "warnings": ["partial response: store down"],'
        b' "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "7"]}]}}',
    ),
    "/fake-prometheus/unavailable/api/v1/query": (
        503,
        "application/json",
        b'{"status": "error", "errorType": "unavailable", "error": "too many queries"}',
    ),
    "/fake-prometheus/unprocessable/api/v1/query": (
        422,
        "application/json",
        b'{"status": "error", "errorType": "execution", "error": "query processing would load'
        b' too many samples into memory"}',
    ),
    "/fake-prometheus/nan/api/v1/query": (
        200,
        "application/json",
        b'{"status": "success", "data": {"resultType": "vector",'
        b' "result": [{"metric": {}, "value": [1, "NaN"]}]}}',
    ),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        # Recorded before answering: the client may look as soon as it has the answer.
        self.server.requests.append({"path": path, "headers": dict(self.headers)})
        if path == "/slow":
            time.sleep(3)
            status, content_type, body = 200, "application/json", b'{"data": {"p95_ms": 1}}'
        elif path == "/json/swinging":
            # Across a target of 500 and back at every hit: 620, 410, 620, ... counted per full
            # path, so that each test (its own query string) starts the swing afresh.
            swings = self.server.swings = getattr(self.server, "swings", {})
            swings[self.path] = swings.get(self.path, 0) + 1
            value = b"620" if swings[self.path] % 2 else b"410"
            status, content_type, body = 200, "application/json", b'{"p95_ms": ' + value + b"}"
        elif path == "/flaky-status":
            self.server.hits = getattr(self.server, "hits", 0) + 1
            ok = self.server.hits % 2 == 0
            status, content_type, body = (200 if ok else 503), "text/plain", b"x"
        else:
            status, content_type, body = ROUTES.get(path, (404, "text/plain", b"unknown"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def http_server():
    """A real HTTP server on 127.0.0.1 with a good answer and every kind of bad one."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    """A real Prometheus (Debian's package) on a free loopback port, scraping itself."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail(
            "Prometheus not found: install Debian's prometheus package (apt-get install "
            "prometheus); .ci/run does.",
            pytrace=False,
        )
    port = _free_port()
    home = tmp_path_factory.mktemp("prometheus")
    (home / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: prometheus\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"Prometheus exited: {process.stderr.read().decode()[-2000:]}")
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": 'up{job="prometheus"}'})
                if answer.status_code == 200 and json.loads(answer.content)["data"]["result"]:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("Prometheus did not scrape itself within 60 s.")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
