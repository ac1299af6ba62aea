"""Random sequences of everything people can do to a gate never reach an illegal state."""

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates import services
from gates.evidence import current_token
from gates.models import AuditAction, GateState, SignOff
from tests.factories import GateApproverFactory, GateCriterionFactory, GateFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
ACTIONS = st.sampled_from(
    [
        "open",
        "cancel",
        "carol approves",
        "carol rejects",
        "dave approves",
        "dave approves with conditions",
        "alice signs",
        "criteria change",
    ]
)


def act(action, gate, users):
    request = RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1")
    if action == "open":
        services.gate_open(gate=gate, by=users["alice"])
    elif action == "cancel":
        services.gate_cancel(gate=gate, by=users["alice"], reason="Re-planned")
    elif action == "criteria change":
        services.gate_definition_changed(
            gate=gate,
            by=users["alice"],
            action=AuditAction.CRITERION_CHANGED,
            before={},
            after={"x": 1},
        )
    else:
        who, _, what = action.partition(" ")
        decision = {"approves": "approve", "rejects": "reject", "signs": "approve"}.get(
            what, "approve_with_conditions"
        )
        services.gate_sign(
            gate=gate,
            signer=users[who],
            decision=decision,
            password=PASSWORD,
            evidence_token=current_token(gate),
            request=request,
            conditions="Rehearse rollback" if decision == "approve_with_conditions" else "",
        )


def check_invariants(gate, history):
    gate.refresh_from_db()
    entries = list(gate.audit_entries.order_by("sequence").values_list("action", "after"))
    decided = [after for action, after in entries if action == AuditAction.DECIDED]
    assert len(decided) <= 1
    if gate.state == GateState.DECIDED:
        assert gate.decision and gate.decided_at and decided[0]["decision"] == gate.decision
    else:
        assert gate.decision is None and not decided
    # Once decided or cancelled, nothing moves it: no signing, reopening or second decision.
    finals = [i for i, (action, _) in enumerate(entries) if action in ("decided", "cancelled")]
    if finals:
        later = [action for action, _ in entries[finals[0] + 1 :]]
        assert not {"signed", "opened", "decided", "cancelled"} & set(later), later
    # Signatures only on an open gate, one valid per approver, never by a non-approver.
    opened = [i for i, (action, _) in enumerate(entries) if action == "opened"]
    for i, (action, _) in enumerate(entries):
        if action == "signed":
            assert opened and opened[0] < i
    valid = SignOff.objects.filter(gate=gate, invalidated_at__isnull=True)
    assert valid.values("signer").distinct().count() == valid.count()
    assert not SignOff.objects.filter(gate=gate, signer__username="alice").exists()
    assert services.gate_audit_verify(gate=gate)[0], history


@pytest.fixture
def dave(project_a):
    dave = UserFactory(username="dave")
    project_a.memberships.create(user=dave, role="approver")
    return dave


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(ACTIONS, max_size=10))
def test_no_sequence_of_actions_reaches_an_illegal_state(actions, project_a, alice, carol, dave):
    users = {"alice": alice, "carol": carol, "dave": dave}
    gate = GateFactory(project=project_a, decision_rule="all")
    GateCriterionFactory(gate=gate, kind="manual", critical=False)
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    GateApproverFactory(gate=gate, title="Tech Lead", user=dave, role="")
    history = []
    for action in actions:
        try:
            act(action, gate, users)
            history.append(action)
        except services.GateRefused as refused:
            history.append(f"{action} (refused: {refused})")
        check_invariants(gate, history)
