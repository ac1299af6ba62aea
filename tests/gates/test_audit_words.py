"""A gate's audit trail reads as sentences: who did what, in words, for every kind of entry;
what the entry records stays behind "Technical details"."""

import io
import re
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from gates import conditions, services
from gates.audit_words import audit_sentences
from gates.models import AuditAction, GateAuditEntry, GateCondition, SignOff
from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    PhaseFactory,
    SignOffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def people(alice, carol):
    alice.first_name, alice.last_name = "Alex", "Morgan"
    alice.save()
    carol.first_name, carol.last_name = "Sam", "Lee"
    carol.save()
    return alice, carol


@pytest.fixture
def gate(project_a, people):
    return GateFactory(project=project_a, name="Cutover go/no-go", kind="go_no_go")


@pytest.fixture
def kpi(project_a):
    return KPIFactory(project=project_a, name="API p95 latency", unit="ms")


def read(gate, action, *, actor=None, before=None, after=None) -> str:
    entry = GateAuditEntry(
        gate=gate, sequence=1, at=timezone.now(), actor=actor, action=action,
        before=before or {}, after=after or {},
    )  # fmt: skip
    return audit_sentences([entry])[0]


def test_opening_and_cancelling(gate, people):
    alex, _ = people
    opened = read(gate, "opened", actor=alex, before={"state": "draft"}, after={"state": "open"})
    assert opened == "Alex Morgan opened the gate for sign-off."
    cancelled = read(
        gate, "cancelled", actor=alex, after={"state": "cancelled", "reason": "Scope moved"}
    )
    assert cancelled == "Alex Morgan cancelled the gate: Scope moved."


def test_a_signature_says_who_signed_what_for_whom_and_against_which_advice(gate, people):
    alex, sam = people
    signoff = SignOffFactory(gate=gate, signer=sam)
    after = {
        "signoff": signoff.pk,
        "signer": sam.pk,
        "on_behalf_of": None,
        "decision": "approve",
        "content_hash": "a" * 64,
        "recommendation": "go",
        "conditions": "",
        "override_reason": "",
    }
    assert read(gate, "signed", actor=sam, after=after) == (
        "Sam Lee signed: approved; the criteria recommended GO."
    )
    delegated = {
        **after,
        "on_behalf_of": alex.pk,
        "decision": "approve_with_conditions",
        "conditions": "Rollback rehearsed",
        "recommendation": "no_go",
        "override_reason": "The breach is a known reporting lag",
    }
    assert read(gate, "signed", actor=sam, after=delegated) == (
        "Sam Lee signed for Alex Morgan: approved with conditions (“Rollback rehearsed”), "
        "against the NO-GO recommendation, because: The breach is a known reporting lag."
    )


def test_a_decision_and_a_delegation(gate, people):
    alex, sam = people
    decided = read(
        gate,
        "decided",
        actor=sam,
        before={"state": "open"},
        after={
            "state": "decided",
            "decision": "conditional_go",
            "conditions": ["Rollback rehearsed"],
            "overridden_recommendation": "",
            "override_reason": "",
        },
    )
    assert decided == (
        "The gate was decided CONDITIONAL GO when Sam Lee signed. Conditions: Rollback rehearsed."
    )
    overridden = read(
        gate,
        "decided",
        actor=sam,
        after={"decision": "go", "overridden_recommendation": "inconclusive"},
    )
    assert overridden == (
        "The gate was decided GO against the INCONCLUSIVE recommendation when Sam Lee signed."
    )
    until = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        delegated = read(
            gate,
            "delegated",
            actor=alex,
            after={"delegator": alex.pk, "delegate": sam.pk, "until": until.isoformat()},
        )
    assert delegated == "Alex Morgan let Sam Lee sign for Alex Morgan until 10 Dec 2026, 18:00 CET."


def test_an_invalidated_signature_names_its_signer(gate, people):
    alex, sam = people
    signoff = SignOffFactory(gate=gate, signer=sam)
    invalidated = read(
        gate,
        "invalidated",
        actor=alex,
        before={"signoff": signoff.pk},
        after={"reason": "The gate's criteria changed after this signature."},
    )
    assert invalidated == (
        "Sam Lee's signature was invalidated: The gate's criteria changed after this signature."
    )


