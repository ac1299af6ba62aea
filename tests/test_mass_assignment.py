"""What a form or a serializer does not offer, a request cannot set: a posted field that is
read-only, fixed after creation or simply not part of the form leaves the stored row as it
was (read back from the database), whatever the answer. Objects are not moved into another
project, signatures are the signer's own, states and versions are the services' to set."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gates import services as gate_services
from gates.evidence import current_token
from gates.models import GateDelegation, GateState, SignOff
from metrics.models import KPI, MetricSource
from projects.models import ChecklistItem, Membership, Phase, Project
from risks.models import MitigationAction, Risk
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MembershipFactory,
    MetricSourceFactory,
    PhaseFactory,
    ProjectFactory,
    RiskFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
LONG_AGO = "2000-01-01T00:00:00Z"


@pytest.fixture
def plans(project_a, project_b, alice, carol, oscar):
    """A plan in A (alice manages it, carol approves) and one in B (oscar's)."""

    def plan(project):
        phase = PhaseFactory(project=project, order=1)
        kpi = KPIFactory(project=project, phase=phase)
        gate = GateFactory(project=project, phase=phase)
        return {
            "project": project,
            "phase": phase,
            "item": ChecklistItemFactory(phase=phase, order=1),
            "risk": RiskFactory(project=project),
            "kpi": kpi,
            "source": MetricSourceFactory(kpi=kpi),
            "gate": gate,
            "criterion": GateCriterionFactory(gate=gate, kind="manual", text="Rehearsed"),
            "approver": GateApproverFactory(gate=gate, role="approver"),
        }

    return {"A": plan(project_a), "B": plan(project_b)}


def api(client, method, path, body):
    return getattr(client, method)(path, body, content_type="application/json")


def stored(obj, *fields):
    row = type(obj).objects.get(pk=obj.pk)
    return {name: getattr(row, name) for name in fields}


# -- the API -------------------------------------------------------------------------------------


def test_a_project_keeps_its_programme_code_manager_and_times(client, alice, plans):
    project = plans["A"]["project"]
    fields = ("programme_id", "code", "manager_id", "created_at", "version")
    before = stored(project, *fields)
    answer = api(
        client_of(client, alice),
        "patch",
        f"/api/v1/projects/{project.pk}/",
        {
            "programme": plans["B"]["project"].programme.slug,
            "code": "HIJACKED",
            "manager": plans["B"]["project"].pk,
            "created_at": LONG_AGO,
            "updated_at": LONG_AGO,
            "summary": "Moved?",
        },
    )
    assert answer.status_code == 200, answer.content
    after = stored(project, *fields, "summary")
    assert after["summary"] == "Moved?"  # what may be changed, was
    assert {name: after[name] for name in ("programme_id", "code", "manager_id", "created_at")} == {
        name: before[name] for name in ("programme_id", "code", "manager_id", "created_at")
    }
    assert after["version"] == before["version"] + 1  # counted by the service, not sent


def test_a_version_sent_is_a_check_not_a_value(client, alice, plans):
    phase = plans["A"]["phase"]
    current = stored(phase, "version")["version"]
    answer = api(
        client_of(client, alice),
        "patch",
        f"/api/v1/phases/{phase.pk}/",
        {"version": current + 50, "name": "Renamed"},
    )
    assert answer.status_code == 400 and "version" in answer.json()["errors"]
    assert stored(phase, "version", "name") == {"version": current, "name": phase.name}


@pytest.mark.parametrize(
    ("resource", "key", "moved", "allowed"),
    [
        ("phases", "phase", {"project": "B.project", "order": 99}, {"name": "Renamed"}),
        (
            "checklist-items",
            "item",
            {"phase": "B.phase", "order": 99, "done_at": LONG_AGO},
            {"title": "Renamed"},
        ),
        ("risks", "risk", {"project": "B.project", "score": 25}, {"title": "Renamed"}),
        (
            "kpis",
            "kpi",
            {"project": "B.project", "status": "met", "status_changed_at": LONG_AGO},
            {"name": "Renamed"},
        ),
        (
            "metric-sources",
            "source",
            {"kpi": "B.kpi", "health": "ok", "consecutive_failures": 7, "last_error": "x"},
            {"is_active": False},
        ),
        (
            "gate-criteria",
            "criterion",
            {"gate": "B.gate", "attested_by": "oscar", "attested_at": LONG_AGO},
            {"text": "Renamed"},
        ),
        ("gate-approvers", "approver", {"gate": "B.gate"}, {"title": "Renamed"}),
    ],
)
def test_a_change_through_the_api_does_not_move_a_row_or_set_what_is_read_only(
    client, alice, oscar, plans, resource, key, moved, allowed
):
    obj = plans["A"][key]
    body = {
        name: (plans["B"][value[2:]].pk if isinstance(value, str) and value[:2] == "B." else value)
        for name, value in moved.items()
    }
    columns = [f"{name}_id" if name in FOREIGN_KEYS else name for name in moved]
    before = stored(obj, *columns)
    answer = api(
        client_of(client, alice), "patch", f"/api/v1/{resource}/{obj.pk}/", {**body, **allowed}
    )
    assert answer.status_code == 200, answer.content  # saved, the planted fields ignored
    assert stored(obj, *columns) == before
    assert stored(obj, *allowed) == allowed


FOREIGN_KEYS = {"project", "phase", "kpi", "gate", "attested_by"}


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        ("phases", lambda b: {"project": b["project"].pk, "name": "Planted"}),
        ("checklist-items", lambda b: {"phase": b["phase"].pk, "title": "Planted"}),
        (
            "risks",
            lambda b: {
                "project": b["project"].pk,
                "title": "Planted",
                "likelihood": 2,
                "impact": 2,
            },
        ),
        ("kpis", lambda b: {"project": b["project"].pk, "name": "Planted", "unit": "ms"}),
        (
            "metric-sources",
            lambda b: {"kpi": b["kpi"].pk, "kind": "manual", "config": {}, "interval": "300"},
        ),
        ("gate-criteria", lambda b: {"gate": b["gate"].pk, "text": "Planted", "kind": "manual"}),
        ("gate-approvers", lambda b: {"gate": b["gate"].pk, "title": "Planted", "role": "viewer"}),
        (
            "memberships",
            lambda b: {"user": "alice", "project": b["project"].pk, "role": "manager"},
        ),
    ],
)
def test_nothing_is_created_in_a_project_the_user_is_not_a_member_of(
    client, alice, plans, resource, body
):
    counts = row_counts()
    answer = api(client_of(client, alice), "post", f"/api/v1/{resource}/", body(plans["B"]))
    assert answer.status_code == 404, answer.content
    assert row_counts() == counts


