"""The gate's record is guarded in the database too.

Audit entries, signatures and evidence cannot be emptied with TRUNCATE on PostgreSQL (SQLite has no
TRUNCATE; its DELETE, which Django's test runner needs, stays open as 0005 says). A decided
gate keeps its state, decision and time of decision. A gate's audit head only advances: to the
entry of its own trail that follows the head it had ('' is the genesis, 64 zeros), so a trail
written elsewhere (an imported project) advances it one entry at a time.
"""

from django.db import migrations

# The genesis hash a gate's first audit entry follows is 64 zeros, written out in the SQL.

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION waymark_refuse_truncate() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER gates_audit_no_truncate BEFORE TRUNCATE ON gates_gateauditentry
    FOR EACH STATEMENT EXECUTE FUNCTION waymark_refuse_truncate();
    """,
    """
    CREATE TRIGGER gates_signoff_no_truncate BEFORE TRUNCATE ON gates_signoff
    FOR EACH STATEMENT EXECUTE FUNCTION waymark_refuse_truncate();
    """,
    """
    CREATE TRIGGER gates_evidence_no_truncate BEFORE TRUNCATE ON gates_evidencepack
    FOR EACH STATEMENT EXECUTE FUNCTION waymark_refuse_truncate();
    """,
    """
    CREATE OR REPLACE FUNCTION waymark_refuse_decision_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'a decided gate''s decision is final (UPDATE refused)';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER gates_gate_decision_final BEFORE UPDATE ON gates_gate
    FOR EACH ROW
    WHEN (OLD.state = 'decided'
          AND (NEW.state, NEW.decision, NEW.decided_at)
              IS DISTINCT FROM (OLD.state, OLD.decision, OLD.decided_at))
    EXECUTE FUNCTION waymark_refuse_decision_change();
    """,
    """
    CREATE OR REPLACE FUNCTION waymark_refuse_head_jump() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM gates_gateauditentry e
            WHERE e.gate_id = OLD.id AND e.entry_hash = NEW.audit_head
              AND e.previous_hash = COALESCE(NULLIF(OLD.audit_head, ''), '0000000000000000000000000000000000000000000000000000000000000000')
        ) THEN
            RETURN NEW;  -- the one change allowed: to the entry that follows the head
        END IF;
        RAISE EXCEPTION 'a gate''s audit head only moves to its next entry (UPDATE refused)';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER gates_gate_head_advances BEFORE UPDATE OF audit_head ON gates_gate
    FOR EACH ROW WHEN (NEW.audit_head IS DISTINCT FROM OLD.audit_head)
    EXECUTE FUNCTION waymark_refuse_head_jump();
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS gates_gate_head_advances ON gates_gate;",
    "DROP FUNCTION IF EXISTS waymark_refuse_head_jump();",
    "DROP TRIGGER IF EXISTS gates_gate_decision_final ON gates_gate;",
    "DROP FUNCTION IF EXISTS waymark_refuse_decision_change();",
    "DROP TRIGGER IF EXISTS gates_evidence_no_truncate ON gates_evidencepack;",
    "DROP TRIGGER IF EXISTS gates_signoff_no_truncate ON gates_signoff;",
    "DROP TRIGGER IF EXISTS gates_audit_no_truncate ON gates_gateauditentry;",
    "DROP FUNCTION IF EXISTS waymark_refuse_truncate();",
]
SQLITE = [
    """
    CREATE TRIGGER gates_gate_decision_final BEFORE UPDATE ON gates_gate
    WHEN OLD.state = 'decided'
         AND NOT (NEW.state IS OLD.state AND NEW.decision IS OLD.decision
                  AND NEW.decided_at IS OLD.decided_at)
    BEGIN SELECT RAISE(ABORT, 'a decided gate''s decision is final (UPDATE refused)'); END;
    """,
    """
    CREATE TRIGGER gates_gate_head_advances BEFORE UPDATE OF audit_head ON gates_gate
    WHEN NEW.audit_head IS NOT OLD.audit_head
         AND NOT EXISTS (
             SELECT 1 FROM gates_gateauditentry e
             WHERE e.gate_id = OLD.id AND e.entry_hash = NEW.audit_head
               AND e.previous_hash = CASE WHEN OLD.audit_head = '' THEN '0000000000000000000000000000000000000000000000000000000000000000'
                                          ELSE OLD.audit_head END)
    BEGIN
        SELECT RAISE(ABORT, 'a gate''s audit head only moves to its next entry (UPDATE refused)');
    END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS gates_gate_head_advances;",
    "DROP TRIGGER IF EXISTS gates_gate_decision_final;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)  # no placeholders: % is literal

    return run


class Migration(migrations.Migration):
    dependencies = [("gates", "0013_evidence_overrides")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
