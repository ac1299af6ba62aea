"""Signatures and audit entries are append-only in the database itself.

A signature may be stamped invalidated once (when and why), and nothing else about it may
change; audit entries may not change at all; on PostgreSQL neither may be deleted. (SQLite,
the embedded development database, refuses the changes but not deletes: Django's test runner
empties its tables with DELETE. Deletes are refused there by the PROTECT foreign keys and by
the code, which never deletes them.)
"""

from django.db import migrations

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION waymark_refuse_audit_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'gate audit entries are append-only (% refused)', TG_OP;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER gates_audit_append_only BEFORE UPDATE OR DELETE ON gates_gateauditentry
    FOR EACH ROW EXECUTE FUNCTION waymark_refuse_audit_change();
    """,
    """
    CREATE OR REPLACE FUNCTION waymark_refuse_signoff_change() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND OLD.invalidated_at IS NULL AND NEW.invalidated_at IS NOT NULL
           AND NEW.invalidated_reason <> ''
           AND (NEW.gate_id, NEW.signer_id, NEW.decision, NEW.conditions, NEW.comment,
                NEW.signed_at, NEW.content_hash)
               IS NOT DISTINCT FROM
               (OLD.gate_id, OLD.signer_id, OLD.decision, OLD.conditions, OLD.comment,
                OLD.signed_at, OLD.content_hash)
        THEN
            RETURN NEW;  -- the one change allowed: stamping it invalidated, once
        END IF;
        RAISE EXCEPTION 'signatures are append-only (% refused)', TG_OP;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER gates_signoff_append_only BEFORE UPDATE OR DELETE ON gates_signoff
    FOR EACH ROW EXECUTE FUNCTION waymark_refuse_signoff_change();
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS gates_audit_append_only ON gates_gateauditentry;",
    "DROP FUNCTION IF EXISTS waymark_refuse_audit_change();",
    "DROP TRIGGER IF EXISTS gates_signoff_append_only ON gates_signoff;",
    "DROP FUNCTION IF EXISTS waymark_refuse_signoff_change();",
]
SQLITE = [
    """
    CREATE TRIGGER gates_audit_no_update BEFORE UPDATE ON gates_gateauditentry
    BEGIN SELECT RAISE(ABORT, 'gate audit entries are append-only (UPDATE refused)'); END;
    """,
    """
    CREATE TRIGGER gates_signoff_only_invalidated BEFORE UPDATE ON gates_signoff
    WHEN NOT (OLD.invalidated_at IS NULL AND NEW.invalidated_at IS NOT NULL
              AND NEW.invalidated_reason <> ''
              AND NEW.gate_id IS OLD.gate_id AND NEW.signer_id IS OLD.signer_id
              AND NEW.decision IS OLD.decision AND NEW.conditions IS OLD.conditions
              AND NEW.comment IS OLD.comment AND NEW.signed_at IS OLD.signed_at
              AND NEW.content_hash IS OLD.content_hash)
    BEGIN SELECT RAISE(ABORT, 'signatures are append-only (UPDATE refused)'); END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS gates_audit_no_update;",
    "DROP TRIGGER IF EXISTS gates_signoff_only_invalidated;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)  # no placeholders: % is literal

    return run


class Migration(migrations.Migration):
    dependencies = [("gates", "0004_audit_log")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
