"""The load run's short form (`make load` is the long one): the same code, a few people for a
few seconds against gunicorn with three workers and a real Celery worker, on a PostgreSQL
database of its own. Managers' saves meet on the same rows, approvers send every signature
twice at once; afterwards the database is held to what the portal answered."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DURATION_SECONDS = 15
USERS = 8


def _server_and_name() -> tuple[str, str]:
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/") or "waymark"
    return urlunsplit(parts._replace(path="/postgres")), f"{name}_load_test"


@pytest.fixture(scope="module")
def load_run(tmp_path_factory):
    """One short run for the module's tests: its results, and a connection to its database."""
    server, name = _server_and_name()
    out = tmp_path_factory.mktemp("load")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--duration",
            str(DURATION_SECONDS),
            "--users",
            str(USERS),
            "--database",
            name,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DURATION_SECONDS + 150,
    )
    results_file = out / "load-latest.json"
    assert results_file.exists(), completed.stderr[-3000:]
    results = json.loads(results_file.read_text())
    connection = psycopg.connect(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    yield results, completed, connection
    connection.close()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_no_request_fails_under_load(load_run):
    results, completed, _ = load_run
    totals = results["totals"]
    assert totals["errors"] == 0, results["error_samples"]
    assert totals["server_errors_logged"] == 0, results["server_error_samples"]
    assert results["locust_exceptions"] == []
    every_kind = {
        "login",
        "api project save",
        "api risk save",
        "page phase save",
        "page programme live",
        "page project status live",
    }
    assert every_kind <= set(results["requests"]), sorted(results["requests"])
    assert {"api sign", "page sign"} & set(results["requests"])
    assert results["ok"], completed.stdout[-3000:]
    assert completed.returncode == 0


def test_every_accepted_edit_is_in_the_database_once(load_run):
    results, _, _ = load_run
    edits = results["edits"]
    assert sum(check["accepted"] for check in edits["texts"]) > 0
    for check in edits["texts"]:
        assert (check["lost"], check["doubled"]) == (0, 0), check
    assert sum(row["accepted"] for row in edits["budget_counters"]) > 0
    for row in edits["budget_counters"]:
        assert row["grew_by"] == row["accepted"], row


def test_budget_counters_equal_the_accepted_increments(load_run):
    results, _, connection = load_run
    accepted = {row["project"]: row["accepted"] for row in results["edits"]["budget_counters"]}
    stored = dict(
        connection.execute(
            "SELECT id, budget_spent FROM projects_project WHERE id = ANY(%s)", [list(accepted)]
        ).fetchall()
    )
    assert {pk: int(value) for pk, value in stored.items()} == accepted


def test_each_approver_signs_each_gate_once(load_run):
    results, _, connection = load_run
    twice = connection.execute(
        "SELECT gate_id, signer_id, count(*) FROM gates_signoff "
        "GROUP BY gate_id, signer_id HAVING count(*) > 1"
    ).fetchall()
    assert twice == []
    (stored,) = connection.execute("SELECT count(*) FROM gates_signoff").fetchone()
    signatures = results["signatures"]
    assert stored == signatures["accepted"] > 0
    assert signatures["duplicates_refused"] > 0  # the second of each pair was refused
    assert signatures["broken_trails"] == []
    assert signatures["ok"], signatures


def test_the_worker_collects_throughout(load_run):
    results, _, connection = load_run
    collection = results["collection"]
    assert collection["sources_failing"] == 0
    assert collection["sources_never_polled"] == 0
    (polled,) = connection.execute(
        "SELECT count(*) FROM metrics_measurement WHERE source_id IS NOT NULL"
    ).fetchone()
    assert polled == collection["measurements"] >= collection["sources"]
