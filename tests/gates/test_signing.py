"""Signing a gate: who may, on what, with what proof; deciding once; an append-only trail."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from core.people import display_name
from gates import services
from gates.evaluation import Result, evaluate_gate
from gates.evidence import current_token
from gates.models import GateAuditEntry, SignOff
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    PhaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def gate(project_a, alice, carol):
    dave = UserFactory(username="dave")
    project_a.memberships.create(user=dave, role="approver")
    gate = GateFactory(project=project_a, name="Cutover go/no-go", kind="go_no_go")
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420)
    GateCriterionFactory(
        gate=gate, order=1, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    GateApproverFactory(gate=gate, title="Tech Lead", user=dave, role="")
    services.gate_open(gate=gate, by=alice)
    gate.refresh_from_db()
    return gate


def sign(gate, user, decision="approve", password=PASSWORD, **extra):
    return services.gate_sign(
        gate=gate,
        signer=user,
        decision=decision,
        password=password,
        evidence_token=extra.pop(
            "evidence_token", "" if "seen_hash" in extra else current_token(gate)
        ),
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
        **extra,
    )


def test_criteria_are_judged_on_the_evidence(project_a, alice):
    gate = GateFactory(project=project_a)
    slow, fast, silent = (KPIFactory(project=project_a) for _ in range(3))
    MeasurementFactory(kpi=slow, value=700)
    MeasurementFactory(kpi=fast, value=300)
    phase = PhaseFactory(project=project_a, order=1, name="Foundation")
    ChecklistItemFactory(phase=phase, done=True, done_at=timezone.now())
    ChecklistItemFactory(phase=phase)
    for kpi in (slow, fast, silent):
        GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="lt", threshold=500)
    GateCriterionFactory(gate=gate, kind="checklist", phase=phase, critical=False)
    attested = GateCriterionFactory(
        gate=gate,
        kind="manual",
        text="Runbook written",
        attested_by=alice,
        attested_at=timezone.now(),
    )
    evaluation = evaluate_gate(gate)
    assert [c.result for c in evaluation.criteria] == [
        Result.NOT_MET,
        Result.MET,
        Result.INCONCLUSIVE,
        Result.NOT_MET,
        Result.MET,
    ]
    assert (
        "= 700" in evaluation.criteria[0].evidence
        and "needs below 500" in evaluation.criteria[0].evidence
    )
    assert evaluation.criteria[3].evidence == "Foundation: 1 of 2 checklist items done"
    assert attested.pk == evaluation.criteria[4].criterion_id
    assert evaluation.recommendation == "no_go"


def test_only_non_critical_failures_recommend_conditional_go(project_a):
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="manual", critical=False)
    assert evaluate_gate(gate).recommendation == "conditional_go"


def test_all_approvals_decide_go_once_with_a_complete_trail(gate, carol):
    dave = gate.approvers.get(title="Tech Lead").user
    sign(gate, carol)
    gate.refresh_from_db()
    assert gate.state == "open"
    sign(gate, dave)
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")
    actions = list(gate.audit_entries.values_list("action", flat=True))
    assert actions == ["opened", "signed", "signed", "decided"]
    assert services.gate_audit_verify(gate=gate) == (True, "4 entries, intact.")


def test_a_reject_under_rule_all_decides_no_go(gate, carol):
    sign(gate, carol, decision="reject", comment="Rollback not rehearsed")
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "no_go")


def test_approval_with_conditions_decides_conditional_go(gate, carol):
    dave = gate.approvers.get(title="Tech Lead").user
    sign(gate, carol, decision="approve_with_conditions", conditions="Rehearse rollback first")
    sign(gate, dave)
    gate.refresh_from_db()
    assert gate.decision == "conditional_go"
    assert gate.audit_entries.get(action="decided").after["conditions"] == [
        "Rehearse rollback first"
    ]


@pytest.mark.parametrize(
    ("who", "kwargs", "message"),
    [
        ("alice", {}, "not a required approver"),
        ("carol", {"password": "wrong"}, "password is not correct"),
        ("carol", {"decision": "approve_with_conditions"}, "needs the conditions"),
        ("carol", {"seen_hash": "0" * 64}, "evidence changed since it was read"),
    ],
)
def test_refused_signatures_change_nothing(gate, request, who, kwargs, message):
    with pytest.raises(services.GateRefused, match=message):
        sign(gate, request.getfixturevalue(who), **kwargs)
    assert not SignOff.objects.exists()
    assert list(gate.audit_entries.values_list("action", flat=True)) == ["opened"]


def test_one_signature_per_approver(gate, carol):
    sign(gate, carol)
    with pytest.raises(services.GateRefused, match="already signed"):
        sign(gate, carol)
    assert SignOff.objects.filter(signer=carol).count() == 1


def test_draft_cancelled_and_decided_gates_take_no_signatures(project_a, carol, alice):
    draft = GateFactory(project=project_a)
    GateApproverFactory(gate=draft, user=carol, role="")
    with pytest.raises(services.GateRefused, match="draft"):
        sign(draft, carol)
    services.gate_open(gate=draft, by=alice)
    services.gate_cancel(gate=draft, by=alice, reason="Plan changed")
    with pytest.raises(services.GateRefused, match="cancelled"):
        sign(draft, carol)
    with pytest.raises(services.GateRefused, match="cannot be cancelled"):
        services.gate_cancel(gate=draft, by=alice, reason="again")


def test_a_change_invalidates_signatures_visibly_and_they_can_sign_again(gate, carol, alice):
    first = sign(gate, carol)
    assert (
        services.gate_signatures_invalidate(
            gate=gate, by=alice, reason="Threshold lowered to 400 ms"
        )
        == 1
    )
    first.refresh_from_db()
    assert first.invalidated_at and first.invalidated_reason == "Threshold lowered to 400 ms"
    assert sign(gate, carol).pk != first.pk
    assert services.gate_audit_verify(gate=gate)[0]


def test_a_signature_copied_onto_another_gate_fails_verification(gate, carol, project_a):
    genuine = sign(gate, carol)
    assert services.signoff_verify(genuine)
    other = GateFactory(project=project_a)
    copy = SignOff.objects.create(
        gate=other,
        signer=carol,
        decision="approve",
        signed_at=genuine.signed_at,
        content_hash=genuine.content_hash,
    )
    assert not services.signoff_verify(copy)


def test_signatures_and_audit_entries_are_append_only_in_the_database(gate, carol):
    signoff = sign(gate, carol)
    entry = gate.audit_entries.first()
    refused = [
        lambda: GateAuditEntry.objects.filter(pk=entry.pk).update(action="decided"),
        lambda: SignOff.objects.filter(pk=signoff.pk).update(decision="reject"),
        lambda: SignOff.objects.filter(pk=signoff.pk).update(
            invalidated_at=timezone.now(), invalidated_reason="x", comment="rewritten"
        ),
    ]
    if connection.vendor == "postgresql":  # SQLite's test runner needs DELETE (see 0005)
        refused += [
            lambda: GateAuditEntry.objects.filter(pk=entry.pk).delete(),
            lambda: SignOff.objects.filter(pk=signoff.pk).delete(),
        ]
    for statement in refused:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement()


def _without_audit_triggers(sql, params):
    """Run `sql` as someone with direct database access would, past the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As a database superuser could: replica mode skips the triggers.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER gates_audit_no_update")  # rolled back with the test
            cursor.execute(sql, params)


