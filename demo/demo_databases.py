"""Two small databases that stand in for the provider API's old and new stores, so that the
demo's SQL reconciliation has something real to count: the Redis export and the PostgreSQL
copy of the providers, the latter a few rows short, as midway through a backfill."""

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

ROWS = {"demo-legacy": 5000, "demo-new": 4996}


def ensure_created() -> None:
    for name, rows in ROWS.items():
        url = settings.METRIC_SQL_DATABASES.get(name, "")
        parts = urlsplit(url)
        if parts.scheme != "sqlite":
            continue  # configured elsewhere: not the demo's to create
        path = Path("/" + parts.path.lstrip("/"))
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as connection:
            connection.execute(
                "CREATE TABLE providers (provider_id INTEGER PRIMARY KEY, npi TEXT NOT NULL)"
            )
            connection.executemany(
                "INSERT INTO providers (npi) VALUES (?)",
                ((f"{1_000_000_000 + number}",) for number in range(rows)),
            )
