"""A real Celery worker, on the configured broker, runs the scheduled heartbeat."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import environ
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from projects import selectors
from projects.services import WORKER_HEARTBEAT_KEY
from projects.tasks import worker_heartbeat

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def isolated_cache(settings, tmp_path):
    """A cache of this test's own, shared with the worker it starts (and no other worker)."""
    url = f"filecache://{tmp_path / 'cache'}"
    settings.CACHES = {"default": {**environ.Env.cache_url_config(url)}}
    return url


@pytest.fixture
def test_queue():
    """A queue of this test's own, so that no other worker on the broker takes its task."""
    return f"waymark-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def celery_worker_process(isolated_cache, test_queue):
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "--queues",
            test_queue,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CACHE_URL": isolated_cache,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.mark.django_db
def test_a_worker_runs_the_heartbeat_and_the_health_check_sees_it(
    celery_worker_process, test_queue, client
):
    cache.delete(WORKER_HEARTBEAT_KEY)
    assert client.get("/health/").json()["worker"] == "never seen"
    sent_at = timezone.now()
    worker_heartbeat.apply_async(queue=test_queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and cache.get(WORKER_HEARTBEAT_KEY) is None:
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    age = selectors.worker_heartbeat_age(now=timezone.now())
    assert age is not None, f"no heartbeat within 60 s on {settings.CELERY_BROKER_URL}"
    assert age <= timezone.now() - sent_at
    assert client.get("/health/").json()["worker"] == "ok"
