"""The conditions on the gate's page: how many are met, each one's owner and due date, and the
forms to change them and to mark one met, for those allowed (a non-member is told nothing, a
member who may not is refused); a form that fails keeps what was typed."""

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.people import display_name
from gates import conditions, services
from gates.models import GateCondition
from tests.factories import GateApproverFactory, GateFactory, PhaseFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def gate(project_a, alice, carol):
    phase = PhaseFactory(project=project_a, order=1, name="Cutover")
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


def form_data(condition, **values) -> dict:
    values = {"owner": condition.owner_id, "due_date": condition.due_date.isoformat(), **values}
    return {f"condition-{condition.pk}-{name}": value for name, value in values.items()}


def overdue(condition, days=1) -> GateCondition:
    GateCondition.objects.filter(pk=condition.pk).update(
        due_date=timezone.localdate() - timedelta(days=days)
    )
    condition.refresh_from_db()
    return condition


# Who may change them


def test_an_outsider_is_told_nothing_and_members_who_may_not_are_refused(
    client, decided, oscar, victor, bob, carol
):
    condition = first(decided)
    update = reverse("gate-condition-update", args=[condition.pk])
    met = reverse("gate-condition-met", args=[condition.pk])
    client.force_login(oscar)
    assert client.post(update, form_data(condition)).status_code == 404
    assert client.post(met).status_code == 404
    for member in (victor, bob, carol):  # viewer, contributor, approver: neither owner nor manager
        client.force_login(member)
        assert client.post(update, form_data(condition)).status_code == 403, member
        assert client.post(met, headers={"HX-Request": "true"}).status_code == 403, member
    condition.refresh_from_db()
    assert (
        condition.met_at is None
        and decided.audit_entries.filter(action__in=["condition_changed", "condition_met"]).count()
        == 0
    )


