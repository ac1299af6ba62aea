"""What `make bench` measures: each page and API call that matters, in process (with its SQL
query count) and over HTTP; Django admin's changelists over the same rows; bulk ingest through
the API against raw COPY; polls per second of the dispatcher and a real Celery worker."""

import importlib.metadata
import signal
import statistics
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tokens import api_token_create
from bench.generate import PASSWORD, Generated
from bench.harness import celery_worker_command, percentile
from gates.models import Gate
from metrics.models import KPI, Measurement, MetricSource
from projects.models import Programme, Project

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 2
HTTP_WORKERS = 2
INGEST_BATCH = 5_000


def versions() -> dict:
    names = ["django", "djangorestframework", "psycopg", "celery", "gunicorn"]
    found = {name: importlib.metadata.version(name) for name in names}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        found["postgresql"] = cursor.fetchone()[0]
    return found


def already_generated() -> bool:
    return Programme.objects.filter(slug="programme-office").exists()


def load_generated() -> Generated:
    User = get_user_model()
    year_kpi = KPI.objects.order_by("pk").first()
    return Generated(
        programme=Programme.objects.get(slug="programme-office"),
        manager=User.objects.get(username="bench-pm"),
        executive=User.objects.get(username="bench-exec"),
        approver=User.objects.get(username="bench-approver-1"),
        year_kpi=year_kpi,
        counts={
            "projects": Project.objects.count(),
            "kpis": KPI.objects.count(),
            "measurements": Measurement.objects.count(),
            "gates": Gate.objects.count(),
            "year_kpi_points": Measurement.objects.filter(kpi=year_kpi).count(),
        },
    )


def _admin_user():
    User = get_user_model()
    admin, made = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if made:
        admin.set_password(PASSWORD)
        admin.save()
    return admin


def pages_of(generated: Generated) -> list[dict]:
    """(name, who, path, compared with) for each page and API call the benchmark times."""
    project = Project.objects.order_by("pk").first()
    decided = Gate.objects.filter(state="decided").order_by("pk").first()
    slug = generated.programme.slug
    admin = _admin_user()
    return [
        {
            "name": "Programme status page",
            "user": generated.executive,
            "path": f"/programmes/{slug}/",
            "admin": "Admin: projects changelist",
        },
        {
            "name": "Project dashboard",
            "user": generated.manager,
            "path": f"/projects/{project.pk}/status/",
        },
        {
            "name": "Risk register (programme)",
            "user": generated.manager,
            "path": f"/programmes/{slug}/risks/",
            "admin": "Admin: risks changelist",
        },
        {
            "name": "Risk register (project)",
            "user": generated.manager,
            "path": f"/projects/{project.pk}/risks/",
        },
        {
            "name": "KPI chart over a year",
            "user": generated.manager,
            "path": f"/kpis/{generated.year_kpi.pk}/?range=1y",
            "admin": "Admin: measurements changelist",
        },
        {
            "name": "KPI series over a year (API)",
            "user": generated.manager,
            "path": f"/api/v1/kpis/{generated.year_kpi.pk}/series/?since="
            f"{(timezone.now() - timedelta(days=365)).isoformat().replace('+', '%2B')}",
        },
        {"name": "Gate page", "user": generated.approver, "path": f"/gates/{decided.pk}/"},
        {"name": "Approver inbox", "user": generated.approver, "path": "/inbox/"},
        {
            "name": "Project status (API)",
            "user": generated.executive,
            "path": f"/api/v1/projects/{project.pk}/status/",
        },
        {"name": "Admin: projects changelist", "user": admin, "path": "/admin/projects/project/"},
        {"name": "Admin: risks changelist", "user": admin, "path": "/admin/risks/risk/"},
        {
            "name": "Admin: measurements changelist",
            "user": admin,
            "path": "/admin/metrics/measurement/",
        },
    ]


def _clients(pages: list[dict]) -> dict:
    clients = {}
    for page in pages:
        user = page["user"]
        if user.pk not in clients:
            client = Client()
            client.force_login(user)
            clients[user.pk] = client
    return clients


SLOW_SECONDS = 2.0  # a page this slow is timed SLOW_REPEAT times: enough to compare with
SLOW_REPEAT = 5


def _repeats(first_seconds: float, repeat: int) -> int:
    return min(repeat, SLOW_REPEAT) if first_seconds > SLOW_SECONDS else repeat