def row_counts() -> dict:
    models = (Phase, ChecklistItem, Risk, KPI, MetricSource, Membership, MitigationAction)
    from gates.models import GateApprover, GateCriterion

    return {model: model.objects.count() for model in (*models, GateCriterion, GateApprover)}


def test_a_new_project_is_managed_by_who_made_it(client, superuser, oscar, programme):
    answer = api(
        client_of(client, superuser),
        "post",
        "/api/v1/projects/",
        {
            "programme": programme.slug,
            "code": "NEW",
            "name": "New",
            "manager": oscar.pk,
            "version": 40,
            "created_at": LONG_AGO,
        },
    )
    assert answer.status_code == 201, answer.content
    project = Project.objects.get(code="NEW")
    assert (project.manager_id, project.version) == (superuser.pk, 1)
    assert project.created_at > timezone.now() - timedelta(minutes=5)


def test_a_contributor_cannot_make_themself_a_manager(client, bob, plans):
    membership = bob.memberships.get()
    answer = api(
        client_of(client, bob),
        "patch",
        f"/api/v1/memberships/{membership.pk}/",
        {"role": "manager"},
    )
    assert answer.status_code == 403
    answer = api(
        client_of(client, bob),
        "post",
        "/api/v1/memberships/",
        {"user": "bob", "project": plans["A"]["project"].pk, "role": "manager"},
    )
    assert answer.status_code == 403
    assert list(bob.memberships.values_list("role", flat=True)) == ["contributor"]


def test_a_membership_keeps_its_user_project_and_programme(client, alice, oscar, plans):
    membership = MembershipFactory(project=plans["A"]["project"], role="viewer")
    fields = ("user_id", "project_id", "programme_id")
    before = stored(membership, *fields)
    answer = api(
        client_of(client, alice),
        "patch",
        f"/api/v1/memberships/{membership.pk}/",
        {
            "user": "oscar",
            "project": plans["B"]["project"].pk,
            "programme": plans["B"]["project"].programme.slug,
            "role": "contributor",
        },
    )
    assert answer.status_code == 200, answer.content
    assert stored(membership, *fields, "role") == {**before, "role": "contributor"}
    # A programme-wide role is not granted through a project's memberships.
    answer = api(
        client_of(client, alice),
        "post",
        "/api/v1/memberships/",
        {"user": "oscar", "project": None, "programme": plans["A"]["project"].programme.slug},
    )
    assert answer.status_code == 400
    assert not Membership.objects.filter(user=oscar, programme__isnull=False).exists()


