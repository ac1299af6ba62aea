"""The tables of a PostgreSQL database, recorded before an upgrade and compared after it: the
upgrade check's (.ci/upgrade-check) proof that migrating kept every row as it was.

    upgrade_tables.py record DATABASE_URL SNAPSHOT.json
    upgrade_tables.py compare DATABASE_URL SNAPSHOT.json [--allow-changed TABLE ...]

Each table of the public schema is recorded with its columns (name and type), its row count, an
MD5 over all its rows that does not depend on their order, and such an MD5 of each column, which
says which columns changed when a table's rows differ."""

import argparse
import json
import sys
import textwrap
from pathlib import Path

import psycopg
from psycopg import sql

# Tables a migration rewrites by design; left out, with the reason.
EXCLUDED = {
    "django_migrations": "gains a row per new migration; `migrate --check` checks it instead",
    "django_content_type": "a model that moves to another app is relabelled with the new app",
    "auth_permission": "permissions belong to content types, which a move between apps relabels",
    "django_session": "login sessions, which end by themselves: nothing an upgrade must keep",
    "django_admin_log": "its entries point at content types, which a move between apps relabels",
}
ALIAS = sql.Identifier("snapshot_row")


def _connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    # Rows are read as text: the same settings before and after, whatever the server's.
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET IntervalStyle = 'postgres'")
    conn.execute("SET extra_float_digits = 1")
    return conn


def _tables(conn: psycopg.Connection) -> dict[str, list[list[str]]]:
    """Every table of the public schema: its columns, as [name, type], in their order."""
    tables: dict[str, list[list[str]]] = {}
    rows = conn.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        ORDER BY c.relname, a.attnum
        """
    )
    for table, column, type_ in rows:
        tables.setdefault(table, []).append([column, type_])
    return tables


def _ordered_md5(expression: sql.Composable) -> sql.Composable:
    return sql.SQL("md5(string_agg({e}, '' ORDER BY {e}))").format(e=expression)


def _digest(conn: psycopg.Connection, table: str, columns: list[list[str]]) -> dict:
    column_md5s = [
        _ordered_md5(
            sql.SQL("coalesce(md5({}.{}::text), 'null')").format(ALIAS, sql.Identifier(name))
        )
        for name, _ in columns
    ]
    query = sql.SQL("SELECT count(*), {rows}, {columns} FROM {table} AS {alias}").format(
        rows=_ordered_md5(sql.SQL("md5({}::text)").format(ALIAS)),
        columns=sql.SQL(", ").join(column_md5s),
        table=sql.Identifier(table),
        alias=ALIAS,
    )
    count, rows_md5, *values = conn.execute(query).fetchone()
    return {
        "columns": columns,
        "rows": count,
        "md5": rows_md5,
        "column_md5": {name: md5 for (name, _), md5 in zip(columns, values, strict=True)},
    }


def _record(conn: psycopg.Connection) -> dict:
    return {
        table: _digest(conn, table, columns)
        for table, columns in sorted(_tables(conn).items())
        if table not in EXCLUDED
    }


def _differences(before: dict, after: dict) -> list[str]:
    """What changed in a table, in words; empty if nothing did."""
    old_types, new_types = dict(before["columns"]), dict(after["columns"])
    found = []
    if removed := [name for name in old_types if name not in new_types]:
        found.append(f"columns removed: {', '.join(removed)}")
    if added := [name for name in new_types if name not in old_types]:
        found.append(f"columns added: {', '.join(added)}")
    for name, type_ in old_types.items():
        if name in new_types and new_types[name] != type_:
            found.append(f"column {name}: type {type_} -> {new_types[name]}")
    if before["rows"] != after["rows"]:
        found.append(f"rows: {before['rows']} -> {after['rows']}")
    elif before["md5"] != after["md5"]:
        changed = [
            name
            for name in old_types
            if name in new_types and before["column_md5"][name] != after["column_md5"][name]
        ]
        if changed:
            found.append(f"values changed in columns: {', '.join(changed)}")
        elif removed or added:
            found.append("the values of the columns kept are all unchanged")
        else:
            found.append("each column's values are unchanged, yet the rows differ (column order?)")
    return found


def _print_differences(tables: dict[str, list[str]], stream) -> None:
    for table, found in tables.items():
        for line in found:
            print(f"  {table}: {line}", file=stream)


def record(url: str, path: Path) -> None:
    with _connect(url) as conn:
        tables = _record(conn)
    path.write_text(json.dumps(tables, indent=1, sort_keys=True))
    rows = sum(table["rows"] for table in tables.values())
    print(f"recorded {len(tables)} tables, {rows} rows:")
    print(textwrap.fill(", ".join(f"{name}={table['rows']}" for name, table in tables.items())))
    empty = [name for name, table in tables.items() if not table["rows"]]
    if empty:
        print(textwrap.fill(f"empty (compared by name and columns only): {', '.join(empty)}"))


def compare(url: str, path: Path, allowed: set[str]) -> int:
    before = json.loads(path.read_text())
    with _connect(url) as conn:
        now = _tables(conn)
        differing, accepted = {}, {}
        for table, recorded in before.items():
            if table not in now:
                found = ["the table is gone: no table of this name in the public schema"]
            else:
                found = _differences(recorded, _digest(conn, table, now[table]))
            if found:
                (accepted if table in allowed else differing)[table] = found
    if new := sorted(set(now) - set(before) - set(EXCLUDED)):
        print(f"new tables (not compared): {', '.join(new)}")
    if accepted:
        print("Differences accepted by UPGRADE_CHECK_ALLOW_CHANGED:")
        _print_differences(accepted, sys.stdout)
    if differing:
        print(
            f"FAIL: {len(differing)} of {len(before)} tables differ after the migration:",
            file=sys.stderr,
        )
        _print_differences(differing, sys.stderr)
        print(
            "A table that a new migration is meant to change (a column added, values rewritten) "
            "is accepted by naming it in UPGRADE_CHECK_ALLOW_CHANGED, once someone has read the "
            "difference above.",
            file=sys.stderr,
        )
        return 1
    rows = sum(table["rows"] for table in before.values())
    print(
        f"compared {len(before)} tables, {rows} rows: same names, row counts and checksums"
        + (f" but for {len(accepted)} accepted" if accepted else "")
    )
    print("left out:")
    for table, why in EXCLUDED.items():
        print(f"  {table}: {why}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument("database_url")
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--allow-changed", nargs="*", default=[], metavar="TABLE")
    args = parser.parse_args()
    if args.action == "record":
        record(args.database_url, args.snapshot)
    else:
        sys.exit(compare(args.database_url, args.snapshot, set(args.allow_changed)))


if __name__ == "__main__":
    main()
