"""A gate's record cannot be rewritten quietly: the database refuses what would rewrite it, and
what its owner does past the refusals is reported, naming the gate, by the checkpoints kept
outside the database (gates.integrity)."""

import contextlib
import hashlib
import hmac
import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gates import services, tasks
from gates.evidence import current_token
from gates.models import EvidencePack, Gate, GateAuditEntry, SignOff
from tests.factories import GateApproverFactory, GateCriterionFactory, GateFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def sign(gate, user, decision="approve"):
    return services.gate_sign(
        gate=gate,
        signer=user,
        decision=decision,
        password=PASSWORD,
        evidence_token=current_token(gate),
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
        # The runbook is not attested: approving is an override, with its reason.
        override_reason="Runbook rehearsed on Tuesday; the attestation follows",
    )


def open_gate(project, alice, carol, name="Cutover"):
    dave = UserFactory(username="dave")
    project.memberships.get_or_create(user=dave, defaults={"role": "approver"})
    gate = GateFactory(project=project, name=name)
    GateCriterionFactory(gate=gate, text="Runbook rehearsed", kind="manual")
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    GateApproverFactory(gate=gate, title="Tech Lead", user=dave, role="")
    services.gate_open(gate=gate, by=alice)
    gate.refresh_from_db()
    return gate


def decide(gate, carol):
    """Both approvers approve: the gate is decided GO; its trail is opened, signed, signed,
    decided."""
    sign(gate, carol)
    sign(gate, gate.approvers.get(title="Tech Lead").user)
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")
    return gate


@pytest.fixture
def decided_gate(project_a, alice, carol):
    return decide(open_gate(project_a, alice, carol), carol)


KEY = "a test's own audit signing key, never the portal's"


@pytest.fixture
def checkpoints(settings, tmp_path, django_capture_on_commit_callbacks):
    """A checkpoint file and key of this test's own; `checkpoints.commit()` commits as the
    portal does (running what waits for the commit: the checkpoints)."""
    settings.AUDIT_SIGNING_KEY = KEY
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.jsonl"

    class Checkpoints:
        path = settings.AUDIT_CHECKPOINT_FILE

        @staticmethod
        def commit():
            return django_capture_on_commit_callbacks(execute=True)

        def lines(self) -> list[dict]:
            return [json.loads(line) for line in self.path.read_text().splitlines()]

    return Checkpoints()


@pytest.fixture
def checkpointed_gate(project_a, alice, carol, checkpoints):
    """Cutover, decided GO, each step committed and so checkpointed."""
    with checkpoints.commit():
        gate = open_gate(project_a, alice, carol)
    with checkpoints.commit():
        sign(gate, carol)
    with checkpoints.commit():
        sign(gate, gate.approvers.get(title="Tech Lead").user)
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")
    return gate


@contextlib.contextmanager
def triggers_off():
    """What the tables' owner can do: write past every trigger of the gates' tables (on
    PostgreSQL in replica mode, as the postgres superuser; on SQLite by dropping them). Undone
    with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's rows, as if committed
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'gates_%'"
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def reported(gate, *problems):
    """The gate's verification fails with each of `problems`, and so does the command, naming
    the gate."""
    intact, message = services.gate_audit_verify(gate=gate)
    assert not intact
    for problem in problems:
        assert problem in message
    errors, failed = run("verify_gate_audit")
    assert failed == "1 gate trail(s) failed verification."
    assert errors == [f"{gate.project.code}: {gate.name}: {message}"]
    return message


def run(command, *, out="stderr"):
    """`command`'s output (`out`: stdout or stderr), a line an item, and its error if any."""
    output = io.StringIO()
    try:
        call_command(command, **{out: output})
    except CommandError as error:
        return output.getvalue().splitlines(), str(error)
    return output.getvalue().splitlines(), None


def refused(statement, match):
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        statement()


# What the database refuses


@pytest.mark.postgresql
@pytest.mark.parametrize("table", ["gates_gateauditentry", "gates_signoff", "gates_evidencepack"])
def test_truncating_the_trail_the_signatures_or_the_evidence_is_refused(decided_gate, table):
    def truncate():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's rows, as if committed
            cursor.execute(f"TRUNCATE {table} CASCADE")  # what references them goes too

    # Whichever of the tables the cascade reaches first refuses it.
    refused(truncate, r"gates_\w+ is append-only \(TRUNCATE refused\)")
    assert decided_gate.audit_entries.count() == 4 and decided_gate.signoffs.count() == 2


