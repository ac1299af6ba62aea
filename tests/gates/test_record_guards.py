"""A gate's record cannot be rewritten quietly: the database refuses what would rewrite it, and
what its owner does past the refusals is reported, naming the gate."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from gates import services
from gates.models import Gate
from tests.factories import GateApproverFactory, GateCriterionFactory, GateFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def sign(gate, user, decision="approve"):
    return services.gate_sign(
        gate=gate,
        signer=user,
        decision=decision,
        password=PASSWORD,
        seen_hash=services.gate_current_hash(gate),
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
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


def refused(statement, match):
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        statement()


# What the database refuses


@pytest.mark.postgresql
@pytest.mark.parametrize("table", ["gates_gateauditentry", "gates_signoff"])
def test_truncating_the_trail_or_the_signatures_is_refused(decided_gate, table):
    def truncate():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's rows, as if committed
            cursor.execute(f"TRUNCATE {table}")

    refused(truncate, rf"{table} is append-only \(TRUNCATE refused\)")
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
