"""One policy for the pages and the API: every role, on its own project and on another, asks
the page and the API for the same thing, and both answer as `projects.policy` says: hidden
(404) where the user may not see the project, refused (403) where they may see but not do
it, let through otherwise (the change made, or the form answered with what to correct)."""

import pytest
from django.urls import reverse

from projects import policy
from projects.policy import Action
from tests.factories import (
    ChecklistItemFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MembershipFactory,
    PhaseFactory,
    ProjectFactory,
    RiskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ["manager", "contributor", "approver", "executive", "viewer"]


def outcome(status: int) -> str:
    if status == 404:
        return "hidden"
    if status == 403:
        return "refused"
    # Let through by the policy, whatever the object's state then made of it (409: already
    # done by the page's request before the API's).
    assert status in (200, 201, 204, 302, 400, 409, 422), status
    return "let through"


def expected(user, project, action: Action) -> str:
    if not policy.can(user, project, Action.VIEW):
        return "hidden"
    return "let through" if policy.can(user, project, action) else "refused"


def plan_of(project) -> dict:
    phase = PhaseFactory(project=project, order=1)
    gate = GateFactory(project=project)
    return {
        "project": project,
        "phase": phase,
        "item": ChecklistItemFactory(phase=phase, order=1),
        "risk": RiskFactory(project=project),
        "kpi": KPIFactory(project=project),
        "gate": gate,
        "criterion": GateCriterionFactory(gate=gate, kind="manual", text="Runbook rehearsed"),
    }


# Each: the action the policy decides, the page's request, the API's request.
CASES = {
    "see the project": (
        Action.VIEW,
        lambda o: ("get", reverse("project-detail", args=[o["project"].pk]), None),
        lambda o: ("get", f"/api/v1/projects/{o['project'].pk}/", None),
    ),
    "change the project's overview": (
        Action.EDIT,
        lambda o: ("post", reverse("project-overview-edit", args=[o["project"].pk]), {}),
        lambda o: ("patch", f"/api/v1/projects/{o['project'].pk}/", {"summary": "Now."}),
    ),
    "add a phase": (
        Action.EDIT,
        lambda o: ("post", reverse("phase-create", args=[o["project"].pk]), {}),
        lambda o: ("post", "/api/v1/phases/", {"project": o["project"].pk, "name": "Pilot"}),
    ),
    "change a checklist item": (
        Action.EDIT,
        lambda o: ("post", reverse("item-edit", args=[o["item"].pk]), {}),
        lambda o: ("patch", f"/api/v1/checklist-items/{o['item'].pk}/", {"title": "Re-check"}),
    ),
    "see a risk": (
        Action.VIEW,
        lambda o: ("get", reverse("risk-detail", args=[o["risk"].pk]), None),
        lambda o: ("get", f"/api/v1/risks/{o['risk'].pk}/", None),
    ),
    "assess a risk": (
        Action.EDIT,
        lambda o: ("post", reverse("risk-edit", args=[o["risk"].pk]), {}),
        lambda o: ("patch", f"/api/v1/risks/{o['risk'].pk}/", {"likelihood": 2}),
    ),
    "add a risk": (
        Action.EDIT,
        lambda o: ("post", reverse("risk-create", args=[o["project"].pk]), {}),
        lambda o: (
            "post",
            "/api/v1/risks/",
            {"project": o["project"].pk, "title": "Replica lag", "likelihood": 2, "impact": 3},
        ),
    ),
    "see a KPI": (
        Action.VIEW,
        lambda o: ("get", reverse("kpi-detail", args=[o["kpi"].pk]), None),
        lambda o: ("get", f"/api/v1/kpis/{o['kpi'].pk}/", None),
    ),
    "change a KPI's target": (
        Action.EDIT,
        lambda o: ("post", reverse("kpi-edit", args=[o["kpi"].pk]), {}),
        lambda o: ("patch", f"/api/v1/kpis/{o['kpi'].pk}/", {"target_value": 10}),
    ),
    "see a gate": (
        Action.VIEW,
        lambda o: ("get", reverse("gate-detail", args=[o["gate"].pk]), None),
        lambda o: ("get", f"/api/v1/gates/{o['gate'].pk}/record/", None),
    ),
    "open a gate for sign-off": (
        Action.MANAGE,
        lambda o: ("post", reverse("gate-open", args=[o["gate"].pk]), {}),
        lambda o: ("post", f"/api/v1/gates/{o['gate'].pk}/open/", {}),
    ),
    "attest a manual criterion": (
        Action.EDIT,
        lambda o: ("post", reverse("criterion-attest", args=[o["criterion"].pk]), {}),
        lambda o: ("post", f"/api/v1/gate-criteria/{o['criterion'].pk}/attest/", {}),
    ),
}


def ask(client, method, path, data, api):
    if data is None:
        return getattr(client, method)(path)
    if api:
        return getattr(client, method)(path, data, content_type="application/json")
    return getattr(client, method)(path, data)


@pytest.mark.parametrize("role", ROLES)
def test_pages_and_api_answer_every_action_as_the_policy_does(client, role):
    own = ProjectFactory(code="OWN")
    other = ProjectFactory(code="OTHER")
    user = UserFactory(username=f"the-{role}")
    if role == "executive":  # executives read whole programmes
        MembershipFactory(user=user, project=None, programme=own.programme, role=role)
    else:
        MembershipFactory(user=user, project=own, role=role)
    MembershipFactory(user=UserFactory(), project=other, role="manager")
    plans = {"own project": plan_of(own), "another project": plan_of(other)}
    client.force_login(user)
    answers, wanted = {}, {}
    for where, objects in plans.items():
        for name, (action, page, api) in CASES.items():
            key = f"{name} on {where}"
            wanted[key] = expected(user, objects["project"], action)
            page_answer = outcome(ask(client, *page(objects), api=False).status_code)
            api_answer = outcome(ask(client, *api(objects), api=True).status_code)
            answers[key] = (page_answer, api_answer)
    assert answers == {key: (answer, answer) for key, answer in wanted.items()}
    # The matrix is not trivially one answer: each role is let through somewhere and kept out
    # of the other project.
    assert wanted["see the project on own project"] == "let through"
    assert wanted["see the project on another project"] == "hidden"
