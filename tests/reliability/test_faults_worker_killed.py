"""A worker killed with SIGKILL in the middle of a poll: the poll is delivered again (late
acknowledgement; Redis hands an unacknowledged task to another worker after the visibility
timeout, shortened here to 2 s) and its measurement is written exactly once."""

import os
import signal
import time
from pathlib import Path

import pytest

from metrics.models import Measurement, SourceHealth
from metrics.tasks import metric_sources_dispatch
from tests.factories import KPIFactory, MetricSourceFactory
from tests.reliability.processes import (
    HeldSource,
    app_env,
    database_url_of_test,
    start_worker,
    wait_for,
)

VISIBILITY_TIMEOUT = 2


@pytest.fixture
def held_source():
    source = HeldSource(value=420.5)
    yield source
    source.close()


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:
        worker.kill()  # nothing of theirs is left to finish


@pytest.fixture
def worker_env(tmp_path, isolated_cache):
    return app_env(
        log_dir=tmp_path,
        cache_url=isolated_cache,
        database_url=database_url_of_test(),
        CELERY_BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        # The held poll must outlast a second worker's start without timing out.
        METRIC_HTTP_READ_TIMEOUT="60",
    )


def _source(project, url: str):
    kpi = KPIFactory(project=project, name="API p95 latency", unit="ms", comparator="lt",
                     target_value=400)  # fmt: skip
    return MetricSourceFactory(
        kpi=kpi, kind="http_json", config={"url": url, "json_path": "data.p95_ms"}
    )


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.django_db(transaction=True)
def test_a_poll_whose_worker_is_killed_runs_again_and_is_recorded_once(
    settings, tmp_path, test_queue, project_a, held_source, workers, worker_env
):
    """The pool process running the poll is killed: its worker takes the task back
    (reject_on_worker_lost) and runs it again in a new one. Then the whole worker is killed
    during that run: after the visibility timeout a second worker runs it a third time."""
    settings.METRIC_POLL_QUEUE = test_queue
    source = _source(project_a, held_source.url)
    first = start_worker(
        "first", queue=test_queue, log_dir=tmp_path, env=worker_env, pool="prefork"
    )
    workers.append(first)

    assert metric_sources_dispatch() == 1
    held_source.wait_for_requests(1, timeout=30)
    (pool_process,) = _children(first.pid)
    os.kill(pool_process, signal.SIGKILL)
    pool_killed_at = time.monotonic()
    held_source.wait_for_requests(2, timeout=30)
    rerun_after = time.monotonic() - pool_killed_at
    assert "WorkerLostError" in first.output()

    first.kill()  # the worker and its pool, in the middle of the rerun
    killed_at = time.monotonic()
    held_source.release()
    assert not Measurement.objects.filter(source=source).exists()

    second = start_worker("second", queue=test_queue, log_dir=tmp_path, env=worker_env)
    workers.append(second)
    wait_for(Measurement.objects.filter(source=source).exists, timeout=30, what="the second worker")
    redelivered_after = time.monotonic() - killed_at
    time.sleep(VISIBILITY_TIMEOUT + 1)  # a further delivery would have come by now

    (measurement,) = Measurement.objects.filter(source=source)
    assert measurement.value == 420.5
    assert held_source.requests == 3  # two killed runs and the one that recorded
    assert "succeeded" in second.output() and "succeeded" not in first.output()
    source.refresh_from_db()
    assert source.health == SourceHealth.OK
    print(
        f"\npool process killed: poll run again after {rerun_after:.1f} s; worker killed: "
        f"poll redelivered and recorded by the second worker after {redelivered_after:.1f} s"
    )


@pytest.mark.django_db(transaction=True)
def test_a_poll_delivered_twice_while_the_first_is_running_is_recorded_once(
    settings, tmp_path, test_queue, project_a, held_source, workers, worker_env
):
    """Past the visibility timeout a slow poll is handed to a second worker while the first
    still runs: both reach the source and both answer, and the database keeps one value."""
    settings.METRIC_POLL_QUEUE = test_queue
    source = _source(project_a, held_source.url)
    first = start_worker("first", queue=test_queue, log_dir=tmp_path, env=worker_env)
    workers.append(first)

    assert metric_sources_dispatch() == 1
    held_source.wait_for_requests(1, timeout=30)
    time.sleep(VISIBILITY_TIMEOUT + 0.5)
    second = start_worker("second", queue=test_queue, log_dir=tmp_path, env=worker_env)
    workers.append(second)
    held_source.wait_for_requests(2, timeout=30)  # the same slot, polled twice at once
    held_source.release()

    wait_for(
        lambda: first.output().count("succeeded") + second.output().count("succeeded") == 2,
        timeout=30,
        what="both polls finishing",
    )
    (measurement,) = Measurement.objects.filter(source=source)
    assert measurement.value == 420.5
    assert "True" in first.output() + second.output()  # one poll recorded the value...
    assert "False" in first.output() + second.output()  # ...and its twin wrote nothing
