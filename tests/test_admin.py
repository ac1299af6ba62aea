"""The admin: every model has a usable page, and every page goes through the policies."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import api_token_create
from core.models import OutboxTask
from core.versioning import StaleEdit
from dashboards.models import StatusReportDelivery, StatusReportSubscription, StatusSnapshot
from gates import services as gate_services
from gates.evidence import evidence_pack, pack_store
from gates.models import ApproverGroup, Gate
from metrics.models import KPIPin, MetricSource
from notifications import services as notification_services
from notifications.models import NotificationMute
from projects.models import PhaseView
from risks import services as risk_services
from risks.models import Risk, RiskEscalation
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateConditionFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    MembershipFactory,
    MetricSourceFactory,
    PhaseFactory,
    ProjectFactory,
    RiskFactory,
    SignOffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PORTAL_APPS = {"projects", "risks", "metrics", "gates"}


def populate(project, user):
    """Give `project` one row of every model, and `user` a role on it."""
    viewer = MembershipFactory(user=UserFactory(), project=project, role="viewer").user
    phase = PhaseFactory(project=project, order=1)
    ChecklistItemFactory(phase=phase, owner=user)
    api_token_create(user=user, name="CI pipeline")
    OutboxTask.objects.create(task="risks.tasks.risk_escalate_overdue", args=[project.pk])
    risk = RiskFactory(project=project)
    risk_services.risk_update(risk=risk, by=user, likelihood=2)
    kpi = KPIFactory(project=project, phase=phase)
    MeasurementFactory(kpi=kpi, source=MetricSourceFactory(kpi=kpi), recorded_by=user)
    gate = GateFactory(project=project, phase=phase)
    GateCriterionFactory(gate=gate, kind="kpi", kpi=kpi, comparator="lt", threshold=1)
    GateApproverFactory(
        gate=gate, user=user, group=ApproverGroup.objects.create(gate=gate, name="Security")
    )
    shown = pack_store(gate, evidence_pack(gate))
    signoff = SignOffFactory(
        gate=gate, signer=user, evidence=shown, content_hash=shown.content_hash
    )
    GateConditionFactory(signoff=signoff, owner=user)
    gate_services.gate_open(gate=gate, by=user)
    gate_services.gate_delegate(
        gate=gate,
        delegator=user,
        delegate=viewer,
        until=timezone.now() + timedelta(days=1),
        by=user,
    )
    listed = risk_services.risk_create(
        project=project, by=user, title="Listed", likelihood=4, impact=4
    )
    risk_services.mitigation_action_create(risk=listed, by=user, title="Add indices")
    RiskEscalation.objects.create(
        risk=listed, reason="unresolved_high", escalated_at=timezone.now()
    )
    notification_services.notify(
        users=[user], kind="risk_escalated", title="Escalated", dedupe_key=f"test:{listed.pk}"
    )
    NotificationMute.objects.get_or_create(user=user, kind="risk_review_overdue")
    PhaseView.objects.create(user=user, phase=phase, expanded=False)
    KPIPin.objects.create(user=user, kpi=kpi)
    StatusSnapshot.objects.create(project=project, taken_on=timezone.localdate(), rag="amber")
    subscription = StatusReportSubscription.objects.create(user=user, project=project)
    StatusReportDelivery.objects.create(
        subscription=subscription, week=timezone.localdate(), claimed_at=timezone.now()
    )


@pytest.fixture
def one_of_everything(project_a, alice):
    populate(project_a, alice)
    return project_a


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_of_the_portal_is_in_the_admin():
    registered = {model._meta.label for model in admin.site._registry}
    apps_with_models = ("core", "accounts", "notifications", "projects", "risks", "metrics")
    for app in (*apps_with_models, "gates", "dashboards"):
        from django.apps import apps

        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue  # change history, shown on the project's History tab
            assert model._meta.label in registered, model._meta.label


@pytest.mark.parametrize(
    "model", [m for m in admin.site._registry if m._meta.app_label in PORTAL_APPS], ids=str
)
def test_admin_pages_render_for_every_model(model, client, superuser, one_of_everything):
    client.force_login(superuser)
    model_admin = admin.site._registry[model]
    changelist = client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    search = client.get(admin_url(model, "changelist"), {"q": "a"})
    assert search.status_code == 200
    obj = model_admin.get_queryset(changelist.wsgi_request).first()
    assert obj is not None, f"no {model.__name__} to show"
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200
    add = client.get(admin_url(model, "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


@pytest.mark.parametrize(
    "model", [m for m in admin.site._registry if m._meta.app_label in PORTAL_APPS], ids=str
)
def test_admin_lists_issue_the_same_queries_for_one_row_or_many(
    model, client, superuser, one_of_everything
):
    client.force_login(superuser)
    with CaptureQueriesContext(connection) as one:
        client.get(admin_url(model, "changelist"))
    for _ in range(4):
        populate(ProjectFactory(), UserFactory())
    with CaptureQueriesContext(connection) as many:
        client.get(admin_url(model, "changelist"))
    assert len(many) == len(one), [query["sql"] for query in many]


def test_a_manager_sees_only_rows_of_their_own_projects(client, alice, oscar, project_b):
    mine = RiskFactory(project=alice.memberships.get().project, title="Mine to see")
    theirs = RiskFactory(project=project_b, title="Not mine")
    client.force_login(alice)
    page = client.get(admin_url(Risk, "changelist")).content.decode()
    assert "Mine to see" in page and "Not mine" not in page
    assert client.get(admin_url(Risk, "change", mine.pk)).status_code == 200
    response = client.get(admin_url(Risk, "change", theirs.pk))
    assert response.status_code == 302  # "doesn't exist", as for a missing row


def test_a_contributor_may_edit_risks_but_only_view_gates(client, bob, project_a):
    risk = RiskFactory(project=project_a)
    gate = GateFactory(project=project_a, name="Cutover")
    client.force_login(bob)
    assert 'name="_save"' in client.get(admin_url(Risk, "change", risk.pk)).content.decode()
    page = client.get(admin_url(Gate, "change", gate.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(admin_url(Gate, "change", gate.pk), {"name": "Renamed"})
    assert response.status_code == 403
    gate.refresh_from_db()
    assert gate.name == "Cutover"


def test_a_crafted_post_cannot_add_a_risk_to_someone_elses_project(client, oscar, project_a):
    client.force_login(oscar)
    response = client.post(
        admin_url(Risk, "add"),
        {
            "project": project_a.pk,
            "key": "R99",
            "title": "Planted",
            "category": "technical",
            "likelihood": 3,
            "impact": 3,
            "status": "open",
        },
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "Select a valid choice" in response.content.decode()
    assert not Risk.objects.filter(key="R99").exists()


def test_editing_a_risk_in_the_admin_records_the_assessment_and_why(client, alice, project_a):
    risk = RiskFactory(project=project_a, key="R2", title="Slow queries", likelihood=4, impact=4)
    client.force_login(alice)
    response = client.post(
        admin_url(Risk, "change", risk.pk),
        {
            "project": project_a.pk,
            "key": "R2",
            "title": "Slow queries",
            "category": "technical",
            "likelihood": 2,
            "impact": 4,
            "status": "mitigating",
            "assessment_reason": "Indices added after EXPLAIN ANALYZE",
            "assessments-TOTAL_FORMS": 0,
            "assessments-INITIAL_FORMS": 0,
            "actions-TOTAL_FORMS": 0,
            "actions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = risk.assessments.latest()
    assert (latest.likelihood, latest.status, latest.assessed_by) == (2, "mitigating", alice)
    assert latest.reason == "Indices added after EXPLAIN ANALYZE"


def test_ticking_an_item_in_the_admin_records_who_and_when(client, bob, project_a):
    from projects.models import ChecklistItem

    item = ChecklistItemFactory(phase=PhaseFactory(project=project_a, order=1), title="Backfill")
    client.force_login(bob)
    response = client.post(
        admin_url(ChecklistItem, "change", item.pk),
        {"phase": item.phase.pk, "order": 1, "kind": "task", "title": "Backfill", "done": "on"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done and item.done_by == bob and item.done_at <= timezone.now()


def test_a_sources_secret_is_never_sent_back_and_kept_when_left_empty(client, alice, project_a):
    source = MetricSourceFactory(
        kpi=KPIFactory(project=project_a), kind="manual", secret="s3cr3t-token"
    )
    client.force_login(alice)
    page = client.get(admin_url(MetricSource, "change", source.pk)).content.decode()
    assert "s3cr3t-token" not in page
    response = client.post(
        admin_url(MetricSource, "change", source.pk),
        {
            "kpi": source.kpi.pk,
            "kind": "manual",
            "config": "{}",
            "secret": "",
            "interval": "00:05:00",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.secret == "s3cr3t-token"


def test_a_malformed_source_config_comes_back_as_a_form_error(client, alice, project_a):
    source = MetricSourceFactory(kpi=KPIFactory(project=project_a), kind="manual")
    client.force_login(alice)
    response = client.post(
        admin_url(MetricSource, "change", source.pk),
        {
            "kpi": source.kpi.pk,
            "kind": "prometheus",
            "config": '{"query": "up"}',
            "interval": "00:05:00",
        },
    )
    assert response.status_code == 200
    assert "&#x27;url&#x27; is required" in response.content.decode()
    source.refresh_from_db()
    assert source.kind == "manual"


def test_non_staff_members_are_kept_out_of_the_admin(client, victor):
    client.force_login(victor)
    assert client.get(reverse("admin:index")).status_code == 302


def test_append_only_records_cannot_be_changed_or_deleted(client, superuser, one_of_everything):
    from gates.models import SignOff
    from metrics.models import Measurement
    from risks.models import RiskAssessment

    client.force_login(superuser)
    for model in (SignOff, Measurement, RiskAssessment):
        obj = model.objects.first()
        page = client.get(admin_url(model, "change", obj.pk)).content.decode()
        assert 'name="_save"' not in page
        assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


def test_a_manager_may_not_create_users_or_programmes(client, alice):
    client.force_login(alice)
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
    assert client.get(reverse("admin:projects_programme_add")).status_code == 403


def test_adding_a_risk_in_the_admin_records_its_first_assessment(client, alice, project_a):
    client.force_login(alice)
    response = client.post(
        admin_url(Risk, "add"),
        {
            "project": project_a.pk,
            "key": "R7",
            "title": "Connection pool exhaustion",
            "category": "technical",
            "likelihood": 3,
            "impact": 3,
            "status": "open",
            "assessment_reason": "Raised at the weekly review",
            "assessments-TOTAL_FORMS": 0,
            "assessments-INITIAL_FORMS": 0,
            "actions-TOTAL_FORMS": 0,
            "actions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    risk = Risk.objects.get(project=project_a, key="R7")
    (first,) = risk.assessments.all()
    assert (first.assessed_by, first.reason) == (alice, "Raised at the weekly review")


def test_a_duplicate_risk_key_is_a_form_error_not_a_crash(client, alice, project_a):
    RiskFactory(project=project_a, key="R1")
    client.force_login(alice)
    response = client.post(
        admin_url(Risk, "add"),
        {
            "project": project_a.pk,
            "key": "R1",
            "title": "Again",
            "category": "technical",
            "likelihood": 3,
            "impact": 3,
            "status": "open",
            "assessments-TOTAL_FORMS": 0,
            "assessments-INITIAL_FORMS": 0,
            "actions-TOTAL_FORMS": 0,
            "actions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert Risk.objects.filter(project=project_a, key="R1").count() == 1


def test_an_admin_save_is_a_new_version_that_open_editors_are_told_about(client, alice, project_a):
    from projects import services
    from projects.models import Phase

    phase = PhaseFactory(project=project_a, order=1, name="Foundation", status="not_started")
    seen_in_the_plan_page = phase.version
    client.force_login(alice)
    response = client.post(
        admin_url(Phase, "change", phase.pk),
        {
            "project": project_a.pk,
            "order": 1,
            "name": "Foundation (admin)",
            "status": "not_started",
            "checklist_items-TOTAL_FORMS": 0,
            "checklist_items-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with pytest.raises(StaleEdit):
        services.phase_update(
            phase=phase, version=seen_in_the_plan_page, by=alice, changes={"name": "Lost?"}
        )
    assert Phase.objects.get(pk=phase.pk).name == "Foundation (admin)"


def test_a_decided_gates_criteria_and_approvers_are_read_only_in_the_admin(
    client, alice, project_a
):
    from gates.models import GateCriterion

    gate = GateFactory(project=project_a, name="Cutover")
    criterion = GateCriterionFactory(gate=gate, text="Runbook rehearsed", kind="manual")
    Gate.objects.filter(pk=gate.pk).update(
        state="decided", decision="go", decided_at=timezone.now()
    )
    client.force_login(alice)
    page = client.get(admin_url(GateCriterion, "change", criterion.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    changed = client.post(admin_url(GateCriterion, "change", criterion.pk), {"text": "Changed"})
    assert changed.status_code == 403
    deleted = client.post(admin_url(GateCriterion, "delete", criterion.pk), {"post": "yes"})
    assert deleted.status_code == 403
    gate_page = client.get(admin_url(Gate, "change", gate.pk)).content.decode()
    assert 'name="criteria-0-text"' not in gate_page  # the inline shows, read-only
    assert "Runbook rehearsed" in gate_page
    criterion.refresh_from_db()
    assert criterion.text == "Runbook rehearsed"


def test_the_admin_menu_asks_the_policy_once_a_page_not_once_a_model(client, alice, project_a):
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    asked = [q["sql"] for q in queries.captured_queries if '"projects_membership"' in q["sql"]]
    assert len(asked) <= 3, len(asked)
