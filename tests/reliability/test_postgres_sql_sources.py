"""SQL sources on PostgreSQL keep the named connection's own options beside their guards."""

import os
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from metrics.collection.collectors import sql_query_rows


def _url(**query) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])._replace(
        path=f"/{connection.settings_dict['NAME']}"
    )
    return urlunsplit(parts._replace(query="&".join(f"{k}={quote(v)}" for k, v in query.items())))


@pytest.mark.django_db(transaction=True)
def test_a_connections_own_options_are_kept_and_the_guards_still_win():
    url = _url(options="-c work_mem=7MB -c default_transaction_read_only=off")
    assert sql_query_rows(url=url, query="SELECT current_setting('work_mem')", timeout=5) == [
        ("7MB",)
    ]
    # The connection's options cannot turn the read-only session off.
    with pytest.raises(psycopg.Error, match="read-only transaction"):
        sql_query_rows(
            url=url, query="SELECT nextval(pg_get_serial_sequence('metrics_kpi', 'id'))", timeout=5
        )
