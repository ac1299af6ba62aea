"""`make bench`: the portal at programme-office scale on PostgreSQL, measured page by page in
process and over HTTP to gunicorn on loopback, side by side with Django's admin changelists,
raw COPY and a real Celery worker polling a loopback HTTP source.

Results go to `bench/results/latest.json` and `docs/performance.md` (or `--out DIR`)."""

import argparse
import json
import logging
import os
import platform
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.harness import database_urls, free_port, fresh_database

ROOT = Path(__file__).resolve().parents[1]
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "waymark_bench")
DEFAULT_BROKER = "redis://127.0.0.1:6379/12"
POLL_QUEUE = "bench-polls"

# The goals of the benchmark issue: reported against, never asserted in tests.
TARGETS = {
    "programme_status_p95_ms": 150,
    "programme_status_queries": 20,
    "kpi_chart_year_p95_ms": 100,
    "ingest_share_of_copy": 0.25,
    "polls_per_second_two_workers": 200,
}


def _environment(bench_url: str) -> dict:
    """Production settings (DEBUG off) on the benchmark's database, served over plain HTTP on
    loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        "AUDIT_SIGNING_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": bench_url,
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER),
        "METRIC_POLL_QUEUE": POLL_QUEUE,
        "WAYMARK_VAR_DIR": str(ROOT / "var" / "bench"),
        "EMAIL_URL": "consolemail://",
    }


class _Gunicorn:
    def __init__(self, env: dict, workers: int = 2):
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/login/", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class _SourceHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"data": {"p95_ms": 42.0}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="scale factor S (default 1)")
    parser.add_argument("--repeat", type=int, default=None, help="requests per page")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run")
    parser.add_argument("--out", type=Path, default=None, help="where results go")
    args = parser.parse_args()
    repeat = args.repeat or (30 if args.scale >= 0.5 else 8)

    server_url, bench_url = database_urls(BENCH_DATABASE, command="make bench")
    env = _environment(bench_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per timed request
    import config.wsgi  # noqa: F401  (views imported, start-up objects frozen, as served)
    from bench import measure

    started = time.monotonic()
    if not args.reuse:
        fresh_database(server_url, BENCH_DATABASE)
    from django.conf import settings
    from django.core.management import call_command

    # Each run signs with a key of its own: the last run's checkpoints would not authenticate.
    settings.AUDIT_CHECKPOINT_FILE.unlink(missing_ok=True)

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as a deployment serves them
    from bench.generate import Scale, generate

    scale = Scale(args.scale)
    if args.reuse and measure.already_generated():
        generated = measure.load_generated()
        load_seconds = None
    else:
        t0 = time.monotonic()
        generated = generate(scale)
        load_seconds = round(time.monotonic() - t0, 1)
    print(f"data: {generated.counts} (loaded in {load_seconds} s)", flush=True)

    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "counts": generated.counts,
        "load_seconds": load_seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": measure.versions(),
        "repeat": repeat,
        "targets": TARGETS,
    }
    pages = measure.pages_of(generated)
    results["in_process"] = measure.in_process(pages, repeat)
    gunicorn = _Gunicorn(env, workers=measure.HTTP_WORKERS)
    try:
        gunicorn.wait_ready()
        results["http"] = measure.over_http(pages, repeat, gunicorn.url)
        results["ingest"] = measure.ingest_against_copy(generated, gunicorn.url, scale)
    finally:
        gunicorn.stop()

    source_server = ThreadingHTTPServer(("127.0.0.1", 0), _SourceHandler)
    threading.Thread(target=source_server.serve_forever, daemon=True).start()
    try:
        results["polls"] = measure.poll_throughput(
            generated, f"http://127.0.0.1:{source_server.server_port}/metric", env, scale
        )
    finally:
        source_server.shutdown()
    results["comparisons"] = measure.comparisons(results)
    results["seconds"] = round(time.monotonic() - started, 1)

    out = args.out or ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    doc = (ROOT / "docs") if args.out is None else out
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "performance.md").write_text(measure.markdown(results))
    print(measure.markdown(results))
    failures = measure.failures(results)
    if failures:
        sys.exit("bench: " + "; ".join(failures))


if __name__ == "__main__":
    main()
