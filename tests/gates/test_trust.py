"""What approvers trust a gate for: every slot is a different person, the evidence is kept as
it was shown, stale or missing evidence is inconclusive, and approving against the advice
needs a reason that everyone sees."""

import csv
import io
import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from gates import policy, services
from gates.evaluation import Result, evaluate_gate
from gates.evidence import current_token, pack_hash
from gates.models import ApproverGroup, EvidencePack, SignOff
from notifications.models import Notification
from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    MembershipFactory,
    RiskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def sign(gate, user, decision="approve", **extra):
    extra.setdefault("evidence_token", current_token(gate))
    return services.gate_sign(
        gate=gate,
        signer=user,
        decision=decision,
        password=PASSWORD,
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
        **extra,
    )


def approver(project, role="approver", **names):
    user = UserFactory(**names)
    MembershipFactory(user=user, project=project, role=role)
    return user


@pytest.fixture
def latency(project_a):
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420, at=timezone.now() - timedelta(minutes=1))
    return kpi


def _kpi_gate(project, kpi, **gate):
    gate = GateFactory(project=project, **gate)
    GateCriterionFactory(
        gate=gate, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    return gate


# Slots are people


def test_all_over_two_role_slots_needs_two_different_people(project_a, alice, carol, latency):
    gate = _kpi_gate(project_a, latency, name="Phase 1 exit")
    GateApproverFactory(gate=gate, title="CTO", user=None, role="approver")
    GateApproverFactory(gate=gate, title="Head of Product", user=None, role="approver")
    services.gate_open(gate=gate, by=alice)
    sign(gate, carol)
    gate.refresh_from_db()
    assert gate.state == "open", "one person filled both slots"
    second = approver(project_a)
    sign(gate, second)
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")


def test_a_slot_with_nobody_distinct_to_fill_it_is_named_on_the_page(
    client, project_a, alice, carol, latency
):
    gate = _kpi_gate(project_a, latency, name="Phase 1 exit")
    GateApproverFactory(gate=gate, title="CTO", user=None, role="approver")
    GateApproverFactory(gate=gate, title="Head of Product", user=None, role="approver")
    services.gate_open(gate=gate, by=alice)
    assert policy.unfillable_slots(policy.slot_holders(gate)) == 1
    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "1 slot cannot be filled by different people" in page


def test_whoever_signs_first_the_slots_are_filled_as_well_as_they_can_be(project_a, alice, latency):
    # Kim may fill either slot (named on one, and an approver); Lee only the role slot. Kim
    # signing first must not take the slot only Lee can fill.
    kim, lee = approver(project_a), approver(project_a)
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, title="Architect", user=None, role="approver")
    GateApproverFactory(gate=gate, title="DBA", user=kim, role="")
    services.gate_open(gate=gate, by=alice)
    sign(gate, kim)
    gate.refresh_from_db()
    assert gate.state == "open"
    sign(gate, lee)
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")


def test_a_quorum_counts_people_filling_slots(project_a, alice, latency):
    people = [approver(project_a) for _ in range(3)]
    gate = _kpi_gate(project_a, latency, decision_rule="quorum", quorum=2)
    for title in ("One", "Two", "Three"):
        GateApproverFactory(gate=gate, title=title, user=None, role="approver")
    services.gate_open(gate=gate, by=alice)
    sign(gate, people[0], decision="reject")
    sign(gate, people[1])
    gate.refresh_from_db()
    assert gate.state == "open"  # one approval, one rejection: two could still approve
    sign(gate, people[2])
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")


# Inconclusive


def test_a_missing_value_is_inconclusive_not_no_go(project_a):
    gate = _kpi_gate(project_a, KPIFactory(project=project_a, name="Silent"))
    (criterion,) = evaluate_gate(gate).criteria
    assert criterion.result == Result.INCONCLUSIVE
    assert evaluate_gate(gate).recommendation == "inconclusive"


