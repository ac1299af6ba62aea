"""A backup made with `pg_dump --format=custom` and restored with `pg_restore` into a fresh
database gives back every row: projects, signatures, measurements and audit trails, the same
in number and in content, with the database's own rules (append-only triggers, sequences)
restored too. The commands are those docs/backup.md gives."""

import hashlib
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql

from metrics import services as metric_services
from metrics.models import KPI
from projects.models import Programme
from tests.exchange.test_project_exchange import people_for_seeding, seed_project

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
PROJECTS = 3
PUSHED_PER_PROJECT = 2_000  # measurements pushed in one batch, besides the seeded ones

# The rows a restore must give back, read the same way from both databases: what identifies
# each row and what it says, in a stable order.
CHECKED = {
    "projects": """
        SELECT pr.slug, p.code, p.name, p.status, p.budget_planned, p.budget_spent,
               p.created_at, u.username
        FROM projects_project p JOIN projects_programme pr ON pr.id = p.programme_id
        LEFT JOIN auth_user u ON u.id = p.manager_id ORDER BY pr.slug, p.code""",
    "signoffs": """
        SELECT p.code, g.name, u.username, d.username, s.decision, s.conditions, s.comment,
               s.signed_at, s.content_hash, s.invalidated_at, s.invalidated_reason
        FROM gates_signoff s JOIN gates_gate g ON g.id = s.gate_id
        JOIN projects_project p ON p.id = g.project_id JOIN auth_user u ON u.id = s.signer_id
        LEFT JOIN auth_user d ON d.id = s.on_behalf_of_id ORDER BY p.code, g.name, s.signed_at""",
    "measurements": """
        SELECT p.code, k.name, m.at, m.value, m.partial, m.note, m.recorded_at, m.slot,
               m.source_id
        FROM metrics_measurement m JOIN metrics_kpi k ON k.id = m.kpi_id
        JOIN projects_project p ON p.id = k.project_id ORDER BY p.code, k.name, m.at""",
    "audit entries": """
        SELECT p.code, g.name, a.sequence, a.at, u.username, a.action, a.before::text,
               a.after::text, a.previous_hash, a.entry_hash, g.audit_head
        FROM gates_gateauditentry a JOIN gates_gate g ON g.id = a.gate_id
        JOIN projects_project p ON p.id = g.project_id LEFT JOIN auth_user u ON u.id = a.actor_id
        ORDER BY p.code, g.name, a.sequence""",
    "risk assessments": """
        SELECT p.code, r.key, a.assessed_at, a.likelihood, a.impact, a.status, a.reason
        FROM risks_riskassessment a JOIN risks_risk r ON r.id = a.risk_id
        JOIN projects_project p ON p.id = r.project_id ORDER BY p.code, r.key, a.assessed_at""",
}


def _checked_rows(conn) -> dict[str, tuple[int, str]]:
    """Per kind of row: how many, and a SHA-256 of them all in order."""
    result = {}
    for name, query in CHECKED.items():
        rows = conn.execute(query).fetchall()
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()
        result[name] = (len(rows), digest)
    return result


def _every_table(conn) -> dict[str, tuple[int, str]]:
    """Every table of the schema: its row count and an MD5 of its rows' text, in order."""
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    result = {}
    for (table,) in tables:
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
            "FROM {} t"
        ).format(sql.Identifier(table))
        result[table] = tuple(conn.execute(query).fetchone())
    return result


def _sequences(conn) -> dict[str, int | None]:
    rows = conn.execute(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
    ).fetchall()
    return dict(rows)


def _libpq_env(settings_dict) -> dict[str, str]:
    """The environment that points PostgreSQL's own programs at the test server."""
    env = {**os.environ, "PGHOST": settings_dict["HOST"] or "127.0.0.1"}
    env["PGPORT"] = str(settings_dict["PORT"] or 5432)
    env["PGUSER"] = settings_dict["USER"] or "postgres"
    if settings_dict["PASSWORD"]:
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return env


