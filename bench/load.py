"""`make load`: the portal under concurrent use for a bounded time, then held to what it said.

On a PostgreSQL database of its own (`--database`, created afresh and migrated) it seeds a
small programme (bench/load_seed.py), starts gunicorn with production settings on loopback, a
real Celery worker polling loopback HTTP sources, and locust (bench/load_users.py): managers
editing plans through the API and the pages with version checks, approvers signing gates with
their password (each signature sent twice at once), executives polling the status pages.

Afterwards it proves, from the database: no lost update (every accepted edit is there, once;
each project's spent budget grew by exactly the increments accepted), no double signature
(one sign-off per gate and signer, exactly those the portal accepted, every gate's audit trail
intact), collection ran, and no request failed (any 5xx, connection error or unexpected
answer is an error; conflicts answered and retried are counted apart). Prints a table and
writes `bench/results/load-latest.json` (or `--out DIR`); exits non-zero if anything failed.

Production settings (DEBUG=0, a generated SECRET_KEY and AUDIT_SIGNING_KEY,
ALLOWED_HOSTS=127.0.0.1) over plain HTTP: SECURE_SSL_REDIRECT=0, and the load generator returns
the Secure cookies to 127.0.0.1 as a browser does for loopback."""

import argparse
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path

from bench.harness import (
    celery_worker_command,
    database_urls,
    free_port,
    fresh_database,
    percentile,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
GUNICORN_WORKERS = 3
DISPATCH_SECONDS = 2.0  # how often the run asks the worker to claim due sources, as beat does
TOKEN = re.compile(r"\[load-[a-z]+-\d+ [0-9a-f]{10}\]")


def _broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER
    if not url.startswith("redis://"):
        sys.exit(f"make load runs its worker on Redis; CELERY_BROKER_URL is {url}")
    return url


def _environment(*, database_url: str, broker_url: str, queue: str, var_dir: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUDIT_SIGNING_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "METRIC_POLL_QUEUE": queue,
        "WAYMARK_VAR_DIR": str(var_dir),
        "EMAIL_URL": "consolemail://",
        "LOG_LEVEL": "WARNING",
    }


class _MetricEndpoint(BaseHTTPRequestHandler):
    """A service's metrics endpoint: a p95 latency that moves a little with every poll."""

    polls = count()

    def do_GET(self):
        value = 100 + next(self.polls) % 20
        body = json.dumps({"data": {"p95_ms": value}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class _Process:
    """A child process whose output goes to a log file, stopped with SIGTERM."""

    def __init__(self, name: str, command: list[str], env: dict, logs: Path):
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _start_gunicorn(env: dict, logs: Path, workers: int) -> tuple[_Process, str]:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    return _Process("gunicorn", command, env, logs), f"http://127.0.0.1:{port}"


def _wait_for_gunicorn(gunicorn: _Process, url: str) -> None:
    import httpx

    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"{url}/login/", timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or gunicorn.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn did not start:\n{gunicorn.output()[-3000:]}"
                ) from None
            time.sleep(0.2)


def _start_worker(env: dict, logs: Path, queues: list[str], name: str) -> _Process:
    command = celery_worker_command(queues=queues, hostname=name)
    return _Process("celery-worker", command, env, logs)


def _wait_for_worker(worker: _Process, name: str) -> None:
    from config.celery import app

    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[name], timeout=1):
        if time.monotonic() > deadline or worker.process.poll() is not None:
            raise RuntimeError(f"the Celery worker did not start:\n{worker.output()[-3000:]}")


class _Dispatcher(threading.Thread):
    """Asks the worker to claim the due sources every few seconds, as beat does."""

    def __init__(self, queue: str):
        super().__init__(daemon=True)
        self.queue = queue
        self.stopped = threading.Event()
        self.sent = 0

    def run(self):
        from metrics.tasks import metric_sources_dispatch

        while not self.stopped.is_set():
            metric_sources_dispatch.apply_async(queue=self.queue)
            self.sent += 1
            self.stopped.wait(DISPATCH_SECONDS)


def _collect_static() -> None:
    """The static files' manifest, which production templates look names up in; the files are
    not compressed (the run fetches none, and compressing plotly.js takes most of a minute)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        call_command("collectstatic", interactive=False, verbosity=0)


def _requests_table(ledger: dict, seconds: float) -> dict:
    table = {}
    for kind, times in sorted(ledger["times"].items()):
        table[kind] = {
            "requests": len(times),
            "errors": ledger["errors"].get(kind, 0),
            "conflicts": ledger["conflicts"].get(kind, 0),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1),
            "per_second": round(len(times) / seconds, 2),
        }
    return table


def _tokens_check(kind: str, accepted: dict[str, list[str]], texts: dict[str, str]) -> dict:
    """Every token the portal accepted is in its row's text, once; none is there twice."""
    lost, doubled, unanswered, total = [], [], 0, 0
    for pk, text in texts.items():
        present = Counter(TOKEN.findall(text))
        mine = accepted.get(pk, [])
        total += len(mine)
        lost += [token for token in mine if not present[token]]
        doubled += [token for token, n in present.items() if n > 1]
        unanswered += len(set(present) - set(mine))
    return {
        "kind": kind,
        "accepted": total,
        "lost": len(lost),
        "doubled": len(doubled),
        "applied_unanswered": unanswered,
        "lost_samples": lost[:5],
        "ok": not lost and not doubled and unanswered == 0,
    }


def check_edits(plan: dict, ledger: dict) -> dict:
    from projects.models import Phase, Project
    from risks.models import Risk

    projects = {str(p.pk): p for p in Project.objects.filter(pk__in=plan["hot_projects"])}
    risks = {str(r.pk): r.mitigation for r in Risk.objects.filter(pk__in=plan["hot_risks"])}
    phases = {
        str(p.pk): p.success_criteria for p in Phase.objects.filter(pk__in=plan["hot_phases"])
    }
    counters = []
    for pk, project in projects.items():
        grew = project.budget_spent - Decimal(plan["initial"]["budget_spent"][pk])
        accepted = ledger["increments"].get(pk, 0)
        counters.append({"project": int(pk), "accepted": accepted, "grew_by": float(grew)})
    checks = [
        _tokens_check(
            "project notes (API)",
            ledger["accepted"]["project"],
            {pk: p.notes for pk, p in projects.items()},
        ),
        _tokens_check("risk mitigation (API)", ledger["accepted"]["risk"], risks),
        _tokens_check("phase success criteria (pages)", ledger["accepted"]["phase"], phases),
    ]
    counters_ok = all(row["grew_by"] == row["accepted"] for row in counters)
    return {
        "texts": checks,
        "budget_counters": counters,
        "ok": counters_ok and all(check["ok"] for check in checks),
    }


def check_signatures(plan: dict, ledger: dict) -> dict:
    from django.db.models import Count

    from gates import services as gate_services
    from gates.models import Gate, SignOff

    per_pair = (
        SignOff.objects.values("gate_id", "signer__username").annotate(n=Count("pk")).order_by("-n")
    )
    doubled = [row for row in per_pair if row["n"] > 1]
    stored = {(str(row["gate_id"]), row["signer__username"]) for row in per_pair}
    accepted = [(gate, username) for gate, username, _ in ledger["signatures"]]
    accepted_twice = [pair for pair, n in Counter(accepted).items() if n > 1]
    broken_trails = []
    decided_wrongly = []
    for gate in Gate.objects.filter(pk__in=[int(pk) for pk in plan["gates"]]):
        intact, message = gate_services.gate_audit_verify(gate=gate)
        if not intact:
            broken_trails.append({"gate": gate.pk, "why": message})
        signers = {username for g, username in stored if g == str(gate.pk)}
        all_signed = signers >= set(plan["gates"][str(gate.pk)])
        if all_signed != (gate.state == "decided"):
            decided_wrongly.append({"gate": gate.pk, "state": gate.state, "signed": len(signers)})
    result = {
        "sign_offs": len(stored),
        "accepted": len(accepted),
        "duplicates_refused": ledger["duplicates_refused"],
        "doubled": len(doubled),
        "accepted_not_stored": len(set(accepted) - stored),
        "stored_not_accepted": len(stored - set(accepted)),
        "accepted_twice": len(accepted_twice),
        "broken_trails": broken_trails[:5],
        "decided_wrongly": decided_wrongly[:5],
        "gates_decided": Gate.objects.filter(state="decided").count(),
        "gates": len(plan["gates"]),
    }
    result["ok"] = not (
        doubled
        or result["accepted_not_stored"]
        or result["stored_not_accepted"]
        or accepted_twice
        or broken_trails
        or decided_wrongly
    )
    return result


def check_collection(started: datetime) -> dict:
    from metrics.models import Measurement, MetricSource

    sources = MetricSource.objects.filter(kind="http_json")
    recorded = Measurement.objects.filter(source__in=sources, recorded_at__gte=started).count()
    failing = sources.exclude(consecutive_failures=0).count()
    result = {
        "sources": sources.count(),
        "measurements": recorded,
        "sources_failing": failing,
        "sources_never_polled": sources.filter(last_success_at__isnull=True).count(),
    }
    result["ok"] = recorded > 0 and failing == 0 and result["sources_never_polled"] == 0
    return result


LOGGED_ERROR = re.compile(r"\bERROR\b|\bCRITICAL\b|Traceback")  # plain, JSON and gunicorn lines


def _server_errors(log: str) -> list[str]:
    """Each error a process logged (a 500 logs `Internal Server Error` with its traceback, a
    gunicorn worker killed for taking too long a CRITICAL line), cut to 300 characters."""
    return [line[:300] for line in log.splitlines() if LOGGED_ERROR.search(line)]


def run(
    *,
    users: int,
    duration: float,
    database: str,
    workers: int = GUNICORN_WORKERS,
    spawn_rate: float = 5.0,
) -> dict:
    """The whole run: database, data, portal, worker, load, checks. Returns the results."""
    server_url, database_url = database_urls(database, command="make load")
    queue = f"waymark-load-{uuid.uuid4().hex[:10]}"
    var_dir = Path(os.environ.get("WAYMARK_VAR_DIR") or ROOT / "var") / "load"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(
        database_url=database_url, broker_url=_broker_url(), queue=queue, var_dir=var_dir
    )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from bench import load_seed
    from config.celery import app

    t0 = time.monotonic()
    _collect_static()
    logs = Path(tempfile.mkdtemp(prefix="waymark-load-"))
    worker_name = f"{queue}@{socket.gethostname()}"
    dispatcher = _Dispatcher(queue)
    # Started before the database is made: they read none of it until the load begins, and
    # their start-up (each imports every view) takes longer than migrating and seeding.
    gunicorn, url = _start_gunicorn(env, logs, workers)
    # The default queue too: what the portal enqueues while the run is on is the run's.
    worker = _start_worker(env, logs, [queue, app.conf.task_default_queue], worker_name)
    source_server = ThreadingHTTPServer(("127.0.0.1", 0), _MetricEndpoint)
    threading.Thread(target=source_server.serve_forever, daemon=True).start()
    try:
        fresh_database(server_url, database)
        # The checkpoints of the gates of the database just dropped are not this one's.
        settings.AUDIT_CHECKPOINT_FILE.unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        people = load_seed.people_for(users)
        plan = load_seed.seed(
            people=people,
            duration=duration,
            source_url=f"http://127.0.0.1:{source_server.server_port}/metrics",
        ).as_json()
        print(f"load: data ready after {time.monotonic() - t0:.1f} s: {people}", flush=True)
        _wait_for_gunicorn(gunicorn, url)
        _wait_for_worker(worker, worker_name)
        print(f"load: portal and worker up after {time.monotonic() - t0:.1f} s", flush=True)
        started = timezone.now()
        dispatcher.start()
        plan_path, ledger_path = logs / "plan.json", logs / "ledger.json"
        plan_path.write_text(json.dumps(plan))
        print(f"load: {users} users for {duration:g} s against {url}", flush=True)
        locust = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.load_users",
                "--host",
                url,
                "--plan",
                str(plan_path),
                "--duration",
                str(duration),
                "--spawn-rate",
                str(spawn_rate),
                "--out",
                str(ledger_path),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + 120,
        )
        if locust.returncode != 0 or not ledger_path.exists():
            raise RuntimeError(f"the load generator failed:\n{locust.stderr[-3000:]}")
        ledger = json.loads(ledger_path.read_text())
        print(f"load: load done after {time.monotonic() - t0:.1f} s", flush=True)
    finally:
        dispatcher.stopped.set()
        if dispatcher.is_alive():
            dispatcher.join()
        worker.stop()
        gunicorn.stop()
        source_server.shutdown()

    seconds = ledger["seconds"]
    table = _requests_table(ledger, seconds)
    server_errors = _server_errors(gunicorn.output())
    worker_errors = _server_errors(worker.output())
    requests = sum(row["requests"] for row in table.values())
    errors = sum(ledger["errors"].values()) + len(ledger["locust_exceptions"])
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "users": users,
        "people": people,
        "duration": duration,
        "seconds": seconds,
        "gunicorn_workers": workers,
        "cpus": os.cpu_count(),
        "totals": {
            "requests": requests,
            "errors": errors,
            "conflicts": sum(ledger["conflicts"].values()),
            "gave_up": sum(ledger["gave_up"].values()),
            "per_second": round(requests / seconds, 1),
            "server_errors_logged": len(server_errors),
            "worker_errors_logged": len(worker_errors),
        },
        "requests": table,
        "edits": check_edits(plan, ledger),
        "signatures": check_signatures(plan, ledger),
        "collection": check_collection(started),
        "dispatches": dispatcher.sent,
        "error_samples": ledger["error_samples"],
        "server_error_samples": server_errors[:10],
        "worker_error_samples": worker_errors[:10],
        "locust_exceptions": ledger["locust_exceptions"][:10],
        "logs": str(logs),
    }
    results["ok"] = (
        errors == 0
        and not server_errors
        and results["edits"]["ok"]
        and results["signatures"]["ok"]
        and results["collection"]["ok"]
    )
    if results["ok"]:  # the processes' logs are kept only to look into a failed run
        shutil.rmtree(logs, ignore_errors=True)
        results["logs"] = None
    return results