def test_a_value_older_than_the_freshness_window_judges_nothing(project_a):
    kpi = KPIFactory(project=project_a, name="API p95 latency", cadence=timedelta(hours=1))
    MeasurementFactory(kpi=kpi, value=420, at=timezone.now() - timedelta(hours=20))
    gate = _kpi_gate(project_a, kpi)
    (criterion,) = evaluate_gate(gate).criteria
    assert criterion.result == Result.INCONCLUSIVE
    assert "too old to judge (needs a value from the last 2 hours" in criterion.evidence
    assert evaluate_gate(gate).recommendation == "inconclusive"
    MeasurementFactory(kpi=kpi, value=420, at=timezone.now())
    assert evaluate_gate(gate).recommendation == "go"


def test_a_rollback_trigger_on_a_stale_value_is_flagged_not_met(client, project_a, alice, carol):
    kpi = KPIFactory(project=project_a, name="API error rate", unit="%", cadence=timedelta(hours=1))
    MeasurementFactory(kpi=kpi, value=0.4, at=timezone.now() - timedelta(minutes=5))
    stage = GateFactory(
        project=project_a, name="Rollout 5%", kind="rollout_stage", rollout_percent=5
    )
    GateCriterionFactory(
        gate=stage,
        text="Error rate ≤ 1%",
        kind="kpi",
        kpi=kpi,
        comparator="lte",
        threshold=1,
        rollback=True,
    )
    GateApproverFactory(gate=stage, user=carol, role="")
    services.gate_open(gate=stage, by=alice)
    sign(stage, carol)
    later = timezone.now() + timedelta(hours=20)
    assert services.rollout_watch(now=later) == []  # no rollback on a value that judges nothing
    stage.refresh_from_db()
    assert stage.rollback_recommended_at is None
    assert "Error rate ≤ 1% (API error rate = 0.4 %" in stage.rollback_unjudged
    client.force_login(alice)
    status = client.get(reverse("project-status", args=[project_a.pk])).content.decode()
    assert "Rollback triggers cannot be judged" in status
    page = client.get(reverse("gate-detail", args=[stage.pk])).content.decode()
    assert 'id="rollback-unjudged"' in page
    MeasurementFactory(kpi=kpi, value=0.3, at=later)
    services.rollout_watch(now=later)
    stage.refresh_from_db()
    assert stage.rollback_unjudged == ""


# Signing what was shown


def test_a_newer_value_with_the_same_verdict_does_not_refuse_and_the_shown_one_is_kept(
    project_a, alice, carol, latency
):
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    shown = current_token(gate)
    MeasurementFactory(kpi=latency, value=431, at=timezone.now())  # still < 500
    signoff = sign(gate, carol, evidence_token=shown)
    kept = signoff.evidence.content
    assert kept["criteria"][0]["value"] == 420 and kept["criteria"][0]["result"] == "met"
    assert signoff.content_hash == pack_hash(kept) == signoff.evidence.content_hash


def test_a_changed_verdict_refuses_and_says_which(project_a, alice, carol, latency):
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    shown = current_token(gate)
    MeasurementFactory(kpi=latency, value=650, at=timezone.now())
    with pytest.raises(services.GateRefused) as refused:
        sign(gate, carol, evidence_token=shown)
    assert "“p95 < 500 ms” is now Not met (it was Met)" in str(refused.value)
    assert "the recommendation is now NO-GO (it was GO)" in str(refused.value)
    assert not SignOff.objects.exists()


def test_evidence_not_shown_by_the_portal_is_refused(project_a, alice, carol, latency):
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    forged = current_token(gate)[:-3] + "abc"
    with pytest.raises(services.GateRefused, match="not what this portal showed"):
        sign(gate, carol, evidence_token=forged)


# The evidence pack, kept and shown beside now


