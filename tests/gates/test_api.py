"""Gates over the API: their criteria and approvers, changed by managers and recorded as on the
admin; sign-offs given with the password, as on the page, and never changed; the trail read."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gates.models import GateCriterion, SignOff
from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def gate(project_a, alice, carol):
    from gates import services

    gate = GateFactory(project=project_a, name="Cutover go/no-go")
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420)
    GateCriterionFactory(
        gate=gate, order=1, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    return gate


def post(client, path, data):
    return client.post(path, data, content_type="application/json")


def sign(client, gate, **data):
    shown = client.get(f"/api/v1/gates/{gate.pk}/record/").json()["evidence"]
    body = {"gate": gate.pk, "decision": "approve", "password": PASSWORD, "evidence": shown}
    return post(client, "/api/v1/sign-offs/", {**body, **data})


def test_a_signature_needs_the_password_and_is_then_recorded_with_the_gate_as_read(
    client, gate, carol
):
    client.force_login(carol)
    wrong = sign(client, gate, password="not it")
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == {
        "password": ["The password is not correct; nothing was signed."]
    }
    assert not SignOff.objects.exists()

    signed = sign(client, gate, comment="Latency well within budget")
    assert signed.status_code == 201, signed.json()
    body = signed.json()
    assert (body["signer"], body["decision"], body["comment"]) == (
        "carol",
        "approve",
        "Latency well within budget",
    )
    assert "password" not in body and "evidence" not in body
    signoff = SignOff.objects.get()
    assert signoff.content_hash == body["content_hash"]
    gate.refresh_from_db()
    assert gate.decision == "go"  # carol was the only approver required
    assert client.get(f"/api/v1/gates/{gate.pk}/record/").json()["signatures"][0]["id"] == (
        signoff.pk
    )


def test_a_signature_on_a_gate_read_before_it_changed_is_refused(client, gate, carol):
    client.force_login(carol)
    stale = client.get(f"/api/v1/gates/{gate.pk}/record/").json()["evidence"]
    MeasurementFactory(  # the latest value now fails the criterion
        kpi=gate.criteria.get().kpi, value=650, at=timezone.now() + timedelta(seconds=1)
    )
    response = sign(client, gate, evidence=stale)
    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"] == [
        "Since the gate was shown to you, “p95 < 500 ms” is now Not met (it was Met); the "
        "recommendation is now NO-GO (it was GO). Review it again and sign what you see now."
    ]
    assert not SignOff.objects.exists()


def test_only_a_required_approver_signs_and_signatures_are_never_changed(client, gate, bob, carol):
    client.force_login(bob)  # a contributor, not an approver of this gate
    refused = sign(client, gate)
    assert refused.status_code == 400
    assert refused.json()["errors"]["non_field_errors"] == [
        "You are not a required approver of this gate."
    ]
    client.force_login(carol)
    signoff_id = sign(client, gate).json()["id"]
    for method in (client.put, client.patch, client.delete):
        answer = method(f"/api/v1/sign-offs/{signoff_id}/", {}, content_type="application/json")
        assert answer.status_code == 405
    assert SignOff.objects.get().decision == "approve"


def test_a_manager_changing_a_criterion_invalidates_the_signatures_and_it_is_in_the_trail(
    client, project_a, alice, carol
):
    from gates import services

    gate = GateFactory(project=project_a, name="Phase 2 exit")
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    GateApproverFactory(gate=gate, title="Tech Lead", user=UserFactory(), role="")
    criterion = GateCriterionFactory(gate=gate, text="Runbook reviewed")
    services.gate_open(gate=gate, by=alice)
    client.force_login(carol)
    refused = sign(client, gate)  # the runbook is not attested: the advice is INCONCLUSIVE
    assert (
        "approving against it needs your reason" in refused.json()["errors"]["non_field_errors"][0]
    )
    assert sign(client, gate, override_reason="Runbook reviewed in the CAB").status_code == 201

    client.force_login(alice)
    changed = client.patch(
        f"/api/v1/gate-criteria/{criterion.pk}/",
        {"text": "Runbook reviewed and rehearsed"},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.json()
    signoff = SignOff.objects.get()
    assert signoff.invalidated_at is not None
    assert signoff.invalidated_reason == "The gate's criteria changed after this signature."
    trail = client.get(f"/api/v1/audit-entries/?gate={gate.pk}").json()["results"]
    assert [entry["action"] for entry in trail] == [
        "opened",
        "signed",
        "criterion_changed",
        "invalidated",
    ]
    assert trail[2]["before"]["text"] == "Runbook reviewed"
    assert trail[2]["after"]["text"] == "Runbook reviewed and rehearsed"
    assert trail[2]["actor"] == "alice"


def test_criteria_are_validated_as_on_the_admin(client, project_a, project_b, alice):
    gate = GateFactory(project=project_a)
    other_kpi = KPIFactory(project=project_b)
    client.force_login(alice)
    no_condition = post(
        client,
        "/api/v1/gate-criteria/",
        {"gate": gate.pk, "text": "p95 < 500 ms", "kind": "kpi"},
    )
    assert no_condition.status_code == 400
    assert "names its KPI and condition" in str(no_condition.json()["errors"])
    foreign = post(
        client,
        "/api/v1/gate-criteria/",
        {
            "gate": gate.pk,
            "text": "p95",
            "kind": "kpi",
            "kpi": other_kpi.pk,
            "comparator": "lt",
            "threshold": 5,
        },
    )
    assert foreign.status_code == 404  # a KPI of a project alice is not in: not found
    assert foreign.json() == {"detail": f"No kpi {other_kpi.pk} that you may see."}
    assert not GateCriterion.objects.exists()


def test_the_definition_is_read_by_members_and_changed_by_managers_only(
    client, project_a, bob, oscar
):
    gate = GateFactory(project=project_a)
    criterion = GateCriterionFactory(gate=gate)
    approver = GateApproverFactory(gate=gate)
    client.force_login(bob)  # contributor
    assert client.get(f"/api/v1/gate-criteria/{criterion.pk}/").status_code == 200
    assert client.delete(f"/api/v1/gate-criteria/{criterion.pk}/").status_code == 403
    assert client.delete(f"/api/v1/gate-approvers/{approver.pk}/").status_code == 403
    created = post(client, "/api/v1/gate-approvers/", {"gate": gate.pk, "role": "approver"})
    assert created.status_code == 403
    client.force_login(oscar)  # a manager, of another project
    assert client.get(f"/api/v1/gate-criteria/{criterion.pk}/").status_code == 404
    assert client.delete(f"/api/v1/gate-approvers/{approver.pk}/").status_code == 404
    assert client.get(f"/api/v1/audit-entries/?gate={gate.pk}").json()["count"] == 0


def test_a_manager_names_an_approver_by_username(client, project_a, alice, carol):
    gate = GateFactory(project=project_a)
    client.force_login(alice)
    added = post(client, "/api/v1/gate-approvers/", {"gate": gate.pk, "user": "carol"})
    assert added.status_code == 201, added.json()
    assert gate.approvers.get().user == carol
    again = post(client, "/api/v1/gate-approvers/", {"gate": gate.pk, "user": "carol"})
    assert again.status_code == 400
    assert "already a required approver" in str(again.json()["errors"])
    unknown = post(client, "/api/v1/gate-approvers/", {"gate": gate.pk, "user": "nobody"})
    assert unknown.status_code == 400 and "user" in unknown.json()["errors"]
    removed = client.delete(f"/api/v1/gate-approvers/{gate.approvers.get().pk}/")
    assert removed.status_code == 204 and not gate.approvers.exists()
    assert [e.action for e in gate.audit_entries.order_by("sequence")] == [
        "approver_changed",
        "approver_changed",
    ]


def test_the_audit_trail_is_read_only(client, gate, alice):
    client.force_login(alice)
    entry = client.get("/api/v1/audit-entries/").json()["results"][0]
    assert entry["action"] == "opened" and entry["actor"] == "alice"
    assert post(client, "/api/v1/audit-entries/", {"gate": gate.pk}).status_code == 405
    assert client.delete(f"/api/v1/audit-entries/{entry['id']}/").status_code == 405


def test_a_decided_gate_keeps_its_criteria_and_approvers(client, gate, alice, carol):
    """Once decided, what the gate was judged on is its record: the API refuses to change,
    add or remove a criterion or an approver (409), and nothing changes."""
    client.force_login(carol)
    assert sign(client, gate).status_code == 201
    gate.refresh_from_db()
    assert gate.state == "decided"
    criterion = gate.criteria.get()
    approver = gate.approvers.get()
    trail_before = gate.audit_entries.count()

    client.force_login(alice)
    changed = client.patch(
        f"/api/v1/gate-criteria/{criterion.pk}/",
        {"text": "changed after the decision"},
        content_type="application/json",
    )
    assert changed.status_code == 409
    assert "part of its record" in changed.json()["detail"]
    assert client.delete(f"/api/v1/gate-criteria/{criterion.pk}/").status_code == 409
    assert client.delete(f"/api/v1/gate-approvers/{approver.pk}/").status_code == 409
    added = post(
        client, "/api/v1/gate-criteria/", {"gate": gate.pk, "text": "One more", "kind": "manual"}
    )
    assert added.status_code == 409
    criterion.refresh_from_db()
    assert criterion.text == "p95 < 500 ms"
    assert gate.criteria.count() == 1 and gate.approvers.count() == 1
    assert gate.audit_entries.count() == trail_before


def test_managers_open_and_cancel_gates_as_on_the_page(client, project_a, alice, bob, oscar):
    draft = GateFactory(project=project_a, name="Phase 1 exit")
    client.force_login(bob)  # a contributor: may see, may not open
    assert post(client, f"/api/v1/gates/{draft.pk}/open/", {}).status_code == 403
    client.force_login(oscar)  # another project's manager: not found
    assert post(client, f"/api/v1/gates/{draft.pk}/open/", {}).status_code == 404

    client.force_login(alice)
    opened = post(client, f"/api/v1/gates/{draft.pk}/open/", {})
    assert opened.status_code == 200 and opened.json()["state"] == "open"
    again = post(client, f"/api/v1/gates/{draft.pk}/open/", {})
    assert again.status_code == 409
    assert again.json() == {
        "detail": "Only a draft gate can be opened; this one is open for sign-off."
    }

    no_reason = post(client, f"/api/v1/gates/{draft.pk}/cancel/", {})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    cancelled = post(client, f"/api/v1/gates/{draft.pk}/cancel/", {"reason": "Merged into 2"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    actions = list(draft.audit_entries.order_by("sequence").values_list("action", flat=True))
    assert actions[-2:] == ["opened", "cancelled"]
    assert draft.audit_entries.last().after["reason"] == "Merged into 2"


def test_an_approver_delegates_their_signature_over_the_api(client, gate, bob, carol, alice):
    client.force_login(bob)  # not an approver of the gate
    until = (timezone.now() + timedelta(days=2)).isoformat()
    refused = post(
        client, f"/api/v1/gates/{gate.pk}/delegations/", {"delegate": "alice", "until": until}
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == "Only a required approver can delegate their signature."

    client.force_login(carol)
    past = post(
        client,
        f"/api/v1/gates/{gate.pk}/delegations/",
        {"delegate": bob.username, "until": "2020-01-01T00:00:00Z"},
    )
    assert past.status_code == 400
    assert past.json()["errors"] == {"until": ["The delegation must end in the future."]}
    made = post(
        client, f"/api/v1/gates/{gate.pk}/delegations/", {"delegate": bob.username, "until": until}
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["delegator"], made.json()["delegate"]) == ("carol", "bob")

    client.force_login(bob)  # now bob signs for carol
    signed = sign(client, gate, password=PASSWORD)
    assert signed.status_code == 201, signed.json()
    assert (signed.json()["signer"], signed.json()["on_behalf_of"]) == ("bob", "carol")


def test_a_manual_criterion_is_attested_by_an_editor(client, gate, bob, victor):
    manual = GateCriterionFactory(gate=gate, order=2, text="Runbook rehearsed", kind="manual")
    client.force_login(victor)  # a viewer: may read, not attest
    assert post(client, f"/api/v1/gate-criteria/{manual.pk}/attest/", {}).status_code == 403
    client.force_login(bob)
    attested = post(client, f"/api/v1/gate-criteria/{manual.pk}/attest/", {})
    assert attested.status_code == 200
    assert attested.json()["attested_by"] == bob.pk and attested.json()["attested_at"]
    twice = post(client, f"/api/v1/gate-criteria/{manual.pk}/attest/", {})
    assert twice.status_code == 409
    assert twice.json()["detail"] == "This criterion is already attested."
    kpi_criterion = gate.criteria.get(order=1)
    on_data = post(client, f"/api/v1/gate-criteria/{kpi_criterion.pk}/attest/", {})
    assert on_data.status_code == 409


def test_approver_lists_take_the_same_queries_for_3_or_30(
    client, project_a, alice, django_assert_max_num_queries
):
    gate = GateFactory(project=project_a)
    client.force_login(alice)

    def approvers_listed(count):
        for n in range(count - gate.approvers.count()):
            GateApproverFactory(gate=gate, title=f"Approver {n}", user=UserFactory(), role="")
        with django_assert_max_num_queries(8) as captured:
            listed = client.get(f"/api/v1/gate-approvers/?gate={gate.pk}")
        assert listed.status_code == 200 and listed.json()["count"] == count
        return len(captured)

    assert approvers_listed(3) == approvers_listed(30)