def test_a_kpi_or_criterion_cannot_point_at_another_project_the_user_also_sees(
    client, alice, plans
):
    elsewhere = ProjectFactory(code="C")
    MembershipFactory(user=alice, project=elsewhere, role="viewer")
    their_phase = PhaseFactory(project=elsewhere, order=1)
    their_kpi = KPIFactory(project=elsewhere)
    kpi, criterion = plans["A"]["kpi"], plans["A"]["criterion"]
    signed_in = client_of(client, alice)
    answer = api(signed_in, "patch", f"/api/v1/kpis/{kpi.pk}/", {"phase": their_phase.pk})
    assert answer.status_code == 400
    answer = api(
        signed_in,
        "patch",
        f"/api/v1/gate-criteria/{criterion.pk}/",
        {"kind": "kpi", "kpi": their_kpi.pk, "comparator": "lt", "threshold": 1},
    )
    assert answer.status_code == 400
    assert stored(kpi, "phase_id")["phase_id"] == plans["A"]["phase"].pk
    assert stored(criterion, "kpi_id", "kind") == {"kpi_id": None, "kind": "manual"}


def test_a_gate_state_and_decision_are_not_written_through_the_api(client, alice, plans):
    gate = plans["A"]["gate"]
    signed_in = client_of(client, alice)
    for method in ("put", "patch"):
        answer = api(
            signed_in,
            method,
            f"/api/v1/gates/{gate.pk}/",
            {"state": "decided", "decision": "go", "decided_at": LONG_AGO},
        )
        assert answer.status_code == 405
    assert stored(gate, "state", "decision", "decided_at") == {
        "state": GateState.DRAFT,
        "decision": gate.decision,
        "decided_at": None,
    }


def test_a_sign_off_is_the_signers_own_at_the_time_it_is_given(client, alice, carol, plans):
    gate = plans["A"]["gate"]
    gate_services.gate_open(gate=gate, by=alice)
    answer = api(
        client_of(client, carol),
        "post",
        "/api/v1/sign-offs/",
        {
            "gate": gate.pk,
            "decision": "approve",
            "password": PASSWORD,
            "evidence": current_token(gate),
            "override_reason": "Accepted by the steering group",
            "signer": "alice",
            "on_behalf_of": "alice",
            "signed_at": LONG_AGO,
            "content_hash": "0" * 64,
            "invalidated_at": LONG_AGO,
            "invalidated_reason": "planted",
        },
    )
    assert answer.status_code == 201, answer.content
    signoff = SignOff.objects.get(pk=answer.json()["id"])
    assert (signoff.signer_id, signoff.on_behalf_of_id) == (carol.pk, None)
    assert signoff.signed_at > timezone.now() - timedelta(minutes=5)
    assert signoff.content_hash != "0" * 64
    assert (signoff.invalidated_at, signoff.invalidated_reason) == (None, "")


def test_a_delegation_is_given_by_who_asks_on_the_gate_named_in_the_path(
    client, alice, carol, plans
):
    gate = plans["A"]["gate"]
    answer = api(
        client_of(client, carol),
        "post",
        f"/api/v1/gates/{gate.pk}/delegations/",
        {
            "delegate": "alice",
            "until": (timezone.now() + timedelta(days=1)).isoformat(),
            "delegator": "alice",
            "gate": plans["B"]["gate"].pk,
            "starts_at": LONG_AGO,
        },
    )
    assert answer.status_code == 201, answer.content
    delegation = GateDelegation.objects.get(pk=answer.json()["id"])
    assert (delegation.gate_id, delegation.delegator_id) == (gate.pk, carol.pk)
    assert delegation.starts_at > timezone.now() - timedelta(minutes=5)


# -- the pages' forms ----------------------------------------------------------------------------