def test_a_decided_gate_shows_the_evidence_as_signed_beside_now(
    client, project_a, alice, carol, latency
):
    gate = _kpi_gate(project_a, latency, name="Cutover")
    risk = RiskFactory(project=project_a, key="R7", title="Replication lag", likelihood=2, impact=3)
    gate.risks.add(risk)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    sign(gate, carol)
    gate.refresh_from_db()
    assert gate.decision == "go"
    MeasurementFactory(kpi=latency, value=650, at=timezone.now())
    type(risk).objects.filter(pk=risk.pk).update(likelihood=5, impact=5)

    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "Evidence as signed, beside now" in page
    assert "API p95 latency = 420 ms" in page and "API p95 latency = 650 ms" in page
    assert "Changed since" in page
    record = client.get(f"/api/v1/gates/{gate.pk}/record/").json()
    compared = record["evidence_as_signed"]
    assert (compared["recommendation_as_signed"], compared["recommendation_now"]) == (
        "GO",
        "NO-GO",
    )
    assert compared["criteria"][0]["as_signed"] == "Met" and compared["criteria"][0]["changed"]
    (risk_row,) = compared["risks"]
    assert risk_row["risk"] == "R7: Replication lag" and risk_row["changed"]
    assert risk_row["as_signed"].startswith("score 6 (") and risk_row["now"].startswith(
        "score 25 ("
    )
    exported = client.get(reverse("gate-audit-csv", args=[gate.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(exported)))
    assert ["recommendation", "GO", "", "NO-GO", "", "yes"] in rows
    pdf = client.get(reverse("gate-pdf", args=[gate.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_an_evidence_pack_cannot_be_changed(project_a, alice, carol, latency):
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    pack = sign(gate, carol).evidence
    with pytest.raises(DatabaseError), transaction.atomic():
        EvidencePack.objects.filter(pk=pack.pk).update(content={"recommendation": "go"})


# Overrides


def test_approving_against_no_go_needs_a_reason_that_everyone_sees(
    client, project_a, alice, carol, latency
):
    MeasurementFactory(kpi=latency, value=900, at=timezone.now())
    gate = _kpi_gate(project_a, latency, name="Cutover go/no-go")
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    assert evaluate_gate(gate).recommendation == "no_go"
    with pytest.raises(services.GateRefused, match="recommendation is NO-GO: approving against"):
        sign(gate, carol)
    assert not SignOff.objects.exists()

    sign(gate, carol, override_reason="Latency is the CDN's; accepted by the CAB")
    gate.refresh_from_db()
    assert (gate.decision, gate.overridden_recommendation) == ("go", "no_go")
    assert "accepted by the CAB" in gate.override_reason
    decided = gate.audit_entries.get(action="decided").after
    assert decided["overridden_recommendation"] == "no_go"
    assert Notification.objects.filter(user=alice, kind="gate_overridden").count() == 1

    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "Approved against the NO-GO recommendation." in page
    status = client.get(reverse("project-status", args=[project_a.pk])).content.decode()
    assert "Cutover go/no-go was approved against the NO-GO recommendation" in status
    report = client.get(
        reverse("programme-report", args=[project_a.programme.slug]), {"format": "html"}
    )
    assert "approved against the NO-GO recommendation" in report.content.decode()


def test_rejecting_against_the_advice_needs_no_reason(project_a, alice, carol, latency):
    MeasurementFactory(kpi=latency, value=900, at=timezone.now())
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    sign(gate, carol, decision="reject", override_reason="ignored")
    gate.refresh_from_db()
    assert (gate.decision, gate.overridden_recommendation, gate.override_reason) == (
        "no_go",
        "",
        "",
    )


def test_the_page_asks_for_the_reason_and_keeps_what_was_typed(
    client, project_a, alice, carol, latency
):
    carol.set_password(PASSWORD)
    carol.save()
    MeasurementFactory(kpi=latency, value=900, at=timezone.now())
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    client.force_login(carol)
    page = client.get(reverse("gate-detail", args=[gate.pk]))
    assert "to approve, say why" in page.content.decode()
    form = page.context["form"]
    answer = client.post(
        reverse("gate-sign", args=[gate.pk]),
        {
            "decision": "approve",
            "username": carol.username,
            "password": PASSWORD,
            "comment": "Checked with the CDN team",
            "evidence": form.initial["evidence"],
        },
    )
    assert answer.status_code == 422
    body = answer.content.decode()
    assert "approving against it needs your reason" in body
    assert "Checked with the CDN team" in body
    assert not SignOff.objects.exists()


# Rule groups, vetoes and one's own work


@pytest.fixture
def data_and_security(project_a, alice, latency):
    """The plans' rule: two of the data owners AND all of security; security can veto."""
    owners = [approver(project_a, username=f"owner{n}") for n in range(3)]
    security = [approver(project_a, username=f"sec{n}") for n in range(2)]
    gate = _kpi_gate(project_a, latency, name="Cutover", decision_rule="quorum", quorum=2)
    for owner in owners:
        GateApproverFactory(gate=gate, title="Data owner", user=owner, role="")
    group = ApproverGroup.objects.create(gate=gate, name="Security", rule="all", veto=True)
    for member in security:
        GateApproverFactory(gate=gate, title="Security", user=member, role="", group=group)
    services.gate_open(gate=gate, by=alice)
    return gate, owners, security


def test_two_of_the_data_owners_and_all_of_security_decide_go(data_and_security):
    gate, owners, security = data_and_security
    for person in (owners[0], owners[1], security[0]):
        sign(gate, person)
        gate.refresh_from_db()
        assert gate.state == "open", "decided before every group agreed"
    sign(gate, security[1])
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")


def test_one_security_rejection_vetoes_the_gate(data_and_security):
    gate, owners, security = data_and_security
    sign(gate, owners[0])
    sign(gate, owners[1])
    sign(gate, security[0], decision="reject", comment="Pen test findings open")
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "no_go")


def test_a_data_owner_rejecting_leaves_two_who_can_still_approve(data_and_security):
    gate, owners, _ = data_and_security
    sign(gate, owners[0], decision="reject")
    gate.refresh_from_db()
    assert gate.state == "open"
    sign(gate, owners[1], decision="reject")
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "no_go")  # only one owner is left


def test_the_rule_is_shown_on_the_gate_page_in_words(client, alice, data_and_security):
    gate, _, _ = data_and_security
    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "2 of 3 must approve" in page
    assert 'And Security: <span class="muted">all 2 must approve, and one rejection' in page
    assert "Nobody approves their own work" in page


def test_nobody_approves_their_own_work(client, project_a, alice, latency):
    # Alice opened the gate and is named on it too: she may reject, not approve.
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=alice, role="")
    services.gate_open(gate=gate, by=alice)
    with pytest.raises(services.GateRefused, match="you opened it for sign-off: you may reject"):
        sign(gate, alice)
    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "You may reject this gate but not approve it: you opened it for sign-off." in page
    sign(gate, alice, decision="reject")
    gate.refresh_from_db()
    assert gate.decision == "no_go"


def test_the_owner_of_a_judged_checklist_or_an_attester_may_not_approve(
    project_a, alice, carol, bob
):
    from tests.factories import ChecklistItemFactory, PhaseFactory

    phase = PhaseFactory(project=project_a, order=1, name="Build")
    ChecklistItemFactory(phase=phase, owner=carol, done=True, done_at=timezone.now())
    gate = GateFactory(project=project_a)
    GateCriterionFactory(gate=gate, kind="checklist", phase=phase)
    manual = GateCriterionFactory(gate=gate, kind="manual", text="Runbook rehearsed")
    GateApproverFactory(gate=gate, user=carol, role="")
    dana = approver(project_a)
    GateApproverFactory(gate=gate, user=dana, role="")
    services.gate_open(gate=gate, by=alice)
    services.gate_criterion_attest(criterion=manual, by=dana)
    assert policy.own_work(gate) == {
        alice.pk: "you opened it for sign-off",
        carol.pk: "you own items of a checklist it judges",
        dana.pk: "you attested one of its criteria",
    }
    with pytest.raises(services.GateRefused, match="you own items of a checklist it judges"):
        sign(gate, carol)
    assert (
        policy.unfillable_slots(
            {
                slot: people - set(policy.own_work(gate))
                for slot, people in policy.slot_holders(gate).items()
            }
        )
        == 2
    )


# Races, with threads (on PostgreSQL in CI's second pass)


def _at_once(*calls):
    barrier, outcomes = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            outcomes[index] = call()
        except services.GateRefused as refused:
            outcomes[index] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_signatures_from_several_groups_at_once_decide_once(data_and_security):
    gate, owners, security = data_and_security
    shown = current_token(gate)
    people = [owners[0], owners[1], security[0], security[1]]
    outcomes = _at_once(*(lambda p=p: sign(gate, p, evidence_token=shown) for p in people))
    assert all(isinstance(outcome, SignOff) for outcome in outcomes)
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")
    assert gate.audit_entries.filter(action="decided").count() == 1
    assert services.gate_audit_verify(gate=gate)[0]


@pytest.mark.django_db(transaction=True)
def test_a_veto_racing_the_deciding_approval_leaves_one_decision(project_a, alice, latency):
    # Any one of security approves, but one of them can veto; the deciding data owner's
    # approval and the other security member's veto arrive at once.
    owners = [approver(project_a) for _ in range(2)]
    security = [approver(project_a) for _ in range(2)]
    gate = _kpi_gate(project_a, latency)
    for owner in owners:
        GateApproverFactory(gate=gate, user=owner, role="")
    group = ApproverGroup.objects.create(gate=gate, name="Security", rule="any", veto=True)
    for member in security:
        GateApproverFactory(gate=gate, user=member, role="", group=group)
    services.gate_open(gate=gate, by=alice)
    sign(gate, owners[0])
    sign(gate, security[0])
    shown = current_token(gate)
    outcomes = _at_once(
        lambda: sign(gate, owners[1], evidence_token=shown),
        lambda: sign(gate, security[1], decision="reject", evidence_token=shown),
    )
    gate.refresh_from_db()
    decided = gate.audit_entries.filter(action="decided")
    assert gate.state == "decided" and decided.count() == 1
    approval, veto = outcomes
    if isinstance(approval, SignOff):  # the approval came first and decided GO
        assert gate.decision == "go" and "takes no signatures" in str(veto)
    else:  # the veto came first and decided NO-GO
        assert gate.decision == "no_go" and "takes no signatures" in str(approval)
    assert decided.get().after["decision"] == gate.decision
    assert services.gate_audit_verify(gate=gate)[0]


@pytest.mark.django_db(transaction=True)
def test_a_criterion_change_racing_a_signature_signs_only_what_was_shown(
    project_a, alice, carol, latency
):
    gate = _kpi_gate(project_a, latency)
    GateApproverFactory(gate=gate, user=carol, role="")
    GateApproverFactory(gate=gate, user=approver(project_a), role="")
    services.gate_open(gate=gate, by=alice)
    shown = current_token(gate)
    criterion = gate.criteria.get()

    def change():
        criterion.threshold = 300
        return services.gate_definition_save(row=criterion, by=alice)

    outcomes = _at_once(lambda: sign(gate, carol, evidence_token=shown), change)
    signoff = SignOff.objects.filter(gate=gate).first()
    if isinstance(outcomes[0], SignOff):
        # Signed first, on the old definition: the change then invalidated it.
        signoff.refresh_from_db()
        assert signoff.invalidated_at is not None
        assert signoff.evidence.content["definition"]["criteria"][0]["threshold"] == 500
    else:
        assert "the gate's definition changed" in str(outcomes[0])
        assert signoff is None
    assert services.gate_audit_verify(gate=gate)[0]


def test_the_gate_page_takes_the_same_queries_however_much_it_shows(
    client, project_a, alice, django_assert_max_num_queries
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    def gate_with(n):
        gate = GateFactory(project=project_a, name=f"Gate of {n}", decision_rule="quorum", quorum=n)
        group = ApproverGroup.objects.create(gate=gate, name="Security", rule="any", veto=True)
        for i in range(n):
            kpi = KPIFactory(project=project_a)
            MeasurementFactory(kpi=kpi, value=100)
            GateCriterionFactory(
                gate=gate, text=f"KPI {i}", kind="kpi", kpi=kpi, comparator="lt", threshold=500
            )
            GateApproverFactory(gate=gate, user=approver(project_a), role="")
            GateApproverFactory(gate=gate, user=approver(project_a), role="", group=group)
            gate.risks.add(RiskFactory(project=project_a))
        services.gate_open(gate=gate, by=alice)
        for slot in gate.approvers.filter(group__isnull=True)[: n - 1]:
            sign(gate, slot.user)
        return gate

    client.force_login(alice)
    one, many = gate_with(1), gate_with(6)
    with CaptureQueriesContext(db) as few:
        assert client.get(reverse("gate-detail", args=[one.pk])).status_code == 200
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("gate-detail", args=[many.pk])).status_code == 200
