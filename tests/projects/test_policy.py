"""The permission matrix: role × action × own / other project."""

import pytest

from gates import policy as gate_policy
from metrics import policy as metric_policy
from projects import policy
from projects.policy import Action
from risks import policy as risk_policy
from tests.factories import (
    GateApproverFactory,
    GateFactory,
    KPIFactory,
    MembershipFactory,
    RiskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EXPECTED = {
    "manager": {Action.VIEW, Action.EDIT, Action.MANAGE},
    "contributor": {Action.VIEW, Action.EDIT},
    "approver": {Action.VIEW, Action.SIGN},
    "executive": {Action.VIEW},
    "viewer": {Action.VIEW},
}


@pytest.mark.parametrize("role", EXPECTED)
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("scope", ["project", "programme"])
def test_a_role_grants_its_actions_on_its_own_project_and_none_on_another(
    role, action, scope, project_a, project_b
):
    user = UserFactory()
    if scope == "project":
        MembershipFactory(user=user, project=project_a, role=role)
    else:
        MembershipFactory(user=user, project=None, programme=project_a.programme, role=role)

    assert policy.can(user, project_a, action) is (action in EXPECTED[role])
    assert policy.can(user, project_b, action) is False
    listed = policy.projects_where(user, action)
    assert (project_a in listed) is (action in EXPECTED[role])
    assert project_b not in listed


@pytest.mark.parametrize("action", list(Action))
def test_superusers_view_edit_and_manage_but_do_not_sign(action, project_a, superuser):
    assert policy.can(superuser, project_a, action) is (action != Action.SIGN)


def test_anonymous_and_deactivated_users_may_do_nothing(project_a, alice):
    from django.contrib.auth.models import AnonymousUser

    alice.is_active = False
    for user in (AnonymousUser(), alice):
        assert not any(policy.can(user, project_a, action) for action in Action)
        assert not policy.visible_projects(user).exists()


def test_roles_combine_across_project_and_programme(project_a):
    user = UserFactory()
    MembershipFactory(user=user, project=project_a, role="viewer")
    MembershipFactory(user=user, project=None, programme=project_a.programme, role="approver")
    assert policy.allowed_actions(user, project_a) == {Action.VIEW, Action.SIGN}


def test_get_project_for_hides_other_projects_and_refuses_missing_rights(
    project_a, project_b, victor
):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    assert policy.get_project_for(victor, project_a.pk) == project_a
    with pytest.raises(Http404):
        policy.get_project_for(victor, project_b.pk)
    with pytest.raises(PermissionDenied):
        policy.get_project_for(victor, project_a.pk, Action.EDIT)


def test_visible_programmes_are_those_holding_a_visible_project(project_a, project_b, victor):
    assert list(policy.visible_programmes(victor)) == [project_a.programme]


@pytest.mark.parametrize(
    ("persona", "may_view", "may_edit"),
    [
        ("alice", True, True),
        ("bob", True, True),
        ("carol", True, False),
        ("erin", True, False),
        ("victor", True, False),
        ("oscar", False, False),
    ],
)
def test_risk_and_kpi_policies_follow_the_project(persona, may_view, may_edit, project_a, request):
    user = request.getfixturevalue(persona)
    risk, kpi = RiskFactory(project=project_a), KPIFactory(project=project_a)
    assert metric_policy.can_edit_kpi(user, kpi) is may_edit
    assert (risk in risk_policy.visible_risks(user)) is may_view
    assert (kpi in metric_policy.visible_kpis(user)) is may_view


@pytest.mark.parametrize(
    ("persona", "may_view", "may_manage", "may_sign"),
    [
        ("alice", True, True, False),
        ("bob", True, False, False),
        ("carol", True, False, True),
        ("erin", True, False, False),
        ("victor", True, False, False),
        ("oscar", False, False, False),
    ],
)
def test_gate_policy_lets_only_required_approvers_sign_an_open_gate(
    persona, may_view, may_manage, may_sign, project_a, request
):
    user = request.getfixturevalue(persona)
    gate = GateFactory(project=project_a, state="open")
    GateApproverFactory(gate=gate, title="Tech Lead", role="approver")
    assert gate_policy.can_view_gate(user, gate) is may_view
    assert gate_policy.can_manage_gate(user, gate) is may_manage
    assert gate_policy.can_sign(user, gate) is may_sign
    assert (gate in gate_policy.visible_gates(user)) is may_view


def test_a_named_approver_signs_even_without_the_approver_role(project_a, victor):
    gate = GateFactory(project=project_a, state="open")
    GateApproverFactory(gate=gate, user=victor, role="")
    assert gate_policy.can_sign(victor, gate)


def test_a_named_approver_who_lost_access_to_the_project_cannot_sign(project_b, victor):
    gate = GateFactory(project=project_b, state="open")
    GateApproverFactory(gate=gate, user=victor, role="")
    assert not gate_policy.can_sign(victor, gate)


@pytest.mark.parametrize("state", ["draft", "decided", "cancelled"])
def test_only_an_open_gate_can_be_signed(state, project_a, carol):
    from django.utils import timezone

    decided = {"decision": "go", "decided_at": timezone.now()} if state == "decided" else {}
    gate = GateFactory(project=project_a, state=state, **decided)
    GateApproverFactory(gate=gate, role="approver")
    assert not gate_policy.can_sign(carol, gate)
