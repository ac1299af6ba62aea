"""What the benchmark (make bench) and the load run (make load) both need: a PostgreSQL
database of their own, a free port on loopback, percentiles."""

import os
import socket
import sys
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def database_urls(name: str, *, command: str) -> tuple[str, str]:
    """(the server's maintenance database, the database `name`) on DATABASE_URL's PostgreSQL
    server, or the local one; `command` (make bench, make load) refuses anything else."""
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"{command} runs on PostgreSQL; DATABASE_URL is {parts.scheme}://…")
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path=f"/{name}")),
    )


def fresh_database(server_url: str, name: str) -> None:
    """Drop the database `name` if it is there, and create it empty."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def celery_worker_command(*, queues: list[str], hostname: str) -> list[str]:
    """A Celery worker of one process on `queues`, quiet but for warnings."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
        "--queues",
        ",".join(queues),
        "--hostname",
        hostname,
    ]