def in_process(pages: list[dict], repeat: int) -> dict:
    """Each page through Django's test client: latency and the SQL queries of one request."""
    clients = _clients(pages)
    measured = {}
    for page in pages:
        client = clients[page["user"].pk]
        times, queries, status = [], None, None
        start = time.perf_counter()
        client.get(page["path"])
        wanted = _repeats(time.perf_counter() - start, repeat)
        for n in range(WARM_UP - 1 + wanted):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(page["path"])
                elapsed = time.perf_counter() - start
            status = response.status_code
            if n >= WARM_UP - 1:
                times.append(elapsed)
                queries = len(captured)
        measured[page["name"]] = _summary(times, queries, status)
        print(f"in process  {page['name']:<34} {measured[page['name']]}", flush=True)
    return measured


def _summary(times: list[float], queries: int | None, status: int) -> dict:
    return {
        "p50_ms": round(percentile(times, 0.50) * 1000, 1),
        "p95_ms": round(percentile(times, 0.95) * 1000, 1),
        "mean_ms": round(statistics.fmean(times) * 1000, 1),
        "requests": len(times),
        "queries": queries,
        "status": status,
    }


def over_http(pages: list[dict], repeat: int, base_url: str) -> dict:
    """Each page from gunicorn on loopback, with the same users' sessions."""
    import httpx
    from django.conf import settings

    clients = _clients(pages)
    measured = {}
    with httpx.Client(base_url=base_url, timeout=120) as http:
        for page in pages:
            session = clients[page["user"].pk].cookies[settings.SESSION_COOKIE_NAME].value
            headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
            times, status = [], None
            warm_up = WARM_UP * HTTP_WORKERS  # each gunicorn worker warms its own caches
            start = time.perf_counter()
            http.get(page["path"], headers=headers)
            wanted = _repeats(time.perf_counter() - start, repeat)
            for n in range(warm_up - 1 + wanted):
                start = time.perf_counter()
                response = http.get(page["path"], headers=headers)
                elapsed = time.perf_counter() - start
                status = response.status_code
                if n >= warm_up - 1:
                    times.append(elapsed)
            measured[page["name"]] = _summary(times, None, status)
            print(f"over HTTP   {page['name']:<34} {measured[page['name']]}", flush=True)
    return measured


def _points(kpi: KPI, count: int, start: datetime, step: timedelta) -> list[dict]:
    return [
        {"kpi": kpi.pk, "at": (start + step * n).isoformat(), "value": float(n % 97)}
        for n in range(count)
    ]