def test_the_chain_shows_a_tampered_entry(gate, carol):
    sign(gate, carol)
    entry = gate.audit_entries.get(action="signed")
    _without_audit_triggers(
        "UPDATE gates_gateauditentry SET after = %s WHERE id = %s",
        ['{"decision": "reject"}', entry.pk],
    )
    assert services.gate_audit_verify(gate=gate) == (
        False,
        "Entry 2 was changed after it was written.",
    )


def test_the_chain_shows_a_missing_entry(gate, carol):
    sign(gate, carol)
    entry = gate.audit_entries.get(action="opened")
    _without_audit_triggers("DELETE FROM gates_gateauditentry WHERE id = %s", [entry.pk])
    assert services.gate_audit_verify(gate=gate) == (False, "Entry 1 is missing.")


@pytest.mark.django_db(transaction=True)
def test_two_approvers_signing_at_once_decide_the_gate_once(gate, carol):
    dave = gate.approvers.get(title="Tech Lead").user
    seen = current_token(gate)
    barrier, errors = threading.Barrier(3), []

    def sign_as(user):
        barrier.wait()
        try:
            sign(gate, user, evidence_token=seen)
        except services.GateRefused as error:
            errors.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_as, args=[u]) for u in (carol, dave, carol)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.refresh_from_db()
    # Carol's second submission is refused: already signed, or the gate already decided.
    assert len(errors) == 1
    assert "already signed" in errors[0] or "is decided" in errors[0]
    assert SignOff.objects.filter(gate=gate).count() == 2
    assert (gate.state, gate.decision) == ("decided", "go")
    assert gate.audit_entries.filter(action="decided").count() == 1
    assert services.gate_audit_verify(gate=gate)[0]


