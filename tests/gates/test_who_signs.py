"""Who may sign a gate is decided once, in `gates.policy`: the service that records a
signature, the gate page's sign form and the inbox all give the same answer."""

from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.people import display_name
from gates import policy, selectors, services
from gates.evidence import current_token
from tests.factories import GateApproverFactory, GateFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def gate(project_a, alice, carol):
    gate = GateFactory(project=project_a, name="Cutover go/no-go")
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    GateApproverFactory(gate=gate, title="Tech Lead", user=alice, role="")
    services.gate_open(gate=gate, by=alice)
    gate.refresh_from_db()
    return gate


def delegate(gate, delegator, to):
    until = timezone.now() + timedelta(days=1)
    services.gate_delegate(gate=gate, delegator=delegator, delegate=to, until=until, by=delegator)


def answers(user, gate) -> tuple[bool, bool, bool]:
    """(the policy, the gate page's sign form, the inbox): may `user` sign `gate`?"""
    client = Client()
    client.force_login(user)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    inbox = selectors.gates_awaiting_signature(user=user)
    return policy.can_sign(user, gate), "Sign this gate" in page, gate in inbox


def sign(gate, user):
    return services.gate_sign(
        gate=gate,
        signer=user,
        decision="approve",
        password=PASSWORD,
        evidence_token=current_token(gate),
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
    )


def test_a_delegate_may_sign_for_the_approver_everywhere(gate, carol, victor):
    assert answers(victor, gate) == (False, False, False)
    delegate(gate, carol, victor)
    assert answers(victor, gate) == (True, True, True)
    assert sign(gate, victor).on_behalf_of == carol


def test_once_the_delegate_signed_neither_they_nor_the_approver_may_sign_again(gate, carol, victor):
    delegate(gate, carol, victor)
    sign(gate, victor)
    assert answers(victor, gate) == (False, False, False)
    assert answers(carol, gate) == (False, False, False)
    with pytest.raises(services.GateRefused, match=f"{display_name(carol)} has already signed"):
        sign(gate, carol)


def test_a_delegation_lapses_when_the_delegator_is_no_longer_an_approver(gate, carol, victor):
    delegate(gate, carol, victor)
    gate.approvers.get(user=carol).delete()
    assert answers(victor, gate) == (False, False, False)
    with pytest.raises(services.GateRefused, match="not a required approver"):
        sign(gate, victor)


def test_a_role_held_on_the_programme_makes_a_required_approver(gate, programme):
    gate.approvers.create(title="Change board", role="approver")
    board_member = UserFactory(username="petra")
    MembershipFactory(user=board_member, project=None, programme=programme, role="approver")
    assert answers(board_member, gate) == (True, True, True)
    assert board_member in policy.required_approvers(gate)


def test_the_inbox_takes_a_constant_number_of_queries(
    project_a, alice, carol, victor, django_assert_max_num_queries
):
    def open_gates(count):
        for _ in range(count):
            gate = GateFactory(project=project_a)
            GateApproverFactory(gate=gate, user=carol, role="")
            GateApproverFactory(gate=gate, role="approver")
            services.gate_open(gate=gate, by=alice)
            delegate(gate, carol, victor)

    open_gates(2)
    with django_assert_max_num_queries(12) as few:
        assert len(selectors.gates_awaiting_signature(user=victor)) == 2
    open_gates(6)
    with django_assert_max_num_queries(len(few)):
        assert len(selectors.gates_awaiting_signature(user=victor)) == 8