def ingest_against_copy(generated: Generated, base_url: str, scale) -> dict:
    """Points per second: batches of 5,000 POSTed to the API over HTTP, then the same number
    of rows COPYed straight into the table."""
    import httpx

    batches = max(2, round(20 * min(scale.factor, 1.0)))
    project = Project.objects.order_by("pk").first()
    api_kpi = KPI.objects.create(project=project, name="Bench ingest (API)", unit="ms")
    copy_kpi = KPI.objects.create(project=project, name="Bench ingest (COPY)", unit="ms")
    _, token = api_token_create(user=generated.manager, name="bench ingest")
    step = timedelta(seconds=1)
    start = timezone.now().replace(microsecond=0) - step * (INGEST_BATCH * batches + 10)
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    with httpx.Client(base_url=base_url, timeout=300) as http:
        for batch in range(batches):
            body = _points(api_kpi, INGEST_BATCH, start + step * INGEST_BATCH * batch, step)
            t0 = time.perf_counter()
            response = http.post("/api/v1/measurements/", json=body, headers=headers)
            times.append(time.perf_counter() - t0)
            if response.status_code != 201:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
    rows = INGEST_BATCH * batches
    api_rate = rows / sum(times)

    now = timezone.now()
    columns = "kpi_id, at, value, partial, note, recorded_at"
    t0 = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY metrics_measurement ({columns}) FROM STDIN") as copy,
    ):
        for n in range(rows):
            copy.write_row((copy_kpi.pk, start + step * n, float(n % 97), False, "", now))
    copy_seconds = time.perf_counter() - t0
    copy_rate = rows / copy_seconds
    stored = Measurement.objects.filter(kpi__in=[api_kpi, copy_kpi]).count()
    return {
        "rows": rows,
        "batch": INGEST_BATCH,
        "api_points_per_second": round(api_rate),
        "api_batch_p50_ms": round(sorted(times)[len(times) // 2] * 1000, 1),
        "copy_points_per_second": round(copy_rate),
        "api_share_of_copy": round(api_rate / copy_rate, 3),
        "stored": stored,
    }


def _start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            celery_worker_command(queues=[env["METRIC_POLL_QUEUE"]], hostname=f"bench-{n}@%h"),
            cwd=ROOT,
            env=env,
        )
        for n in range(count)
    ]


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def poll_throughput(generated: Generated, url: str, env: dict, scale) -> dict:
    """Sources on a loopback HTTP JSON endpoint, all due at once; the dispatcher (as beat runs
    it) claims them and a real Celery worker polls each: polls per second, with one worker
    process and with two."""
    from config.celery import app
    from metrics.tasks import metric_sources_dispatch

    count = max(20, min(1_000, round(1_000 * scale.factor)))
    kpis = list(  # KPIs without an active source (a --reuse run's earlier sources stay)
        KPI.objects.exclude(pk=generated.year_kpi.pk)
        .exclude(sources__is_active=True)
        .order_by("pk")[:count]
    )
    count = len(kpis)
    config = {"url": url, "json_path": "data.p95_ms"}
    MetricSource.objects.bulk_create(
        [
            MetricSource(kpi=kpi, kind="http_json", config=config, interval=timedelta(hours=1))
            for kpi in kpis
        ]
    )
    sources = MetricSource.objects.filter(kind="http_json", config__url=url)
    measured = {}
    for workers_wanted in (1, 2):
        app.control.purge()
        workers = _start_workers(workers_wanted, env)
        try:
            deadline = time.monotonic() + 60
            while len(app.control.ping(timeout=1) or []) < workers_wanted:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Celery workers did not start within 60 s")
            sources.update(next_due_at=timezone.now() - timedelta(seconds=1))
            before = Measurement.objects.filter(source__in=sources).count()
            t0 = time.perf_counter()
            dispatch_seconds = 0.0
            claimed = 0
            deadline = time.monotonic() + 120
            while claimed < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the dispatcher claimed {claimed} of {count} sources")
                d0 = time.perf_counter()
                claimed += metric_sources_dispatch()
                dispatch_seconds += time.perf_counter() - d0
            deadline = time.monotonic() + 600
            while Measurement.objects.filter(source__in=sources).count() - before < count:
                if time.monotonic() > deadline:
                    raise RuntimeError("polls did not finish within 10 minutes")
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
        finally:
            _stop(workers)
        measured[f"{workers_wanted}_worker"] = {
            "polls": count,
            "seconds": round(elapsed, 2),
            "polls_per_second": round(count / elapsed, 1),
            "dispatch_seconds": round(dispatch_seconds, 2),
        }
        print(f"polls with {workers_wanted} worker(s): {measured[f'{workers_wanted}_worker']}")
    return measured


def comparisons(results: dict) -> dict:
    """The headline ratios: ours / admin over the same rows, ingest / COPY, polls."""
    ratios = {}
    for where in ("in_process", "http"):
        for page in results[where]:
            admin = _admin_of(page)
            if admin:
                ours, theirs = results[where][page]["p95_ms"], results[where][admin]["p95_ms"]
                ratios[f"{page} / {admin} ({where}, p95)"] = round(ours / theirs, 2)
    ratios["API ingest / COPY (points per second)"] = results["ingest"]["api_share_of_copy"]
    return ratios


def _admin_of(page: str) -> str | None:
    return {
        "Programme status page": "Admin: projects changelist",
        "Risk register (programme)": "Admin: risks changelist",
        "KPI chart over a year": "Admin: measurements changelist",
    }.get(page)