@pytest.mark.django_db(transaction=True)
def test_no_signature_lands_on_a_snapshot_that_changed_underneath(gate, carol):
    seen = current_token(gate)
    kpi = gate.criteria.get().kpi
    MeasurementFactory(kpi=kpi, value=650, at=timezone.now() + timedelta(seconds=1))
    with pytest.raises(services.GateRefused, match="“p95 < 500 ms” is now Not met"):
        sign(gate, carol, evidence_token=seen)
    assert not SignOff.objects.exists()


def test_the_verify_command_reports_a_broken_trail(gate, carol):
    from django.core.management import CommandError, call_command

    sign(gate, carol)
    call_command("verify_gate_audit")
    entry = gate.audit_entries.get(action="signed")
    _without_audit_triggers("DELETE FROM gates_gateauditentry WHERE id = %s", [entry.pk])
    with pytest.raises(CommandError, match="1 gate trail"):
        call_command("verify_gate_audit")


def test_wrong_signing_passwords_count_towards_the_login_lockout(gate, carol, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        with pytest.raises(services.GateRefused):
            sign(gate, carol, password="wrong")
    response = client.post(
        "/login/", {"username": "carol", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1"
    )
    assert response.status_code != 302  # locked out, even with the right password now
    assert "_auth_user_id" not in client.session


def test_a_live_stage_whose_rollback_trigger_fails_is_marked_once_and_cleared(
    project_a, alice, carol
):
    kpi = KPIFactory(project=project_a, name="API error rate", unit="%")
    MeasurementFactory(kpi=kpi, value=0.4, at=timezone.now() - timedelta(minutes=5))
    stage = GateFactory(
        project=project_a, name="Rollout 5%", kind="rollout_stage", rollout_percent=5
    )
    GateCriterionFactory(
        gate=stage,
        text="Error rate ≤ 1%",
        kind="kpi",
        kpi=kpi,
        comparator="lte",
        threshold=1,
        rollback=True,
    )
    GateApproverFactory(gate=stage, user=carol, role="")
    services.gate_open(gate=stage, by=alice)
    sign(stage, carol)
    stage.refresh_from_db()
    assert stage.decision == "go" and services.rollout_watch() == []
    # A failing trigger counts once it holds for the two readings its KPI confirms with.
    MeasurementFactory(kpi=kpi, value=2.5, at=timezone.now() - timedelta(seconds=1))
    assert services.rollout_watch() == []
    MeasurementFactory(kpi=kpi, value=2.5, at=timezone.now())
    (marked,) = services.rollout_watch()
    assert marked.pk == stage.pk and services.rollout_watch() == []
    stage.refresh_from_db()
    assert stage.rollback_recommended_at and "API error rate = 2.5 %" in stage.rollback_reason
    assert carol.notifications.filter(kind="rollback_recommended").count() == 1
    MeasurementFactory(kpi=kpi, value=0.3, at=timezone.now() + timedelta(seconds=5))
    services.rollout_watch()
    stage.refresh_from_db()
    assert stage.rollback_recommended_at  # one good value does not clear it yet
    MeasurementFactory(kpi=kpi, value=0.2, at=timezone.now() + timedelta(seconds=6))
    services.rollout_watch()
    stage.refresh_from_db()
    assert stage.rollback_recommended_at is None
    assert services.gate_audit_verify(gate=stage)[0]


def test_a_rollback_trigger_swinging_across_its_threshold_recommends_nothing(
    project_a, alice, carol
):
    kpi = KPIFactory(project=project_a, name="API error rate", unit="%")
    start = timezone.now() - timedelta(minutes=10)
    MeasurementFactory(kpi=kpi, value=0.4, at=start)
    stage = GateFactory(
        project=project_a, name="Rollout 5%", kind="rollout_stage", rollout_percent=5
    )
    GateCriterionFactory(
        gate=stage, kind="kpi", kpi=kpi, comparator="lte", threshold=1, rollback=True
    )
    GateApproverFactory(gate=stage, user=carol, role="")
    services.gate_open(gate=stage, by=alice)
    sign(stage, carol)
    for minute, value in enumerate([2.5, 0.3, 2.6, 0.2, 2.7], start=1):
        MeasurementFactory(kpi=kpi, value=value, at=start + timedelta(minutes=minute))
        assert services.rollout_watch() == []
    stage.refresh_from_db()
    assert stage.rollback_recommended_at is None
    assert not carol.notifications.filter(kind="rollback_recommended").exists()
    assert not stage.audit_entries.filter(action="rollback_recommended").exists()


def test_a_delegate_signs_for_the_approver_within_the_period(gate, carol, victor, alice):
    dave = gate.approvers.get(title="Tech Lead").user
    until = timezone.now() + timedelta(days=2)
    services.gate_delegate(gate=gate, delegator=carol, delegate=victor, until=until, by=carol)
    signoff = sign(gate, victor)
    assert signoff.on_behalf_of == carol
    with pytest.raises(services.GateRefused, match=f"{display_name(carol)} has already signed"):
        sign(gate, carol)
    sign(gate, dave)
    gate.refresh_from_db()
    assert gate.decision == "go"
    actions = list(gate.audit_entries.values_list("action", flat=True))
    assert actions == ["opened", "delegated", "signed", "signed", "decided"]


def test_an_expired_delegation_or_a_non_approver_delegating_is_refused(gate, carol, victor, alice):
    with pytest.raises(services.GateRefused, match="Only a required approver"):
        services.gate_delegate(
            gate=gate,
            delegator=alice,
            delegate=victor,
            until=timezone.now() + timedelta(days=1),
            by=alice,
        )
    delegation = services.gate_delegate(
        gate=gate,
        delegator=carol,
        delegate=victor,
        until=timezone.now() + timedelta(days=1),
        by=carol,
    )
    type(delegation).objects.filter(pk=delegation.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(services.GateRefused, match="not a required approver"):
        sign(gate, victor)


@pytest.mark.django_db(transaction=True)
def test_the_deciding_signature_racing_a_criterion_change(project_a, alice, carol):
    gate = GateFactory(project=project_a, decision_rule="any")
    criterion = GateCriterionFactory(gate=gate, kind="manual", critical=False, text="Runbook ready")
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    seen = current_token(gate)
    seen_hash = services.gate_current_hash(gate)
    barrier, outcome = threading.Barrier(2), {}

    def deciding_signature():
        barrier.wait()
        try:
            sign(gate, carol, evidence_token=seen)
            outcome["signed"] = True
        except services.GateRefused as refused:
            outcome["refused"] = str(refused)
        finally:
            connection.close()

    def criterion_change():
        barrier.wait()
        try:
            type(criterion).objects.filter(pk=criterion.pk).update(text="Runbook rehearsed")
            services.gate_definition_changed(
                gate=gate, by=alice, action="criterion_changed", before={}, after={"text": "x"}
            )
        finally:
            connection.close()

    threads = [
        threading.Thread(target=deciding_signature),
        threading.Thread(target=criterion_change),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.refresh_from_db()
    entries = list(gate.audit_entries.order_by("sequence").values_list("action", flat=True))
    if outcome.get("signed"):
        # Signed on the old snapshot, before the change: decided then, and the later change
        # touched a decided gate only.
        assert gate.state == "decided" and entries.index("decided") < entries.index(
            "criterion_changed"
        )
        assert SignOff.objects.get(gate=gate).content_hash == seen_hash
    else:
        assert "the gate's definition changed" in outcome["refused"]
        assert gate.state == "open" and not SignOff.objects.filter(gate=gate).exists()
    assert services.gate_audit_verify(gate=gate)[0]


def test_a_value_in_the_conditional_band_recommends_conditional_go(project_a):
    gate = GateFactory(project=project_a)
    kpi = KPIFactory(project=project_a, name="API error rate", unit="%")
    MeasurementFactory(kpi=kpi, value=1.2)
    GateCriterionFactory(
        gate=gate, kind="kpi", kpi=kpi, comparator="lte", threshold=1, conditional_limit=1.5
    )
    (criterion,) = evaluate_gate(gate).criteria
    assert (
        criterion.result == Result.CONDITIONAL
        and "conditional band up to 1.5" in criterion.evidence
    )
    assert evaluate_gate(gate).recommendation == "conditional_go"
    MeasurementFactory(kpi=kpi, value=2, at=timezone.now() + timedelta(seconds=1))
    assert evaluate_gate(gate).recommendation == "no_go"