def form_data(form) -> dict:
    """What the page's form would post, as it shows the row."""
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        data[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return data


def test_the_overview_form_does_not_move_or_rename_the_project(client, alice, oscar, plans):
    from projects.forms import ProjectOverviewForm

    project = plans["A"]["project"]
    fields = ("programme_id", "code", "manager_id", "version")
    before = stored(project, *fields)
    data = {
        **form_data(ProjectOverviewForm(instance=project)),
        "summary": "Changed",
        "programme": plans["B"]["project"].programme.pk,
        "code": "HIJACKED",
        "manager": oscar.pk,
        "notes": "planted",
    }
    answer = client_of(client, alice).post(
        reverse("project-overview-edit", args=[project.pk]), data
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    after = stored(project, *fields, "summary", "notes")
    assert after["summary"] == "Changed" and after["notes"] == project.notes
    assert {name: after[name] for name in fields} == {**before, "version": before["version"] + 1}


@pytest.mark.parametrize(
    ("route", "key", "form_class", "planted", "columns", "allowed"),
    [
        (
            "phase-edit",
            "phase",
            "projects.forms.PhaseForm",
            {"project": "B.project", "order": 99, "deleted_at": LONG_AGO},
            ("project_id", "order", "deleted_at"),
            {"name": "Renamed"},
        ),
        (
            "item-edit",
            "item",
            "projects.forms.ChecklistItemForm",
            {"phase": "B.phase", "done": "on", "order": 99},
            ("phase_id", "done", "order"),
            {"title": "Renamed"},
        ),
        (
            "risk-edit",
            "risk",
            "risks.forms.RiskForm",
            {"project": "B.project", "key": "R999", "score": 25},
            ("project_id", "key"),
            {"title": "Renamed"},
        ),
        (
            "kpi-edit",
            "kpi",
            "metrics.forms.KPIForm",
            {"project": "B.project", "status": "met", "status_changed_at": LONG_AGO},
            ("project_id", "status", "status_changed_at"),
            {"name": "Renamed"},
        ),
    ],
)
def test_an_edit_form_does_not_move_a_row_or_set_what_it_does_not_offer(
    client, alice, plans, route, key, form_class, planted, columns, allowed
):
    import importlib

    module, name = form_class.rsplit(".", 1)
    form_type = getattr(importlib.import_module(module), name)
    obj = plans["A"][key]
    kwargs = {"project": obj.project} if name == "KPIForm" else {}
    data = form_data(form_type(instance=obj, **kwargs))
    for field, value in planted.items():
        data[field] = (
            plans["B"][value[2:]].pk if isinstance(value, str) and value[:2] == "B." else value
        )
    before = stored(obj, *columns)
    answer = client_of(client, alice).post(reverse(route, args=[obj.pk]), {**data, **allowed})
    assert answer.status_code == 302, answer.content.decode()[:2000]  # saved
    assert stored(obj, *columns) == before
    assert stored(obj, *allowed) == allowed


def test_rows_made_on_a_page_belong_where_its_path_says(client, alice, plans):
    a, b = plans["A"], plans["B"]
    signed_in = client_of(client, alice)
    signed_in.post(
        reverse("phase-create", args=[a["project"].pk]),
        {"name": "Planted phase", "status": "not_started", "project": b["project"].pk},
    )
    signed_in.post(
        reverse("item-create", args=[a["phase"].pk]),
        {"title": "Planted item", "kind": "task", "phase": b["phase"].pk, "done": "on"},
    )
    signed_in.post(
        reverse("risk-create", args=[a["project"].pk]),
        {
            "title": "Planted risk",
            "category": "technical",
            "likelihood": 2,
            "impact": 2,
            "status": "open",
            "project": b["project"].pk,
            "key": "R77",
        },
    )
    signed_in.post(
        reverse("risk-action-create", args=[a["risk"].pk]),
        {"title": "Planted action", "risk": b["risk"].pk, "done": "on"},
    )
    signed_in.post(
        reverse("kpi-source", args=[a["kpi"].pk]),
        {"kind": "manual", "config": "{}", "interval": "00:05:00", "kpi": b["kpi"].pk},
    )
    assert Phase.objects.get(name="Planted phase").project_id == a["project"].pk
    item = ChecklistItem.objects.get(title="Planted item")
    assert (item.phase_id, item.done) == (a["phase"].pk, False)
    risk = Risk.objects.get(title="Planted risk")
    assert risk.project_id == a["project"].pk and risk.key != "R77"
    action = MitigationAction.objects.get(title="Planted action")
    assert (action.risk_id, action.done) == (a["risk"].pk, False)
    assert not MetricSource.objects.filter(kpi=b["kpi"]).exclude(pk=b["source"].pk).exists()


def test_a_signature_on_the_page_is_the_signers_own(client, alice, carol, plans):
    gate = plans["A"]["gate"]
    gate_services.gate_open(gate=gate, by=alice)
    signed_in = client_of(client, carol)
    sign = {
        "decision": "approve",
        "password": PASSWORD,
        "evidence": current_token(gate),
        "override_reason": "Accepted by the steering group",
        "signer": alice.pk,
        "signed_at": LONG_AGO,
        "on_behalf_of": alice.pk,
    }
    as_alice = signed_in.post(reverse("gate-sign", args=[gate.pk]), {**sign, "username": "alice"})
    assert as_alice.status_code == 422
    assert not SignOff.objects.filter(gate=gate).exists()
    answer = signed_in.post(reverse("gate-sign", args=[gate.pk]), {**sign, "username": "carol"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    signoff = SignOff.objects.get(gate=gate)
    assert (signoff.signer_id, signoff.on_behalf_of_id) == (carol.pk, None)
    assert signoff.signed_at > timezone.now() - timedelta(minutes=5)


def client_of(client, user):
    client.force_login(user)
    return client