def test_a_decided_gates_decision_is_final(decided_gate):
    gate = Gate.objects.filter(pk=decided_gate.pk)
    for change in (
        {"decision": "no_go"},
        {"decided_at": timezone.now()},
        {"state": "open", "decision": None, "decided_at": None},
        {"state": "cancelled", "decision": None, "decided_at": None},
    ):
        refused(lambda change=change: gate.update(**change), "decision is final")
    # What is not the decision still changes, and saving the gate as it is changes nothing.
    gate.update(rollback_recommended_at=timezone.now(), rollback_reason="errors up")
    decided_gate.refresh_from_db()
    decided_gate.description = "Cut over on the night of the 14th."
    decided_gate.save()
    assert (gate.get().decision, gate.get().description) == ("go", decided_gate.description)


def test_an_undecided_gate_is_decided_as_before(project_a, alice, carol):
    gate = open_gate(project_a, alice, carol)
    Gate.objects.filter(pk=gate.pk).update(state="cancelled")
    assert Gate.objects.get(pk=gate.pk).state == "cancelled"


def test_the_audit_head_only_advances_to_the_next_entry_of_its_own_trail(
    decided_gate, project_a, alice, carol
):
    other = open_gate(project_a, alice, carol, name="Rollback drill")
    gate = Gate.objects.filter(pk=decided_gate.pk)
    entries = list(decided_gate.audit_entries.order_by("sequence"))
    for head in (
        "",  # back to the start
        entries[1].entry_hash,  # back to an older entry
        "f" * 64,  # to no entry at all
        other.audit_head,  # to another gate's entry
    ):
        refused(lambda head=head: gate.update(audit_head=head), "only moves to its next entry")
    assert gate.get().audit_head == entries[-1].entry_hash
    # The next entry, appended as the services append it, advances it.
    services.gate_definition_changed(
        gate=other, by=alice, action="approver_changed", before={}, after={"title": "DBA"}
    )
    assert services.gate_audit_verify(gate=other) == (True, "2 entries, intact.")


# Checkpoints


