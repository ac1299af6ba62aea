"""The demo programme: the plans' real content, loaded once however often the command runs."""

from datetime import date
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from demo.loader import PLAN_FILES, demo_load
from gates.models import Gate
from metrics.models import KPI
from plans.markdown.build import plan_read
from projects.models import ChecklistItem, Phase, Project
from risks.models import Risk

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("projects", "risks", "metrics", "gates", "auth")


def row_counts():
    return {
        model._meta.label: model.objects.count()
        for app in DOMAIN_APPS
        for model in apps.get_app_config(app).get_models()
    }


def test_load_demo_prints_a_working_password_for_every_demo_login():
    out = StringIO()
    call_command("load_demo", stdout=out)
    lines = {line.split()[0]: line.split()[1] for line in out.getvalue().splitlines()[3:]}
    assert set(lines) >= {"pm", "approver", "product", "exec", "admin", "contributor", "viewer"}
    request = RequestFactory().post("/login/", REMOTE_ADDR="127.0.0.1")
    for username, password in lines.items():
        assert authenticate(request, username=username, password=password), username


def test_loading_twice_creates_nothing_the_second_time():
    call_command("load_demo", stdout=StringIO())
    before = row_counts()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert row_counts() == before
    assert "nothing to create" in out.getvalue()


def test_reloading_keeps_what_users_changed_and_restores_what_they_deleted():
    demo_load(today=date(2026, 11, 23))
    project = Project.objects.get(code="AAD")
    project.name = "AAD (renamed by its PM)"
    project.save()
    Risk.objects.filter(project=project, key="R3").delete()
    demo_load(today=date(2027, 3, 1))
    project.refresh_from_db()
    assert project.name == "AAD (renamed by its PM)"
    assert project.baseline_start == date(2026, 10, 26)  # the first load's calendar stays
    assert Risk.objects.filter(project=project, key="R3").exists()


def test_reset_passwords_changes_every_demo_password():
    first = demo_load().passwords
    second = demo_load(reset_passwords=True).passwords
    assert set(first) == set(second)
    assert all(first[name] != second[name] for name in first)


def test_the_aad_plan_is_there_in_full():
    demo_load(today=date(2026, 11, 23))
    aad = Project.objects.get(code="AAD")
    assert aad.manager_name == "Nguyen Thanh Phuong"
    assert aad.target_delivery < aad.forecast_end  # three weeks behind
    assert (aad.forecast_end - aad.target_delivery).days == 21
    phases = list(aad.phases.order_by("order"))
    assert [phase.name for phase in phases] == [
        "Foundation and Optimization",
        "Microservice Development and Integration",
        "QA, Deployment, and Monitoring",
    ]
    assert phases[0].resource_needs == "2 backend developers, 1 DevOps engineer"
    assert "Reduce query time by 50%" in phases[0].success_criteria
    deliverables = ChecklistItem.objects.filter(phase__project=aad, kind="deliverable")
    # Titles as the plan writes them ("Redis cache setup; query optimization scripts; …").
    assert {title.lower() for title in deliverables.values_list("title", flat=True)} >= {
        "redis cache setup",
        "query optimization scripts",
        "benchmark report",
        "analytics microservice (v1)",
        "data pipeline integration",
        "api contracts",
        "full system testing",
        "monitoring dashboards",
        "production release",
    }
    risks = {risk.title: (risk.likelihood, risk.impact) for risk in aad.risks.all()}
    assert risks["Microservice latency issues"] == (3, 4)  # medium probability, high impact
    # As the plan rates it; the team reassessed it since (the demo's stale approval).
    first = aad.risks.get(title="Integration bugs with existing frontend").assessments.order_by(
        "assessed_at", "pk"
    )[0]
    assert (first.likelihood, first.impact) == (4, 3)
    assert risks["Resource availability conflicts"] == (3, 3)
    categories = set(KPI.objects.filter(project=aad).values_list("category", flat=True))
    assert categories == {"technical", "business", "project"}
    response_time = KPI.objects.get(project=aad, name="Average dashboard response time")
    assert response_time.target_display == "below 2 s"
    gates = Gate.objects.filter(project=aad)
    assert gates.filter(kind="go_no_go").count() == 1
    assert gates.filter(kind="phase_exit").count() == 3
    go_no_go = gates.get(kind="go_no_go")
    assert go_no_go.criteria.filter(kind="kpi", critical=True).exists()


def test_the_other_plans_are_there_too():
    demo_load(today=date(2026, 11, 23))
    provider_api = Project.objects.get(code="PROVIDER-API")
    assert provider_api.risks.count() == 12
    assert provider_api.risks.get(key="R5").impact == 5  # critical
    assert KPI.objects.filter(project=provider_api, kind="counter").count() == 5
    plan_kpis = KPI.objects.filter(project=provider_api).exclude(name__startswith="Row count:")
    assert plan_kpis.filter(kind="leading").count() == 7
    assert plan_kpis.filter(kind="lagging").count() == 9
    rollout = Gate.objects.filter(project=provider_api, kind="rollout_stage").order_by("order")
    assert [gate.rollout_percent for gate in rollout] == [5, 25, 50, 100]
    sprint = Project.objects.get(code="SPRINT-8")
    assert Gate.objects.filter(project=sprint).count() == 15 + 1  # the table, the sign-off
    assert Phase.objects.filter(project=sprint).count() == 4