def test_the_owner_marks_their_condition_met_but_does_not_reassign_it(client, decided, alice, bob):
    condition = conditions.gate_condition_update(
        condition=first(decided), by=alice, owner=bob, due_date=first(decided).due_date
    )
    client.force_login(bob)
    update = reverse("gate-condition-update", args=[condition.pk])
    assert client.post(update, form_data(condition, owner=alice.pk)).status_code == 403
    response = client.post(reverse("gate-condition-met", args=[condition.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith(f"#condition-{condition.pk}")
    condition.refresh_from_db()
    assert (condition.met_by, condition.owner) == (bob, bob)


# Changing owner and due date


def test_a_manager_gives_a_condition_another_owner_and_due_date(client, decided, alice, bob):
    condition = first(decided)
    was_due, later = condition.due_date, timezone.localdate() + timedelta(days=40)
    client.force_login(alice)
    url = reverse("gate-condition-update", args=[condition.pk])
    response = client.post(url, form_data(condition, owner=bob.pk, due_date=later), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="gate-conditions"')
    assert "<html" not in body
    assert display_name(bob) in body and later.strftime("%A") in body
    condition.refresh_from_db()
    assert (condition.owner, condition.due_date) == (bob, later)
    entry = decided.audit_entries.get(action="condition_changed")
    assert entry.actor == alice
    assert entry.before == {
        "condition": condition.pk,
        "owner": alice.pk,
        "due_date": was_due.isoformat(),
    }
    assert entry.after == {
        "condition": condition.pk,
        "owner": bob.pk,
        "due_date": later.isoformat(),
    }
    assert services.gate_audit_verify(gate=decided)[0]

    # Without htmx: the gate's page again, at the condition.
    response = client.post(url, form_data(condition, owner=alice.pk))
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("gate-detail", args=[decided.pk]) + f"#condition-{condition.pk}"
    )
    condition.refresh_from_db()
    assert condition.owner == alice


def test_saving_what_is_already_there_writes_nothing(client, decided, alice):
    condition = first(decided)
    client.force_login(alice)
    client.post(reverse("gate-condition-update", args=[condition.pk]), form_data(condition))
    assert not decided.audit_entries.filter(action="condition_changed").exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"due_date": "31/02/2027"}, "Give the day it is due as a date"),
        ({"due_date": ""}, "Give the day it is due."),
        ({"owner": "999999"}, "Choose a member of the project."),
        ({"owner": ""}, "Choose who owns this condition."),
        ({"due_date": "2001-01-01"}, "A new due date cannot lie in the past"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_a_form_that_fails_keeps_what_was_typed_and_says_what_is_wrong(
    client, decided, alice, values, message, htmx
):
    condition = first(decided)
    client.force_login(alice)
    response = client.post(
        reverse("gate-condition-update", args=[condition.pk]),
        form_data(condition, **values),
        **(HTMX if htmx else {}),
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert ("<html" in body) is not htmx
    if values.get("due_date"):
        assert f'value="{values["due_date"]}"' in body
    assert "<details open>" in body
    unchanged = GateCondition.objects.get(pk=condition.pk)
    assert (unchanged.owner_id, unchanged.due_date) == (condition.owner_id, condition.due_date)
    assert not decided.audit_entries.filter(action="condition_changed").exists()


def test_an_overdue_condition_keeps_its_due_date_while_its_owner_changes(
    client, decided, alice, bob
):
    condition = first(decided)
    past = timezone.localdate() - timedelta(days=2)
    GateCondition.objects.filter(pk=condition.pk).update(due_date=past)
    condition.refresh_from_db()
    client.force_login(alice)
    response = client.post(
        reverse("gate-condition-update", args=[condition.pk]), form_data(condition, owner=bob.pk)
    )
    assert response.status_code == 302
    condition.refresh_from_db()
    assert (condition.owner, condition.due_date) == (bob, past)


# Marking met


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_marking_met_records_who_and_when_once(client, decided, alice, htmx):
    condition = first(decided)
    client.force_login(alice)
    url = reverse("gate-condition-met", args=[condition.pk])
    headers = HTMX if htmx else {}
    response = client.post(url, **headers)
    assert response.status_code == (200 if htmx else 302)
    if htmx:
        assert "1 of 2 conditions met" in response.content.decode()
    condition.refresh_from_db()
    assert condition.met_by == alice and condition.met_at is not None
    entry = decided.audit_entries.get(action="condition_met")
    assert (entry.actor, entry.after["condition"]) == (alice, condition.pk)

    again = client.post(url, **headers)
    assert again.status_code == (409 if htmx else 302)
    if htmx:
        assert "This condition is met" in again.content.decode()
    assert decided.audit_entries.filter(action="condition_met").count() == 1
    assert services.gate_audit_verify(gate=decided)[0]


# The gate's page


def test_the_gate_page_shows_how_many_conditions_are_met_and_each_ones_owner_and_due_date(
    client, decided, alice, victor
):
    met, late = decided.conditions.order_by("order")
    conditions.gate_condition_mark_met(condition=met, by=alice)
    late = overdue(late, days=3)
    client.force_login(victor)
    page = client.get(reverse("gate-detail", args=[decided.pk])).content.decode()
    assert "1 of 2 conditions met" in page
    section = page[page.index('id="gate-conditions"') :]
    section = section[: section.index("</section>")]
    assert "Rehearse the rollback" in section and "Tell support" in section
    assert section.count(display_name(alice)) >= 2  # owner of both, and who met the first
    assert f"Due {late.due_date:%A} {late.due_date.day} {late.due_date:%B %Y}" in section
    assert "3 days ago" in section and "Overdue" in section
    assert "Mark met" not in section and "Change owner" not in section  # a viewer changes nothing

    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[decided.pk])).content.decode()
    assert page.count("Mark met") == 1 and page.count("Change owner or due date") == 1


def test_a_gate_without_conditions_shows_no_conditions_section(client, gate, victor):
    client.force_login(victor)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert 'id="gate-conditions"' not in page
