"""PostgreSQL "restarted" under a web process and a worker: every connection they have is
dropped and new ones are refused for a few seconds (a TCP proxy between them and the
database). Meanwhile pages and the API answer 503 with a message, never a 500; afterwards
pages are served and measurements written again, with nobody doing anything."""

import time

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.database_unavailable import MESSAGE
from metrics.models import Measurement
from metrics.tasks import metric_sources_dispatch
from tests.factories import KPIFactory, MetricSourceFactory
from tests.reliability.processes import (
    HeldSource,
    TCPProxy,
    app_env,
    database_url_of_test,
    start_web,
    start_worker,
    wait_for,
)

OUTAGE_SECONDS = 4


@pytest.fixture
def database_proxy():
    settings_dict = connection.settings_dict
    proxy = TCPProxy((settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)))
    yield proxy
    proxy.close()

    def proxied_sessions_ended() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return not cursor.fetchall()

    # The server ends a dropped session a moment later; the test database is dropped after.
    wait_for(proxied_sessions_ended, timeout=10, what="the proxied sessions ending")


@pytest.fixture
def metric_endpoint():
    source = HeldSource(value=120.0)
    source.release()  # answers at once
    yield source
    source.close()


def _pages(user: httpx.Client, url: str, project_pk: int) -> dict[str, httpx.Response]:
    return {
        "project page": user.get(f"{url}{reverse('project-detail', args=[project_pk])}"),
        "htmx partial": user.get(
            f"{url}{reverse('project-detail', args=[project_pk])}", headers={"HX-Request": "true"}
        ),
        "API": user.get(f"{url}/api/v1/projects/{project_pk}/"),
    }


@pytest.mark.django_db(transaction=True)
def test_pages_and_polls_survive_a_database_restart(
    settings, tmp_path, isolated_cache, test_queue, database_proxy, metric_endpoint, project_a,
    alice,
):  # fmt: skip
    settings.METRIC_POLL_QUEUE = test_queue
    kpis = [KPIFactory(project=project_a, name=f"Latency {n}") for n in range(3)]
    config = {"url": metric_endpoint.url, "json_path": "data.p95_ms"}
    before, during, after = (
        MetricSourceFactory(kpi=kpi, kind="http_json", config=config) for kpi in kpis
    )
    for later in (during, after):  # collected during the outage, and once it is over
        later.is_active = False
        later.save()
    env = app_env(
        log_dir=tmp_path,
        cache_url=isolated_cache,
        database_url=database_url_of_test(port=database_proxy.port),
    )
    web, url = start_web(log_dir=tmp_path, env=env)
    worker = start_worker("worker", queue=test_queue, log_dir=tmp_path, env=env)
    browser = Client()
    browser.force_login(alice)
    with httpx.Client(cookies={"sessionid": browser.cookies["sessionid"].value}) as user:
        try:
            assert {name: r.status_code for name, r in _pages(user, url, project_a.pk).items()} == {
                "project page": 200, "htmx partial": 200, "API": 200
            }  # fmt: skip
            assert metric_sources_dispatch() == 1
            wait_for(Measurement.objects.filter(source=before).exists, timeout=30,
                     what="a measurement before the outage")  # fmt: skip

            dropped = database_proxy.cut()
            outage_started = time.monotonic()
            during.is_active = True
            during.save()
            assert metric_sources_dispatch() == 1  # a poll the worker cannot record now
            answers = []
            while time.monotonic() - outage_started < OUTAGE_SECONDS:
                for name, response in _pages(user, url, project_a.pk).items():
                    answers.append((name, response))
                time.sleep(0.2)
            statuses = {(name, r.status_code) for name, r in answers}
            assert statuses == {("project page", 503), ("htmx partial", 503), ("API", 503)}, [
                (name, r.status_code, r.text[:300]) for name, r in answers if r.status_code != 503
            ]
            page = next(r for name, r in answers if name == "project page")
            assert MESSAGE in page.text and "Traceback" not in page.text
            assert page.headers["Retry-After"] == "5"
            api = next(r for name, r in answers if name == "API")
            assert api.json() == {"detail": MESSAGE}
            assert worker.alive()
            assert "metric_source_poll" in worker.output() and "Retry in" in worker.output()

            database_proxy.restore()
            restored_at = time.monotonic()

            def pages_served() -> bool:
                statuses = [r.status_code for r in _pages(user, url, project_a.pk).values()]
                assert set(statuses) <= {200, 503}, statuses
                return statuses == [200, 200, 200]

            wait_for(pages_served, timeout=20, what="pages served again", every=0.2)
            pages_back_after = time.monotonic() - restored_at
            after.is_active = True
            after.save()
            assert metric_sources_dispatch() == 1  # the first source is not due again yet
            wait_for(Measurement.objects.filter(source=after).exists, timeout=30,
                     what="the worker writing a measurement after the outage")  # fmt: skip
            polls_back_after = time.monotonic() - restored_at
            # Its retries are jittered (0-5 s, 0-10 s, 0-20 s): reported, not counted on.
            outage_poll_recorded = Measurement.objects.filter(source=during).exists()
        finally:
            web.stop()
            worker.kill()
    assert "Traceback" not in web.output(), web.output()[-4000:]
    print(
        f"\ndatabase cut for {OUTAGE_SECONDS} s ({dropped} connections dropped): "
        f"{len(answers)} requests answered 503 during it, pages 200 again "
        f"{pages_back_after:.1f} s and a new measurement {polls_back_after:.1f} s after it "
        f"ended; the poll that met the outage recorded by a retry: {outage_poll_recorded}"
    )