def table(results: dict) -> str:
    """The results as a plain-text table and a list of the checks."""
    lines = [
        f"{'request':<30} {'count':>7} {'errors':>6} {'confl.':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8} {'req/s':>7}"
    ]
    for kind, row in results["requests"].items():
        lines.append(
            f"{kind:<30} {row['requests']:>7} {row['errors']:>6} {row['conflicts']:>6} "
            f"{row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8} {row['per_second']:>7}"
        )
    t = results["totals"]
    lines += [
        f"{'all':<30} {t['requests']:>7} {t['errors']:>6} {t['conflicts']:>6} "
        f"{'':>8} {'':>8} {'':>8} {t['per_second']:>7}",
        "",
        f"{results['users']} users ({results['people']}) for {results['seconds']} s, "
        f"gunicorn with {results['gunicorn_workers']} workers, {results['cpus']} CPUs",
    ]
    for check in results["edits"]["texts"]:
        lines.append(
            f"edits, {check['kind']}: {check['accepted']} accepted, {check['lost']} lost, "
            f"{check['doubled']} doubled, {check['applied_unanswered']} applied unanswered"
        )
    for row in results["edits"]["budget_counters"]:
        lines.append(
            f"edits, budget counter of project {row['project']}: {row['accepted']} increments "
            f"accepted, grew by {row['grew_by']:g}"
        )
    s = results["signatures"]
    lines.append(
        f"signatures: {s['sign_offs']} stored, {s['accepted']} accepted, {s['doubled']} doubled, "
        f"{s['duplicates_refused']} duplicates refused, {s['gates_decided']} of {s['gates']} "
        f"gates decided, {len(s['broken_trails'])} broken trails"
    )
    c = results["collection"]
    lines.append(
        f"collection: {c['measurements']} measurements from {c['sources']} sources, "
        f"{c['sources_failing']} failing, {results['dispatches']} dispatches"
    )
    lines.append(
        f"server errors logged: {t['server_errors_logged']}, worker errors logged: "
        f"{t['worker_errors_logged']}, gave up: {t['gave_up']}"
    )
    lines.append("OK" if results["ok"] else "FAILED")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--users", type=int, default=20, help="simulated people (20)")
    parser.add_argument(
        "--database",
        default=os.environ.get("LOAD_DATABASE", "waymark_load"),
        help="the PostgreSQL database to create afresh (LOAD_DATABASE, else waymark_load)",
    )
    parser.add_argument("--workers", type=int, default=GUNICORN_WORKERS, help="gunicorn workers")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    results = run(
        users=args.users, duration=args.duration, database=args.database, workers=args.workers
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load-latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    if not results["ok"]:
        sys.exit("load: the run failed its checks (see above)")


if __name__ == "__main__":
    main()