def test_a_criterion_added_changed_and_removed(gate, people, kpi):
    alex, _ = people
    criterion = GateCriterionFactory(
        gate=gate, text="p95 under 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    described = services._described(criterion)
    assert read(gate, "criterion_changed", actor=alex, after=described) == (
        "Alex Morgan added the criterion “p95 under 500 ms”."
    )
    changed = {**described, "threshold": "400.0", "comparator": "lte", "critical": "False"}
    assert read(gate, "criterion_changed", actor=alex, before=described, after=changed) == (
        "Alex Morgan changed the criterion “p95 under 500 ms”: critical from yes to no; "
        "condition from below to at most; threshold from 500 to 400."
    )
    assert read(gate, "criterion_changed", actor=alex, before=described) == (
        "Alex Morgan removed the criterion “p95 under 500 ms”."
    )
    risks = read(
        gate,
        "criterion_changed",
        actor=alex,
        before={"linked_risks": ["R1", "R2"]},
        after={"linked_risks": ["R1"]},
    )
    assert risks == "Alex Morgan changed the risks linked to the gate from R1, R2 to R1."
    admin = read(gate, "criterion_changed", actor=alex, after={"edited_in": "gate form", "rows": 3})
    assert admin == "Alex Morgan changed the gate's criteria in the administration pages."


def test_an_approver_and_an_approver_group_added_and_changed(gate, people):
    alex, sam = people
    slot = GateApproverFactory(gate=gate, title="DBA", user=sam, role="")
    described = services._described(slot)
    assert read(gate, "approver_changed", actor=alex, after=described) == (
        "Alex Morgan added the approver “DBA (Sam Lee)”."
    )
    changed = {**described, "user": "None", "role": "approver"}
    assert read(gate, "approver_changed", actor=alex, before=described, after=changed) == (
        "Alex Morgan changed the approver “DBA (Sam Lee)”: person from Sam Lee to nothing; "
        "role from nothing to Approver."
    )
    group = {"order": "1", "name": "Security", "rule": "all", "quorum": "None", "veto": "False"}
    quorum = {**group, "rule": "quorum", "quorum": "2"}
    assert read(gate, "approver_changed", actor=alex, before=group, after=quorum) == (
        "Alex Morgan changed the approver group “Security”: rule from All required approvers "
        "to A quorum of approvers; quorum from nothing to 2."
    )


def test_an_attestation_and_the_rollback_watch(gate, people):
    alex, _ = people
    attested = read(gate, "attested", actor=alex, after={"criterion": 1, "text": "DR drill done"})
    assert attested == "Alex Morgan attested the criterion “DR drill done”."
    recommended = read(
        gate, "rollback_recommended", after={"reason": "Error rate (1.5 %, needs below 1)"}
    )
    assert recommended == "Rollback was recommended: Error rate (1.5 %, needs below 1)."
    cleared = read(gate, "rollback_cleared", before={"reason": "Error rate"})
    assert cleared == "Rollback is no longer recommended: the rollback triggers hold again."


def test_conditions_recorded_changed_met_and_escalated(gate, people):
    alex, sam = people
    condition = GateCondition.objects.create(
        gate=gate,
        signoff=SignOffFactory(gate=gate, signer=sam),
        order=1,
        text="Rollback rehearsed",
        owner=alex,
        due_date=date(2027, 1, 15),
        created_at=timezone.now(),
    )
    described = conditions._described(condition)
    assert read(gate, "condition_added", actor=sam, after=described) == (
        "The condition “Rollback rehearsed” was recorded, owned by Alex Morgan, due 15 Jan 2027."
    )
    changed = read(
        gate,
        "condition_changed",
        actor=alex,
        before={"condition": condition.pk, "owner": alex.pk, "due_date": "2027-01-15"},
        after={"condition": condition.pk, "owner": sam.pk, "due_date": "2027-02-01"},
    )
    assert changed == (
        "Alex Morgan gave the condition “Rollback rehearsed” to Sam Lee (it was Alex Morgan's) "
        "and moved the due date of the condition “Rollback rehearsed” from 15 Jan 2027 to "
        "1 Feb 2027."
    )
    met = read(
        gate,
        "condition_met",
        actor=alex,
        after={"condition": condition.pk, "text": "Rollback rehearsed", "met_by": alex.pk},
    )
    assert met == "Alex Morgan marked the condition “Rollback rehearsed” met."
    assert read(gate, "condition_escalated", after=described) == (
        "The condition “Rollback rehearsed”, due 15 Jan 2027 and owned by Alex Morgan, was "
        "overdue and escalated."
    )


def test_a_stale_approval_and_a_reapproval_round(gate, people):
    alex, _ = people
    stale = read(
        gate,
        "approval_stale",
        after={"reasons": ["KPI breached: p95 (900 ms)", "Risk R2 is now high"]},
    )
    assert stale == "The approval went stale: KPI breached: p95 (900 ms); Risk R2 is now high."
    reopened = read(
        gate, "reapproval_opened", actor=alex, after={"gate": 9, "name": "Cutover (re-approval)"}
    )
    assert reopened == "Alex Morgan opened a re-approval round: “Cutover (re-approval)”."


def test_every_kind_of_entry_has_a_sentence_of_its_own(gate, people):
    tested = {
        "opened", "cancelled", "signed", "decided", "delegated", "invalidated",
        "criterion_changed", "approver_changed", "attested", "rollback_recommended",
        "rollback_cleared", "condition_added", "condition_changed", "condition_met",
        "condition_escalated", "approval_stale", "reapproval_opened",
    }  # fmt: skip
    assert tested == set(AuditAction.values)
    for action in AuditAction.values:
        sentence = read(gate, action)
        assert not sentence.startswith("Waymark: "), action  # the fallback for unknown kinds
        assert "_" not in sentence and "{" not in sentence, sentence


# A real trail, written by the services, as the gate page and its PDF show it.


@pytest.fixture
def decided_gate(project_a, people, kpi):
    alex, sam = people
    gate = GateFactory(
        project=project_a,
        name="Cutover go/no-go",
        kind="go_no_go",
        phase=PhaseFactory(project=project_a, order=1),
    )
    MeasurementFactory(kpi=kpi, value=420)
    GateCriterionFactory(
        gate=gate, text="p95 under 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    GateApproverFactory(gate=gate, title="DBA", user=sam, role="")
    services.gate_open(gate=gate, by=alex)
    return gate


def sign(client, gate, **data):
    form = client.get(reverse("gate-detail", args=[gate.pk])).context["form"]
    fields = {"decision": "approve", "username": "carol", "password": PASSWORD}
    return client.post(
        reverse("gate-sign", args=[gate.pk]),
        {**fields, "evidence": form.initial["evidence"], **data},
    )


def test_the_gate_page_tells_the_trail_in_words_and_keeps_the_record_behind_details(
    client, decided_gate, people, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    _, sam = people
    client.force_login(sam)
    sign(client, decided_gate, decision="approve_with_conditions", conditions="Rollback drill")
    page = client.get(reverse("gate-detail", args=[decided_gate.pk])).content.decode()
    trail = page[page.index('id="audit-heading"') :]
    assert "Alex Morgan opened the gate for sign-off." in trail
    assert "Sam Lee signed: approved with conditions (“Rollback drill”)" in trail
    assert "The gate was decided CONDITIONAL GO when Sam Lee signed" in trail
    assert "The condition “Rollback drill” was recorded" in trail
    assert "CET</time>" in trail
    # What the entries record is there, for whoever checks it, behind a disclosure.
    visible = re.sub(r"<details class=\"technical\">.*?</details>", "", trail, flags=re.S)
    assert "{&#x27;" not in trail and "{'" not in trail
    entry = GateAuditEntry.objects.filter(gate=decided_gate).last()
    assert entry.entry_hash in trail and entry.entry_hash not in visible
    assert "conditional_go" in trail and "conditional_go" not in visible


def test_the_gate_pdf_tells_the_trail_in_words(client, decided_gate, people):
    _, sam = people
    client.force_login(sam)
    sign(client, decided_gate)
    response = client.get(reverse("gate-pdf", args=[decided_gate.pk]))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Alex Morgan opened the gate for sign-off." in text
    assert "Sam Lee signed: approved; the criteria recommended GO." in text
    assert "The gate was decided GO when Sam Lee signed." in text
    assert "not_met" not in text and "content_hash" not in text and '{"' not in text


def test_the_json_and_csv_exports_keep_what_the_entries_record(client, decided_gate, people):
    _, sam = people
    client.force_login(sam)
    sign(client, decided_gate)
    record = client.get(reverse("gate-audit-json", args=[decided_gate.pk])).json()
    signed = next(e for e in record["audit"]["entries"] if e["after"].get("signoff"))
    assert signed["after"]["decision"] == "approve" and len(signed["entry_hash"]) == 64
    assert signed["sentence"] == "Sam Lee signed: approved; the criteria recommended GO."
    csv_text = client.get(reverse("gate-audit-csv", args=[decided_gate.pk])).content.decode()
    assert '""decision"": ""approve""' in csv_text


def test_a_trail_is_read_in_a_constant_number_of_queries(decided_gate, people):
    alex, _ = people
    for _ in range(3):
        signoff = SignOffFactory(gate=decided_gate, signer=UserFactory())
        services._audit(
            decided_gate,
            actor=alex,
            action="invalidated",
            before={"signoff": signoff.pk},
            after={"reason": "Changed"},
        )
    entries = list(decided_gate.audit_entries.select_related("actor").order_by("sequence"))
    assert SignOff.objects.filter(gate=decided_gate).count() == len(entries) - 1 == 3
    with CaptureQueriesContext(connection) as one_signature:
        audit_sentences(entries[:2])
    with CaptureQueriesContext(connection) as three_signatures:
        sentences = audit_sentences(entries)
    assert len(three_signatures) == len(one_signature)
    assert all(
        sentence.endswith("signature was invalidated: Changed.") for sentence in sentences[1:]
    )