def _verdict(value, target, *, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return "met" if met else "**missed**"


def target_rows(results: dict) -> list[tuple[str, str, str, str]]:
    http = results["http"]
    local = results["in_process"]
    # Each page against the admin changelist over the same rows (projects, risks, measurements).
    slowest_ratio = max(
        local[page]["p95_ms"] / local[_admin_of(page)]["p95_ms"]
        for page in local
        if _admin_of(page)
    )
    polls = results["polls"]["2_worker"]["polls_per_second"]
    t = results["targets"]
    return [
        (
            "Programme status page p95 (HTTP)",
            f"≤ {t['programme_status_p95_ms']} ms",
            f"{http['Programme status page']['p95_ms']} ms",
            _verdict(
                http["Programme status page"]["p95_ms"],
                t["programme_status_p95_ms"],
                at_most=True,
            ),
        ),
        (
            "Programme status page queries",
            f"≤ {t['programme_status_queries']}",
            str(local["Programme status page"]["queries"]),
            _verdict(
                local["Programme status page"]["queries"],
                t["programme_status_queries"],
                at_most=True,
            ),
        ),
        (
            "KPI chart over a year p95 (HTTP)",
            f"≤ {t['kpi_chart_year_p95_ms']} ms",
            f"{http['KPI chart over a year']['p95_ms']} ms",
            _verdict(
                http["KPI chart over a year"]["p95_ms"],
                t["kpi_chart_year_p95_ms"],
                at_most=True,
            ),
        ),
        (
            "No page slower than the admin changelist over the same rows (in process, p95)",
            "ratio ≤ 1",
            f"highest ratio {slowest_ratio:.2f}",
            _verdict(slowest_ratio, 1.0, at_most=True),
        ),
        (
            "API ingest rate / raw COPY",
            f"≥ {t['ingest_share_of_copy']:.0%}",
            f"{results['ingest']['api_share_of_copy']:.1%}",
            _verdict(
                results["ingest"]["api_share_of_copy"], t["ingest_share_of_copy"], at_most=False
            ),
        ),
        (
            "Polls per second, two worker processes",
            f"≥ {t['polls_per_second_two_workers']}",
            f"{polls}",
            _verdict(polls, t["polls_per_second_two_workers"], at_most=False),
        ),
    ]


def markdown(results: dict) -> str:
    lines = [
        "# Performance",
        "",
        f"`make bench` at scale S={results['scale']:g} on "
        f"{results['date']}: PostgreSQL {results['versions']['postgresql']}, "
        f"Django {results['versions']['django']}, {results['machine']['cpus']} CPUs "
        f"({results['machine']['platform']}). Each page is requested {results['repeat']} times "
        f"({SLOW_REPEAT} if one request takes over {SLOW_SECONDS:g} s) "
        f"after {WARM_UP} warm-up requests (per gunicorn worker over HTTP); gunicorn runs "
        f"{HTTP_WORKERS} workers on loopback. Absolute times "
        "drift with the machine: the ratios are the headline. The raw figures are in "
        "`bench/results/latest.json`.",
        "",
        "Data: "
        + ", ".join(
            f"{count:,} {kind.replace('_', ' ')}" for kind, count in results["counts"].items()
        )
        + (f" (loaded in {results['load_seconds']} s)." if results["load_seconds"] else "."),
        "",
        "## Targets",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(results)]
    lines += ["", "## Ratios", "", "| comparison | ratio |", "|---|---|"]
    lines += [f"| {name} | {ratio:g} |" for name, ratio in results["comparisons"].items()]
    lines += [
        "",
        "## Pages and API calls",
        "",
        "| page | requests | in process p50 | p95 | queries | over HTTP p50 | p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, local in results["in_process"].items():
        http = results["http"][name]
        lines.append(
            f"| {name} | {local['requests']} | {local['p50_ms']} ms | {local['p95_ms']} ms | "
            f"{local['queries']} | {http['p50_ms']} ms | {http['p95_ms']} ms |"
        )
    ingest = results["ingest"]
    lines += [
        "",
        "## Bulk ingest and polling",
        "",
        f"- API ingest over HTTP: {ingest['rows']:,} points in batches of {ingest['batch']:,}, "
        f"{ingest['api_points_per_second']:,} points/s (a batch in {ingest['api_batch_p50_ms']} ms "
        f"at the median); raw COPY of as many rows: {ingest['copy_points_per_second']:,} "
        f"points/s; the API reaches {ingest['api_share_of_copy']:.1%} of COPY's rate.",
    ]
    for key, label in (("1_worker", "one worker process"), ("2_worker", "two worker processes")):
        polls = results["polls"][key]
        lines.append(
            f"- Polls with {label}: {polls['polls']:,} loopback HTTP JSON sources in "
            f"{polls['seconds']} s, {polls['polls_per_second']} polls/s (dispatching took "
            f"{polls['dispatch_seconds']} s of it)."
        )
    findings = ROOT / "bench" / "findings.md"
    if findings.exists():  # what the runs found and what was done about it, kept by hand
        lines += ["", findings.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def failures(results: dict) -> list[str]:
    """What makes a run fail (not a missed target): an error answer, missing data."""
    problems = [
        f"{where}: {name} answered {page['status']}"
        for where in ("in_process", "http")
        for name, page in results[where].items()
        if page["status"] != 200
    ]
    if results["ingest"]["stored"] != 2 * results["ingest"]["rows"]:
        problems.append("ingest: not every point was stored")
    return problems
