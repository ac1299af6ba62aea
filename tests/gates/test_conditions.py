"""The conditions of a CONDITIONAL GO (gates.conditions): one action per condition line, not a
checklist item, made when the gate is decided, with an owner and a due date; changed and met
only as the policy allows, each change in the gate's trail; escalated once when overdue."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import timezone

from core.people import display_name
from gates import conditions, services, tasks
from gates.models import GateCondition
from notifications.models import Notification
from projects.models import ChecklistItem, Project
from projects.selectors import attach_variance, with_checklist_counts
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateFactory,
    MembershipFactory,
    PhaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def gate(project_a, alice, carol):
    phase = PhaseFactory(project=project_a, order=1, name="Cutover")
    ChecklistItemFactory(phase=phase, done=True, done_at=timezone.now())
    ChecklistItemFactory(phase=phase)
    gate = GateFactory(project=project_a, name="Cutover go/no-go", phase=phase)
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    gate.refresh_from_db()
    return gate


def sign(gate, user, decision="approve", **extra):
    gate.refresh_from_db()
    signoff = services.gate_sign(
        gate=gate,
        signer=user,
        decision=decision,
        password=PASSWORD,
        seen_hash=services.gate_current_hash(gate),
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
        **extra,
    )
    gate.refresh_from_db()
    return signoff


@pytest.fixture
def decided(gate, carol):
    """The gate decided CONDITIONAL GO on two conditions."""
    sign(
        gate,
        carol,
        decision="approve_with_conditions",
        conditions="Rehearse the rollback\nTell support",
    )
    return gate


def first(gate) -> GateCondition:
    return gate.conditions.order_by("order").first()


def progress(project) -> tuple:
    project = with_checklist_counts(Project.objects.filter(pk=project.pk)).get()
    attach_variance(project)
    variance = project.variance
    return (
        variance.items_done,
        variance.items_total,
        variance.percent_complete,
        variance.budget.forecast_at_completion,
    )


# Made when the gate is decided


def test_each_condition_line_becomes_an_action_and_the_plan_is_untouched(gate, carol, project_a):
    before, items = progress(project_a), ChecklistItem.objects.count()
    signoff = sign(
        gate,
        carol,
        decision="approve_with_conditions",
        conditions="- Rehearse the rollback\n\n* Freeze the schema on D-1\n2) Tell support\n  ",
    )
    assert gate.decision == "conditional_go"
    assert ChecklistItem.objects.count() == items
    assert progress(project_a) == before
    rows = list(gate.conditions.order_by("order"))
    assert [(row.order, row.text) for row in rows] == [
        (1, "Rehearse the rollback"),
        (2, "Freeze the schema on D-1"),
        (3, "Tell support"),
    ]
    assert {(row.signoff_id, row.met_at, row.escalated_at) for row in rows} == {
        (signoff.pk, None, None)
    }
    added = gate.audit_entries.filter(action="condition_added").order_by("sequence")
    assert [entry.after["text"] for entry in added] == [row.text for row in rows]
    assert services.gate_audit_verify(gate=gate)[0]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("1. Rehearse\n2. Tell support", ["Rehearse", "Tell support"]),
        ("• Rehearse\n+ Freeze\n-\n   ", ["Rehearse", "Freeze"]),
        ("1.5 GB free on the replica", ["1.5 GB free on the replica"]),
        ("-Dash without a space", ["-Dash without a space"]),
    ],
)
def test_bullets_and_numbering_are_cut_from_each_line(text, lines):
    assert conditions.condition_lines(text) == lines


def test_conditions_of_several_signatures_keep_the_order_they_were_signed(gate, carol):
    dave = UserFactory(username="dave")
    MembershipFactory(user=dave, project=gate.project, role="approver")
    GateApproverFactory(gate=gate, title="Tech Lead", user=dave, role="")
    first_signature = sign(
        gate, carol, decision="approve_with_conditions", conditions="Rehearse\nFreeze"
    )
    second_signature = sign(gate, dave, decision="approve_with_conditions", conditions="Tell")
    assert list(gate.conditions.values_list("order", "text", "signoff")) == [
        (1, "Rehearse", first_signature.pk),
        (2, "Freeze", first_signature.pk),
        (3, "Tell", second_signature.pk),
    ]


def test_the_owner_is_the_projects_first_manager_and_a_future_gate_due_date_is_kept(
    gate, carol, alice
):
    gate.due_date = timezone.localdate() + timedelta(days=30)
    gate.save()
    sign(gate, carol, decision="approve_with_conditions", conditions="Rehearse the rollback")
    condition = first(gate)
    assert (condition.owner, condition.due_date) == (alice, gate.due_date)


@pytest.mark.parametrize("gate_due_in_days", [None, 0, -3])
def test_without_a_future_gate_due_date_a_condition_is_due_two_weeks_after_the_decision(
    gate, carol, gate_due_in_days
):
    today = timezone.localdate()
    gate.due_date = None if gate_due_in_days is None else today + timedelta(gate_due_in_days)
    gate.save()
    sign(gate, carol, decision="approve_with_conditions", conditions="Rehearse the rollback")
    assert first(gate).due_date == today + timedelta(days=conditions.DAYS_TO_MEET)


def test_a_project_without_a_manager_leaves_the_condition_without_an_owner(gate, carol, project_a):
    project_a.memberships.filter(role="manager").delete()
    Project.objects.filter(pk=project_a.pk).update(manager=None)
    sign(gate, carol, decision="approve_with_conditions", conditions="Rehearse the rollback")
    assert first(gate).owner is None


@pytest.mark.parametrize(
    ("decision", "extra"),
    [("approve", {}), ("reject", {"conditions": "Rehearse the rollback"})],
)
def test_a_go_or_a_no_go_tracks_no_condition(gate, carol, decision, extra):
    sign(gate, carol, decision=decision, **extra)
    assert gate.decision in ("go", "no_go")
    assert not gate.conditions.exists()


def test_the_services_refuse_what_the_policy_does_not_allow(decided, bob, oscar, alice):
    condition = first(decided)
    with pytest.raises(services.GateRefused, match="Only a manager"):
        conditions.gate_condition_update(
            condition=condition, by=bob, owner=bob, due_date=condition.due_date
        )
    with pytest.raises(services.GateRefused, match="not a member"):
        conditions.gate_condition_update(
            condition=condition, by=alice, owner=oscar, due_date=condition.due_date
        )
    with pytest.raises(services.GateRefused, match="owner or a manager"):
        conditions.gate_condition_mark_met(condition=condition, by=bob)


def test_a_met_condition_keeps_its_owner_and_due_date(decided, alice, bob):
    condition = conditions.gate_condition_mark_met(condition=first(decided), by=alice)
    with pytest.raises(services.GateRefused, match="is met"):
        conditions.gate_condition_update(
            condition=condition, by=alice, owner=bob, due_date=condition.due_date
        )


# Escalation


def overdue(condition, days=1) -> GateCondition:
    GateCondition.objects.filter(pk=condition.pk).update(
        due_date=timezone.localdate() - timedelta(days=days)
    )
    condition.refresh_from_db()
    return condition


def test_an_overdue_condition_escalates_once_to_owner_managers_and_approvers(
    decided, alice, bob, carol
):
    condition = conditions.gate_condition_update(
        condition=first(decided), by=alice, owner=bob, due_date=first(decided).due_date
    )
    overdue(condition)
    assert tasks.gate_conditions_escalate_overdue() == 1
    assert tasks.gate_conditions_escalate_overdue() == 0

    told = Notification.objects.filter(kind="condition_overdue")
    managers = {alice.pk} | ({decided.project.manager_id} - {None})
    assert sorted(told.values_list("user_id", flat=True)) == sorted({bob.pk, carol.pk} | managers)
    notice = told.first()
    assert "Rehearse the rollback" in notice.body and display_name(bob) in notice.body
    assert notice.url.endswith(f"#condition-{condition.pk}")
    condition.refresh_from_db()
    assert condition.escalated_at is not None
    assert decided.audit_entries.filter(action="condition_escalated").count() == 1
    assert services.gate_audit_verify(gate=decided)[0]


def test_a_met_or_not_yet_due_condition_is_not_escalated(decided, alice):
    met, later = decided.conditions.order_by("order")
    conditions.gate_condition_mark_met(condition=overdue(met), by=alice)
    GateCondition.objects.filter(pk=later.pk).update(due_date=timezone.localdate())
    assert tasks.gate_conditions_escalate_overdue() == 0
    assert not Notification.objects.filter(kind="condition_overdue").exists()


def test_a_new_due_date_escalates_anew_once_it_has_passed(decided, alice):
    condition = overdue(first(decided))
    assert len(conditions.gate_conditions_escalate_overdue()) == 1
    moved = conditions.gate_condition_update(
        condition=condition,
        by=alice,
        owner=alice,
        due_date=timezone.localdate() - timedelta(days=3),
    )
    assert moved.escalated_at is None
    assert len(conditions.gate_conditions_escalate_overdue()) == 1
    assert Notification.objects.filter(user=alice, kind="condition_overdue").count() == 2


def test_the_escalation_runs_on_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "gates.tasks.gate_conditions_escalate_overdue" in tasks_scheduled