def test_each_commit_to_a_trail_is_checkpointed_once_authenticated_and_logged(
    project_a, alice, carol, checkpoints, caplog
):
    caplog.set_level(logging.INFO, logger="waymark.audit")
    with checkpoints.commit():
        gate = open_gate(project_a, alice, carol)
    with checkpoints.commit():
        sign(gate, carol)
        sign(gate, gate.approvers.get(title="Tech Lead").user)  # signed twice, decided
    gate.refresh_from_db()
    opened, decided = checkpoints.lines()
    assert decided == {
        "at": decided["at"],
        "database": connection.settings_dict["NAME"],
        "kind": "commit",
        "gates": [
            {
                "gate": gate.pk,
                "project": "A",
                "name": "Cutover",
                "head": gate.audit_head,
                "entries": 4,
                "state": "decided",
                "decision": "go",
                "decided_at": gate.decided_at.isoformat(),
            }
        ],
        "mac": decided["mac"],
    }
    assert (opened["gates"][0]["entries"], opened["gates"][0]["state"]) == (1, "open")
    for line in (opened, decided):
        body = {key: value for key, value in line.items() if key != "mac"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        assert line["mac"] == hmac.new(KEY.encode(), canonical, hashlib.sha256).hexdigest()
    assert checkpoints.path.stat().st_mode & 0o777 == 0o600
    logged = [r.getMessage() for r in caplog.records if r.name == "waymark.audit"]
    assert logged == [
        f"gate audit checkpoint {line}" for line in checkpoints.path.read_text().splitlines()
    ]
    assert services.gate_audit_verify(gate=gate) == (True, "4 entries, intact.")
    call_command("verify_gate_audit")


def test_nothing_is_checkpointed_for_work_rolled_back(project_a, alice, carol, checkpoints):
    gate = open_gate(project_a, alice, carol)
    with checkpoints.commit(), contextlib.suppress(RuntimeError), transaction.atomic():
        services.gate_cancel(gate=gate, by=alice, reason="Postponed")
        raise RuntimeError("rolled back")
    assert not checkpoints.path.exists()


def test_every_gate_is_checkpointed_periodically_and_on_demand(
    decided_gate, project_a, alice, carol, checkpoints
):
    opened = open_gate(project_a, alice, carol, name="Rollback drill")
    GateFactory(project=project_a, name="Draft, no trail yet")
    assert tasks.gate_audit_checkpoint() == 2
    assert run("checkpoint_gate_audit", out="stdout") == (
        [f"Checkpointed 2 gate trail(s) in {checkpoints.path}."],
        None,
    )
    by_task, by_command = checkpoints.lines()
    assert by_task["kind"] == by_command["kind"] == "full"
    assert [(g["name"], g["entries"], g["decision"]) for g in by_task["gates"]] == [
        ("Cutover", 4, "go"),
        ("Rollback drill", 1, None),
    ]
    assert by_command["gates"] == by_task["gates"]
    assert (
        services.gate_audit_verify(gate=opened)[0]
        and services.gate_audit_verify(gate=decided_gate)[0]
    )


def test_verification_takes_the_same_queries_however_long_the_trail(
    project_a, alice, carol, checkpoints
):
    def queries(gate):
        with CaptureQueriesContext(connection) as captured:
            assert services.gate_audit_verify(gate=gate)[0]
        return len(captured)

    with checkpoints.commit():
        short = open_gate(project_a, alice, carol)
    with checkpoints.commit():
        long = decide(open_gate(project_a, alice, carol, name="Long"), carol)
        for n in range(6):
            services.gate_definition_changed(
                gate=long, by=alice, action="approver_changed", before={}, after={"n": n}
            )
    assert long.audit_entries.count() == 10
    assert queries(short) == queries(long)


# The attacks, past the database's refusals


@pytest.mark.parametrize(
    "emptied_with",
    [pytest.param("TRUNCATE", marks=pytest.mark.postgresql), "DELETE FROM"],
)
def test_a_trail_and_signatures_emptied_and_a_decision_changed_are_reported(
    checkpointed_gate, checkpoints, client, alice, emptied_with
):
    gate = checkpointed_gate
    with triggers_off(), connection.cursor() as cursor:
        # TRUNCATE takes what references the tables with them, as their owner would.
        cascade = " CASCADE" if emptied_with == "TRUNCATE" else ""
        cursor.execute(f"{emptied_with} gates_gateauditentry{cascade}")
        cursor.execute(f"{emptied_with} gates_signoff{cascade}")
        cursor.execute(
            "UPDATE gates_gate SET decision = 'no_go', audit_head = '' WHERE id = %s", [gate.pk]
        )
    assert not gate.audit_entries.exists() and not gate.signoffs.exists()
    message = reported(
        gate,
        "The trail has 0 entries, but held 4 when checkpointed at",
        "entries were removed.",
        "the gate was decided GO at",
        "now it is decided NO-GO at",
    )
    client.force_login(alice)
    page = client.get(f"/gates/{gate.pk}/").content.decode()
    assert "Tampered: " in page and "Verified" not in page
    assert "entries were removed" in message


def test_a_trail_rebuilt_with_plain_sha256_is_reported_by_its_checkpoint(
    checkpointed_gate, checkpoints, settings, tmp_path
):
    gate = checkpointed_gate
    rebuilt = list(gate.audit_entries.order_by("sequence"))
    for entry in rebuilt:
        entry.pk = None
    rebuilt[-1].after = {**rebuilt[-1].after, "decision": "no_go"}
    head = services.gate_audit_seal(entries=rebuilt)  # the chain's own rule: plain SHA-256
    with triggers_off():
        GateAuditEntry.objects.filter(gate=gate).delete()
        GateAuditEntry.objects.bulk_create(rebuilt)
        Gate.objects.filter(pk=gate.pk).update(decision="no_go", audit_head=head)
    reported(
        gate,
        "Entry 4 is not the one checkpointed at",
        "the trail was rewritten.",
        "the gate was decided GO at",
    )
    # The chain itself holds: without the checkpoints the rewrite would pass.
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "none.jsonl"
    assert services.gate_audit_verify(gate=gate) == (True, "4 entries, intact.")


def test_a_changed_decision_is_refused_and_past_the_triggers_reported(
    checkpointed_gate, checkpoints
):
    gate = checkpointed_gate
    refused(lambda: Gate.objects.filter(pk=gate.pk).update(decision="no_go"), "decision is final")
    with triggers_off():
        Gate.objects.filter(pk=gate.pk).update(decision="no_go")
    reported(
        gate,
        "The gate says it is decided NO-GO at",
        "but entry 4 of its trail records it decided GO at",
        "When checkpointed at",
    )


def test_a_deleted_signature_is_reported(checkpointed_gate, checkpoints, carol):
    gate = checkpointed_gate
    signoff = gate.signoffs.get(signer=carol)
    with triggers_off():
        SignOff.objects.filter(pk=signoff.pk).delete()
    reported(
        gate,
        f"A deleted signature: entry 2 records signature #{signoff.pk}, which is no longer there.",
    )


def test_a_signature_inserted_without_its_entry_is_reported(
    project_a, alice, carol, erin, checkpoints
):
    with checkpoints.commit():
        gate = open_gate(project_a, alice, carol)
    forged = SignOff.objects.create(  # inserting is not refused: signatures are appended
        gate=gate,
        signer=erin,
        decision="approve",
        signed_at=timezone.now(),
        content_hash=services.gate_current_hash(gate),
    )
    reported(
        gate,
        f"A signature without its entry: erin's signature (#{forged.pk}) is not in the trail.",
    )


def test_a_signature_changed_past_the_triggers_is_reported(checkpointed_gate, checkpoints, carol):
    gate = checkpointed_gate
    with triggers_off():
        gate.signoffs.filter(signer=carol).update(content_hash="0" * 64)
    reported(gate, "carol's signature", "its signer or what was signed changed.")


def test_evidence_changed_past_the_triggers_is_reported(checkpointed_gate, checkpoints, carol):
    gate = checkpointed_gate
    pack = gate.signoffs.get(signer=carol).evidence
    with triggers_off():
        EvidencePack.objects.filter(pk=pack.pk).update(
            content={**pack.content, "recommendation": "go"}
        )
    reported(gate, "carol's signature", "the evidence it was given on was changed after signing.")


def test_a_tampered_checkpoint_line_is_reported(checkpointed_gate, checkpoints):
    gate = checkpointed_gate
    lines = checkpoints.path.read_text().splitlines()
    lines[1] = lines[1].replace('"entries":2', '"entries":1')  # the MAC left as it was
    checkpoints.path.write_text("\n".join(lines) + "\n")
    reported(
        gate,
        "Checkpoint line 2 for this gate fails its authentication: the checkpoint file was "
        "tampered with.",
    )


@pytest.mark.parametrize("line", ["not a checkpoint at all", "a checkpoint naming no gate"])
def test_a_line_that_is_no_checkpoint_is_reported_by_the_command(
    checkpointed_gate, checkpoints, line
):
    if line == "a checkpoint naming no gate":
        database = connection.settings_dict["NAME"]
        line = json.dumps({"at": "", "database": database, "gates": [], "mac": ""})
    with checkpoints.path.open("a") as file:
        file.write(line + "\n")
    assert services.gate_audit_verify(gate=checkpointed_gate)[0]
    assert run("verify_gate_audit") == (
        [
            f"Checkpoint line 4 of {checkpoints.path} is not a checkpoint this portal wrote "
            "(unreadable, or failing its authentication): the checkpoint file was tampered with."
        ],
        "1 problem(s) with the checkpoints.",
    )


def test_a_checkpoint_signed_with_another_key_does_not_authenticate(
    checkpointed_gate, checkpoints, settings
):
    settings.AUDIT_SIGNING_KEY = "another key altogether"
    intact, message = services.gate_audit_verify(gate=checkpointed_gate)
    assert not intact
    assert message.count("fails its authentication") == 3


def test_a_gate_removed_with_its_trail_is_reported_by_the_command(
    checkpointed_gate, project_a, alice, carol, checkpoints
):
    with checkpoints.commit():
        drill = open_gate(project_a, alice, carol, name="Rollback drill")
    with triggers_off():
        GateAuditEntry.objects.filter(gate=drill).delete()
        Gate.objects.filter(pk=drill.pk).delete()
    errors, failed = run("verify_gate_audit")
    assert failed == "1 problem(s) with the checkpoints."
    assert len(errors) == 1
    assert errors[0].startswith(f"A: Rollback drill (gate #{drill.pk}) no longer exists;")


def test_checkpoints_of_another_database_are_not_held_against_this_one(
    checkpointed_gate, checkpoints
):
    lines = checkpoints.lines()
    other = {**lines[-1], "database": "waymark_restored_elsewhere"}
    other["gates"] = [{**other["gates"][0], "entries": 9, "head": "e" * 64}]
    body = {key: value for key, value in other.items() if key != "mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    other["mac"] = hmac.new(KEY.encode(), canonical, hashlib.sha256).hexdigest()
    with checkpoints.path.open("a") as file:
        file.write(json.dumps(other) + "\n")
    assert services.gate_audit_verify(gate=checkpointed_gate) == (True, "4 entries, intact.")
