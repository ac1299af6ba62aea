"""What the fault tests start and break: Celery workers, a gunicorn web process, a private
redis-server, a TCP proxy in front of PostgreSQL, and a metric source that holds its answer.

Everything listens on 127.0.0.1 and is stopped by the test that started it; the machine's own
PostgreSQL and Redis are never stopped or reconfigured."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str, every: float = 0.1):
    """Poll `condition` until it returns something true, and return that; fail after
    `timeout` seconds, saying what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(every)


def database_url_of_test(*, port: int | None = None) -> str:
    """The URL of this test's database, through `port` (a proxy) if given."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    netloc = parts.netloc if port is None else f"{parts.netloc.rpartition('@')[0]}@127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{connection.settings_dict['NAME']}"))


class Service:
    """A subprocess whose output goes to a log file, read back for what it said."""

    def __init__(self, name: str, args: list[str], *, log_dir: Path, env: dict[str, str]):
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("w") as out:
            # A session of its own: kill() and stop() reach its child processes too.
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_output(self, text: str, *, timeout: float) -> None:
        def said() -> bool:
            assert self.alive(), f"{self.name} exited:\n{self.output()[-4000:]}"
            return text in self.output()

        wait_for(said, timeout=timeout, what=f"{self.name} saying {text!r}")

    def kill(self) -> None:
        """SIGKILL to the process and its children: no shutdown, no acknowledgement, nothing
        handed back to the broker, as when a host dies or a container is OOM-killed."""
        with contextlib.suppress(ProcessLookupError):  # already gone, children too
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def app_env(*, log_dir: Path, cache_url: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "WAYMARK_VAR_DIR": str(log_dir / "var"),
        "CACHE_URL": cache_url,
        "DATABASE_URL": database_url,
        **extra,
    }


def start_worker(
    name: str, *, queue: str, log_dir: Path, env: dict, pool: str = "solo", beat=False
):
    args = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        f"--pool={pool}", "--concurrency=1", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--loglevel=INFO", f"--hostname={name}@%h", "--queues", queue,
    ]  # fmt: skip
    if beat:
        args += ["--beat", f"--schedule={log_dir / f'{name}-beat-schedule'}"]
    worker = Service(name, args, log_dir=log_dir, env=env)
    worker.wait_for_output(" ready.", timeout=60)
    return worker


def start_web(*, log_dir: Path, env: dict) -> tuple[Service, str]:
    """gunicorn serving the portal, one sync process, as production runs it."""
    port = free_port()
    web = Service(
        "web",
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "60", "--access-logfile", "-"],
        log_dir=log_dir,
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert web.alive(), f"gunicorn exited:\n{web.output()[-4000:]}"
        try:
            httpx.get(f"{url}/health/", timeout=2)
        except httpx.TransportError:
            return False
        return True

    wait_for(answers, timeout=60, what="gunicorn answering")
    return web, url


class RedisServer:
    """A private redis-server on its own port, to be killed and started again."""

    def __init__(self, *, log_dir: Path):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.log_dir = log_dir
        self.service = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.service = Service(
            f"redis-{self.port}",
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.log_dir)],
            log_dir=self.log_dir,
            env=dict(os.environ),
        )  # fmt: skip
        self.service.wait_for_output("Ready to accept connections", timeout=20)

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()


class TCPProxy:
    """A TCP proxy on a loopback port in front of `upstream`. `cut()` drops every proxied
    connection and refuses new ones (the port closed), as a database restart does; `restore()`
    listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.listener = None
        self.accepted = 0
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> int:
        """Close the port and every connection through it; returns how many were dropped."""
        with contextlib.suppress(OSError):  # wakes the accept(), which close alone does not
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            dropped = list(self.sockets)
            self.sockets.clear()
        for sock in dropped:
            with contextlib.suppress(OSError):  # already closed by its other side
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return len(dropped) // 2

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the port was closed: cut()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets |= {client, server}
                self.accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass  # one side went away (or cut() closed both): end this direction
        for sock in (source, target):
            with self.lock:
                self.sockets.discard(sock)
            with contextlib.suppress(OSError):  # wakes the other direction's recv()
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.cut()


class HeldSource:
    """A metric source over HTTP that answers {"data": {"p95_ms": value}} only once
    `release()` is called: a poll in flight for as long as the test likes."""

    def __init__(self, value: float = 420.5):
        self.requests = 0
        self.arrived = threading.Condition()
        self.released = threading.Event()
        body = json.dumps({"data": {"p95_ms": value}}).encode()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with source.arrived:
                    source.requests += 1
                    source.arrived.notify_all()
                source.released.wait(timeout=60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the poller was killed while it waited

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"

    def wait_for_requests(self, count: int, *, timeout: float) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.requests >= count, timeout=timeout):
                raise AssertionError(f"{count} poll(s) did not reach the source in {timeout} s")

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
