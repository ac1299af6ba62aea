"""Shared fixtures: personas as the house style names them.

alice manages project A; bob contributes to A; carol approves on A; erin is an executive of
A's programme; victor views A; oscar is an outsider, a manager of project B only.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import pytest
from django.db import connection

from tests.factories import (
    MeasurementFactory,
    MembershipFactory,
    ProgrammeFactory,
    ProjectFactory,
    UserFactory,
)


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


def _test_database_url() -> str:
    """The URL of the test database, for a worker process to share it."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def celery_worker_process(isolated_cache, test_queue):
    """A real Celery worker on the configured broker, listening on this test's queue only,
    sharing this test's database and cache."""
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
        cwd=Path(__file__).resolve().parents[1],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CACHE_URL": isolated_cache,
            "DATABASE_URL": _test_database_url(),
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


@pytest.fixture(autouse=True)
def _measurements_start_now():
    """Each test's measurements without a time of their own are a minute apart going back from
    now, counted from this test's first: a count carried over from earlier tests would put them
    days in the past (KPIs stale) after a few thousand, and only in a long run."""
    MeasurementFactory.reset_sequence()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _audit_checkpoints_of_its_own(settings, tmp_path):
    """Each test checkpoints gate trails into a file of its own: the same gate ids come back
    in the next test's database, and its gates are other gates."""
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


# The tables whose TRUNCATE PostgreSQL refuses (gates 0014).
TRUNCATE_REFUSED = {"gates_gateauditentry", "gates_signoff", "gates_evidencepack"}


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_truncate_refusal():
    """After a transactional test, Django empties every table with one TRUNCATE, which
    PostgreSQL refuses on the append-only tables. The flush, run as the postgres superuser,
    passes the refusal as a replica would, for its own transaction only: no ALTER TABLE, whose
    table locks, taken one by one before the TRUNCATE, could deadlock with a request of the
    live server still finishing."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def sql_flush_past_refusal(self, style, tables, **options):
        statements = sql_flush(self, style, tables, **options)
        refused = TRUNCATE_REFUSED & set(tables)
        if not statements or not refused:
            return statements
        return ["SET LOCAL session_replication_role = replica;", *statements]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush_past_refusal)
        yield


def pytest_runtest_setup(item):
    """A test marked `postgresql` needs a feature SQLite lacks: on SQLite it is skipped, and
    the summary says so."""
    if item.get_closest_marker("postgresql") and connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL; this run is on {connection.vendor}")


@pytest.fixture
def programme(db):
    return ProgrammeFactory(name="Platform Migrations", slug="platform-migrations")


@pytest.fixture
def project_a(programme):
    return ProjectFactory(programme=programme, code="A", name="Provider API")


@pytest.fixture
def project_b(db):
    return ProjectFactory(code="B", name="Billing ledger")


@pytest.fixture
def alice(project_a):
    user = UserFactory(username="alice", is_staff=True)
    MembershipFactory(user=user, project=project_a, role="manager")
    return user


@pytest.fixture
def bob(project_a):
    user = UserFactory(username="bob", is_staff=True)
    MembershipFactory(user=user, project=project_a, role="contributor")
    return user


@pytest.fixture
def carol(project_a):
    user = UserFactory(username="carol")
    MembershipFactory(user=user, project=project_a, role="approver")
    return user


@pytest.fixture
def erin(programme, project_a):
    user = UserFactory(username="erin")
    MembershipFactory(user=user, project=None, programme=programme, role="executive")
    return user


@pytest.fixture
def victor(project_a):
    user = UserFactory(username="victor")
    MembershipFactory(user=user, project=project_a, role="viewer")
    return user


@pytest.fixture
def oscar(project_b):
    user = UserFactory(username="oscar", is_staff=True)
    MembershipFactory(user=user, project=project_b, role="manager")
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)
