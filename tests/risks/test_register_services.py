"""Keys, mitigation, escalation and notification."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.versioning import StaleEdit
from notifications.models import Notification, NotificationMute
from risks import services
from risks.models import Risk, RiskEscalation

pytestmark = pytest.mark.django_db


def make_risk(project, *, by=None, hours_ago=48, **fields):
    defaults = {"title": "Slow queries", "likelihood": 4, "impact": 4}
    return services.risk_create(
        project=project,
        by=by,
        assessed_at=timezone.now() - timedelta(hours=hours_ago),
        **{**defaults, **fields},
    )


def test_keys_are_given_in_turn_and_never_reused(project_a):
    first, second = make_risk(project_a), make_risk(project_a)
    assert (first.key, second.key) == ("R1", "R2")
    second.delete()
    assert make_risk(project_a).key == "R3"


def test_a_claimed_key_moves_the_sequence_past_it(project_a):
    make_risk(project_a, key="R12")
    assert make_risk(project_a).key == "R13"


def test_a_register_loaded_before_keys_were_counted_continues_after_its_highest(project_a):
    Risk.objects.create(project=project_a, key="R7", title="Old", likelihood=1, impact=1)
    assert make_risk(project_a).key == "R8"


def test_a_done_action_lowers_the_residual_position_only(project_a):
    from risks import selectors

    risk = make_risk(project_a, likelihood=4, impact=5)
    action = services.mitigation_action_create(
        risk=risk, by=None, title="Automated rollback", reduces_likelihood_to=2
    )
    register = selectors.risk_register(
        projects=project_a.__class__.objects.filter(pk=project_a.pk),
        filters=selectors.RegisterFilters(),
    )
    assert (register.get().residual_likelihood, register.get().residual_impact) == (4, 5)
    services.mitigation_action_set_done(action=action, done=True, by=None)
    row = register.get()
    assert (row.likelihood, row.residual_likelihood, row.residual_impact) == (4, 2, 5)
    heatmap = selectors.risk_heatmap(projects=project_a.__class__.objects.all(), residual=True)
    assert heatmap.counts[1][4] == 1


def test_each_projects_heatmap_counts_as_the_register_does_in_one_query(
    project_a, project_b, django_assert_num_queries
):
    from projects.models import Project
    from risks import selectors

    make_risk(project_a, likelihood=5, impact=5)
    make_risk(project_a, likelihood=5, impact=5)
    make_risk(project_a, likelihood=2, impact=3, status="closed")  # resolved: not counted
    make_risk(project_b, likelihood=1, impact=4)
    projects = Project.objects.filter(pk__in=[project_a.pk, project_b.pk])
    with django_assert_num_queries(1):
        heatmaps = selectors.risk_heatmaps(projects=projects)
    for project in (project_a, project_b):
        one = Project.objects.filter(pk=project.pk)
        assert heatmaps[project.pk] == selectors.risk_heatmap(projects=one)
    assert heatmaps[project_a.pk].counts[4][4] == 2 and heatmaps[project_a.pk].total == 2
    assert heatmaps[project_b.pk].counts[0][3] == 1
    assert selectors.Heatmap.combined(list(heatmaps.values())) == selectors.risk_heatmap(
        projects=projects
    )


@pytest.fixture
def managed(project_a, alice):
    project_a.manager = alice
    project_a.save()
    return project_a


def test_an_unresolved_high_risk_is_escalated_once_to_owner_and_manager(
    managed, alice, bob, django_capture_on_commit_callbacks
):
    risk = make_risk(managed, owner=bob, hours_ago=30)
    with django_capture_on_commit_callbacks(execute=True):
        escalated = services.risk_escalate_overdue()
    assert [(e.risk, e.reason) for e in escalated] == [(risk, "unresolved_high")]
    assert services.risk_escalate_overdue() == []  # the second run changes nothing
    assert RiskEscalation.objects.filter(risk=risk).count() == 1
    notified = set(Notification.objects.values_list("user__username", flat=True))
    assert notified == {"alice", "bob"}
    assert len(mail.outbox) == 2
    assert "R1 escalated" in mail.outbox[0].subject


def test_a_fresh_or_lower_risk_is_not_escalated(managed):
    make_risk(managed, hours_ago=2)
    make_risk(managed, likelihood=2, impact=3, hours_ago=100)
    make_risk(managed, status="mitigating", hours_ago=100)
    assert services.risk_escalate_overdue() == []


def test_escalate_after_is_a_setting(managed, settings):
    settings.RISK_ESCALATE_AFTER_HOURS = 1
    make_risk(managed, hours_ago=2)
    assert len(services.risk_escalate_overdue()) == 1


def test_an_overdue_review_is_escalated_and_closes_when_the_date_moves(managed, alice):
    risk = make_risk(managed, likelihood=2, impact=2, review_by=date.today() - timedelta(days=1))
    (escalation,) = services.risk_escalate_overdue()
    assert escalation.reason == "review_overdue"
    services.risk_update(risk=risk, by=alice, review_by=date.today() + timedelta(days=7))
    escalation.refresh_from_db()
    assert escalation.resolved_at is not None
    # Overdue again later: a new escalation, a new notification.
    Risk.objects.filter(pk=risk.pk).update(review_by=date.today() - timedelta(days=2))
    assert len(services.risk_escalate_overdue()) == 1
    assert Notification.objects.filter(user=alice).count() == 2


def test_a_muted_kind_is_neither_shown_nor_mailed(
    managed, alice, django_capture_on_commit_callbacks
):
    NotificationMute.objects.create(user=alice, kind="risk_escalated")
    make_risk(managed)
    with django_capture_on_commit_callbacks(execute=True):
        services.risk_escalate_overdue()
    assert not Notification.objects.filter(user=alice).exists()
    assert mail.outbox == []


def test_lowering_a_risk_closes_its_escalation(managed, alice):
    risk = make_risk(managed)
    services.risk_escalate_overdue()
    services.risk_update(risk=risk, by=alice, likelihood=2, reason="Indices added")
    assert RiskEscalation.objects.get(risk=risk).resolved_at is not None


def test_a_stale_risk_edit_is_refused(project_a):
    risk = make_risk(project_a)
    services.risk_update(risk=risk, by=None, version=1, title="First")
    with pytest.raises(StaleEdit):
        services.risk_update(risk=Risk.objects.get(pk=risk.pk), by=None, version=1, title="Lost")
    assert Risk.objects.get(pk=risk.pk).title == "First"


def test_a_save_without_a_version_keeps_what_others_saved_meanwhile(project_a):
    risk = make_risk(project_a, mitigation="Rehearse in staging.")
    read_before = Risk.objects.get(pk=risk.pk)
    services.risk_update(risk=risk, by=None, version=risk.version, mitigation="Add a canary.")
    services.risk_update(risk=read_before, by=None, title="Slow queries on reports")
    stored = Risk.objects.get(pk=risk.pk)
    assert (stored.title, stored.mitigation) == ("Slow queries on reports", "Add a canary.")