@pytest.mark.parametrize(
    ("code", "document"),
    [
        ("AAD", "aad-analytics-dashboard.md"),
        ("PROVIDER-API", "redis-to-postgresql-provider-api.md"),
        ("SPRINT-8", "sprint8-three-tracks.md"),
    ],
)
def test_the_demo_projects_are_their_plans_imported(code, document):
    """Everything the importer reads in each plan is in its demo project, under the team's
    names where they renamed it; what the plan does not say is kept as the project's notes."""
    demo_load(today=date(2026, 11, 23))
    project = Project.objects.get(code=code)
    plan = plan_read((PLAN_FILES / document).read_bytes())
    items = ChecklistItem.objects.filter(phase__project=project)
    assert {i.title.lower() for i in plan.checklist_items} <= {
        t.lower() for t in items.values_list("title", flat=True)
    }
    assert {r.title for r in plan.risks} <= set(project.risks.values_list("title", flat=True))
    assert Phase.objects.filter(project=project).count() == len(plan.phases)
    assert KPI.objects.filter(project=project).count() >= len(plan.kpis)
    assert Gate.objects.filter(project=project).count() >= len(plan.gates)
    assert project.notes.startswith(f"### {plan.notes[0].title}")
    if code == "SPRINT-8":  # starts next Monday: the plan's checklists as they stand
        assert items.count() == 100
        assert not items.filter(done=True).exists()
        assert items.get(title="Create Prisma Migration").detail.startswith("```bash")


def test_demo_users_hold_one_role_each():
    from projects import policy
    from projects.policy import Action

    demo_load()
    from django.contrib.auth import get_user_model

    users = {user.username: user for user in get_user_model().objects.all()}
    aad = Project.objects.get(code="AAD")
    assert policy.can(users["pm"], aad, Action.MANAGE)
    assert policy.can(users["approver"], aad, Action.SIGN)
    assert policy.allowed_actions(users["exec"], aad) == {Action.VIEW}
    assert policy.allowed_actions(users["viewer"], aad) == {Action.VIEW}
    assert not policy.can(users["contributor"], aad, Action.VIEW)
    assert users["admin"].is_superuser


def test_the_approver_reads_times_in_berlin_and_keeps_a_zone_chosen_since(settings):
    from django.contrib.auth import get_user_model

    from accounts.time_zones import time_zone_of, time_zone_set

    demo_load()
    users = {user.username: user for user in get_user_model().objects.all()}
    assert time_zone_of(users["approver"]) == "Europe/Berlin"
    assert time_zone_of(users["pm"]) == settings.TIME_ZONE == "UTC"
    time_zone_set(user=users["approver"], time_zone="America/New_York")
    demo_load(reset_passwords=True)
    assert time_zone_of(get_user_model().objects.get(username="approver")) == "America/New_York"


def test_the_demo_collects_live_without_any_other_service(settings):
    from metrics.models import MetricSource

    demo_load()
    kinds = set(MetricSource.objects.filter(is_active=True).values_list("kind", flat=True))
    assert kinds == {"http_probe", "sql", "derived"}
    probe = MetricSource.objects.filter(kind="http_probe").first()
    assert probe.config["url"] == f"{settings.SITE_URL}/health/"


def test_open_demo_gates_were_opened_through_their_trail():
    from gates.models import Gate
    from gates.services import gate_audit_verify

    demo_load()
    open_gates = Gate.objects.filter(state="open")
    assert open_gates.count() == 1
    for gate in open_gates:
        assert gate.audit_entries.get().action == "opened"
        assert gate_audit_verify(gate=gate)[0]


def test_the_demo_shows_an_override_by_two_different_approvers_and_a_gate_with_groups():
    from gates import policy
    from gates.models import Gate

    demo_load()
    phase_1 = Gate.objects.get(project__code="AAD", name__startswith="Phase 1 exit")
    assert (phase_1.state, phase_1.decision) == ("decided", "conditional_go")
    assert phase_1.overridden_recommendation == "inconclusive"
    (condition,) = phase_1.conditions.all()
    assert condition.text == "Attest the Redis staging test in the portal"
    assert condition.owner.username == "pm" and condition.met_at is None
    assert phase_1.approval_stale_at is not None
    assert "R2" in phase_1.approval_stale_reasons
    signers = set(phase_1.signoffs.values_list("signer__username", flat=True))
    assert signers == {"approver", "product"}
    release = Gate.objects.get(project__code="AAD", name="Production release go/no-go")
    (group,) = release.approver_groups.all()
    assert (group.name, group.rule, group.veto) == ("Product", "all", True)
    assert policy.unfillable_slots(policy.slot_holders(release)) == 0
