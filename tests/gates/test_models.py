import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    PhaseFactory,
    SignOffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_one_valid_sign_off_per_approver_and_gate():
    first = SignOffFactory()
    refused(lambda: SignOffFactory(gate=first.gate, signer=first.signer, decision="reject"))


def test_an_invalidated_sign_off_makes_room_for_a_new_one():
    first = SignOffFactory()
    first.invalidated_at, first.invalidated_reason = timezone.now(), "Criteria changed"
    first.save()
    assert SignOffFactory(gate=first.gate, signer=first.signer)


def test_invalidation_says_why():
    refused(lambda: SignOffFactory(invalidated_at=timezone.now(), invalidated_reason=""))


def test_conditional_approval_states_its_conditions():
    refused(lambda: SignOffFactory(decision="approve_with_conditions", conditions=""))
    assert SignOffFactory(decision="approve_with_conditions", conditions="Rollback rehearsed")


def test_the_signed_hash_is_a_sha256_hex_digest():
    refused(lambda: SignOffFactory(content_hash="not-a-hash"))


def test_rollout_percentage_belongs_to_rollout_stages_only():
    assert GateFactory(kind="rollout_stage", rollout_percent=25)
    refused(lambda: GateFactory(kind="rollout_stage", rollout_percent=None))
    refused(lambda: GateFactory(kind="rollout_stage", rollout_percent=101))
    refused(lambda: GateFactory(kind="go_no_go", rollout_percent=5))


def test_a_decision_exists_exactly_when_the_gate_is_decided():
    refused(lambda: GateFactory(state="decided"))
    refused(lambda: GateFactory(state="open", decision="go", decided_at=timezone.now()))
    assert GateFactory(state="decided", decision="no_go", decided_at=timezone.now())


def test_quorum_rule_needs_a_quorum():
    refused(lambda: GateFactory(decision_rule="quorum", quorum=None))
    refused(lambda: GateFactory(decision_rule="all", quorum=2))
    assert GateFactory(decision_rule="quorum", quorum=2)


def test_kpi_bound_criterion_names_its_kpi_and_condition():
    gate = GateFactory()
    kpi = KPIFactory(project=gate.project)
    refused(lambda: GateCriterionFactory(gate=gate, kind="kpi", kpi=None))
    refused(lambda: GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator=None))
    refused(
        lambda: GateCriterionFactory(
            gate=gate, kind="manual", kpi=kpi, comparator="lt", threshold=1
        )
    )
    assert GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="lt", threshold=500)


def test_checklist_criterion_names_its_phase():
    gate = GateFactory()
    refused(lambda: GateCriterionFactory(gate=gate, kind="checklist", phase=None))
    assert GateCriterionFactory(
        gate=gate, kind="checklist", phase=PhaseFactory(project=gate.project)
    )


def test_an_approver_is_a_user_or_a_role_and_a_user_appears_once_per_gate():
    refused(lambda: GateApproverFactory(user=None, role=""))
    user = UserFactory()
    approver = GateApproverFactory(user=user, role="")
    refused(lambda: GateApproverFactory(gate=approver.gate, user=user, role=""))
