"""The signature trigger protects the new on_behalf_of column too."""

from django.db import migrations

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION waymark_refuse_signoff_change() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND OLD.invalidated_at IS NULL AND NEW.invalidated_at IS NOT NULL
           AND NEW.invalidated_reason <> ''
           AND (NEW.gate_id, NEW.signer_id, NEW.decision, NEW.conditions, NEW.comment,
                NEW.signed_at, NEW.content_hash, NEW.on_behalf_of_id)
               IS NOT DISTINCT FROM
               (OLD.gate_id, OLD.signer_id, OLD.decision, OLD.conditions, OLD.comment,
                OLD.signed_at, OLD.content_hash, OLD.on_behalf_of_id)
        THEN
            RETURN NEW;  -- the one change allowed: stamping it invalidated, once
        END IF;
        RAISE EXCEPTION 'signatures are append-only (% refused)', TG_OP;
    END;
    $$ LANGUAGE plpgsql;
    """,
]
SQLITE = [
    "DROP TRIGGER IF EXISTS gates_signoff_only_invalidated;",
    """
    CREATE TRIGGER gates_signoff_only_invalidated BEFORE UPDATE ON gates_signoff
    WHEN NOT (OLD.invalidated_at IS NULL AND NEW.invalidated_at IS NOT NULL
              AND NEW.invalidated_reason <> ''
              AND NEW.gate_id IS OLD.gate_id AND NEW.signer_id IS OLD.signer_id
              AND NEW.decision IS OLD.decision AND NEW.conditions IS OLD.conditions
              AND NEW.comment IS OLD.comment AND NEW.signed_at IS OLD.signed_at
              AND NEW.content_hash IS OLD.content_hash
              AND NEW.on_behalf_of_id IS OLD.on_behalf_of_id)
    BEGIN SELECT RAISE(ABORT, 'signatures are append-only (UPDATE refused)'); END;
    """,
]


def run(apps, schema_editor):
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)  # no placeholders: % is literal


class Migration(migrations.Migration):
    dependencies = [("gates", "0009_delegation")]

    operations = [migrations.RunPython(run, migrations.RunPython.noop)]