def _run(command: list[str], *, env: dict[str, str]) -> float:
    """Run one command of the procedure; its output is shown if it fails. Returns seconds."""
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return time.monotonic() - started


@pytest.fixture
def restored_database():
    """The name of a fresh, empty database for the restore, dropped afterwards."""
    source = connection.settings_dict["NAME"]
    name = f"{source[:40]}_restored_{uuid.uuid4().hex[:8]}"
    env = _libpq_env(connection.settings_dict)
    _run(["createdb", "--template=template0", name], env=env)
    yield name
    _run(["dropdb", "--if-exists", "--force", name], env=env)


def _seed() -> None:
    people = people_for_seeding()
    programme = Programme.objects.create(name="Core ledger", slug="core-ledger")
    start = timezone.now().replace(microsecond=0) - timedelta(days=30)
    for number in range(PROJECTS):
        project = seed_project(programme=programme, code=f"LED{number}", people=people)
        kpi = KPI.objects.get(project=project, name="Error rate")
        metric_services.measurements_push(
            kpi_values=[
                {"kpi": kpi, "at": start + timedelta(minutes=10 * i), "value": (i % 97) / 10}
                for i in range(PUSHED_PER_PROJECT)
            ],
            by=people.contributor,
        )


def test_pg_dump_and_pg_restore_give_back_every_row(tmp_path, restored_database):
    started = time.monotonic()
    _seed()
    seeded_in = time.monotonic() - started
    settings_dict = connection.settings_dict
    env = _libpq_env(settings_dict)
    dump = tmp_path / "waymark.dump"

    dumped_in = _run(
        ["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={settings_dict['NAME']}"],
        env=env,
    )
    restored_in = _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={restored_database}",
            str(dump),
        ],
        env=env,
    )

    conninfo = {
        "host": env["PGHOST"],
        "port": env["PGPORT"],
        "user": env["PGUSER"],
        "password": settings_dict["PASSWORD"] or None,
    }
    with (
        psycopg.connect(dbname=settings_dict["NAME"], **conninfo) as original,
        psycopg.connect(dbname=restored_database, autocommit=True, **conninfo) as restored,
    ):
        before, after = _checked_rows(original), _checked_rows(restored)
        assert after == before
        counts = {name: count for name, (count, _) in before.items()}
        assert counts == {
            "projects": PROJECTS,
            "signoffs": 4 * PROJECTS,
            "measurements": (49 + PUSHED_PER_PROJECT) * PROJECTS,
            "audit entries": 15 * PROJECTS,
            "risk assessments": 4 * PROJECTS,
        }
        tables = _every_table(original)
        assert _every_table(restored) == tables
        assert _sequences(restored) == _sequences(original)
        # The database's own rules came back with the rows.
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            restored.execute("UPDATE gates_gateauditentry SET action = 'signed'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            restored.execute("DELETE FROM gates_signoff")
        assert restored.execute("SELECT sum(count) FROM metrics_measurementhour").fetchone() == (
            counts["measurements"],
        )

    # The restored database is one the portal runs on: no migration missing, trails intact.
    restored_env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(
            urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{restored_database}")
        ),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    checked_in = _run([sys.executable, "manage.py", "migrate", "--check"], env=restored_env)
    _run([sys.executable, "manage.py", "verify_gate_audit", "-v", "2"], env=restored_env)
    print(
        f"\nbackup/restore: {len(tables)} tables, {sum(c for c, _ in tables.values())} rows "
        f"({counts['measurements']} measurements, {counts['signoffs']} sign-offs, "
        f"{counts['audit entries']} audit entries); dump {dump.stat().st_size // 1024} KiB; "
        f"seeded in {seeded_in:.1f} s, pg_dump {dumped_in:.1f} s, pg_restore {restored_in:.1f} s, "
        f"migrate --check {checked_in:.1f} s"
    )
