"""Approvals go stale (gates.staleness): after a GO the gate's KPI criteria and linked risks are
watched for a window; a breach or a risk in a higher band marks the approval stale once, told
to its approvers and managers; a manager opens a re-approval round, a copy linked both ways."""

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from gates import services, staleness, tasks
from gates.evidence import current_token
from gates.models import ApproverGroup, Gate
from notifications.models import Notification
from risks.models import Risk
from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    RiskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def sign(gate, user, decision="approve"):
    services.gate_sign(
        gate=gate,
        signer=user,
        decision=decision,
        password=PASSWORD,
        evidence_token=current_token(gate),
        request=RequestFactory().post("/sign/", REMOTE_ADDR="127.0.0.1"),
    )
    gate.refresh_from_db()


@pytest.fixture
def kpi(project_a):
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420, at=timezone.now() - timedelta(minutes=1))
    return kpi


@pytest.fixture
def risk(project_a):
    return RiskFactory(project=project_a, key="R7", title="Replica lag", likelihood=3, impact=4)


@pytest.fixture
def dave(project_a):
    user = UserFactory(username="dave")
    project_a.memberships.create(user=user, role="approver")
    return user


def decide(gate, carol, dave):
    sign(gate, carol)
    sign(gate, dave)


def make_gate(project, alice, carol, kpi, risk, *, order=1, name="Cutover go/no-go", **fields):
    gate = GateFactory(project=project, name=name, order=order, **fields)
    GateCriterionFactory(
        gate=gate, order=1, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    group = ApproverGroup.objects.create(gate=gate, name="Security", rule="any")
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    GateApproverFactory(
        gate=gate, title="Security officer", user=None, role="approver", group=group
    )
    gate.risks.add(risk)
    services.gate_open(gate=gate, by=alice)
    return gate


@pytest.fixture
def gate(project_a, alice, carol, dave, kpi, risk):
    gate = make_gate(project_a, alice, carol, kpi, risk)
    decide(gate, carol, dave)
    assert gate.decision == "go"
    return gate


def breach(kpi, *, at=None):
    """A breach that holds for the two readings the KPI takes to confirm a change."""
    at = at or timezone.now() + timedelta(seconds=5)
    MeasurementFactory(kpi=kpi, value=880, at=at - timedelta(seconds=1))
    MeasurementFactory(kpi=kpi, value=900, at=at)


def test_a_value_across_the_threshold_and_back_marks_nothing_and_tells_nobody(gate, kpi):
    now = timezone.now()
    for seconds, value in [(5, 900), (10, 410), (15, 910)]:
        MeasurementFactory(kpi=kpi, value=value, at=now + timedelta(seconds=seconds))
        assert staleness.gate_approvals_watch(now=now + timedelta(seconds=seconds)) == []
    gate.refresh_from_db()
    assert gate.approval_stale_at is None
    assert not Notification.objects.filter(kind="approval_stale").exists()


def test_a_kpi_breach_after_go_marks_the_approval_stale_once_and_tells_approvers_and_managers(
    gate, kpi, alice, carol, dave
):
    assert staleness.gate_approvals_watch() == []
    breach(kpi)
    assert tasks.gate_approvals_watch() == 1
    assert tasks.gate_approvals_watch() == 0
    gate.refresh_from_db()
    assert gate.approval_stale_at
    assert "KPI breached: p95 < 500 ms (API p95 latency = 900 ms" in gate.approval_stale_reasons
    assert gate.state == "decided" and gate.decision == "go"
    entries = gate.audit_entries.filter(action="approval_stale")
    assert entries.count() == 1
    assert entries.get().after["reasons"] == [gate.approval_stale_reasons]
    for user in (carol, dave, alice):
        assert Notification.objects.filter(user=user, kind="approval_stale").count() == 1
    assert services.gate_audit_verify(gate=gate)[0]


def test_a_linked_risk_in_a_higher_band_marks_the_approval_stale(gate, risk):
    Risk.objects.filter(pk=risk.pk).update(likelihood=4, impact=3)  # same score, same band
    assert staleness.gate_approvals_watch() == []
    Risk.objects.filter(pk=risk.pk).update(likelihood=5, impact=5)
    (marked,) = staleness.gate_approvals_watch()
    assert marked.pk == gate.pk
    gate.refresh_from_db()
    assert gate.approval_stale_reasons == (
        "Risk R7 Replica lag is now critical (score 25); it was high when the gate was signed"
    )


def test_a_kpi_value_too_old_to_judge_is_no_breach(gate, kpi):
    later = timezone.now() + timedelta(days=3)
    breach(kpi)  # stale by the time the watcher looks
    assert staleness.gate_approvals_watch(now=later) == []
    gate.refresh_from_db()
    assert gate.approval_stale_at is None


def test_nothing_is_marked_once_the_watch_days_have_passed(
    project_a, alice, carol, dave, kpi, risk
):
    gate = make_gate(project_a, alice, carol, kpi, risk, watch_days=2)
    decide(gate, carol, dave)
    Risk.objects.filter(pk=risk.pk).update(likelihood=5, impact=5)
    assert staleness.gate_approvals_watch(now=timezone.now() + timedelta(days=3)) == []
    assert [g.pk for g in staleness.gate_approvals_watch()] == [gate.pk]


def test_nothing_is_marked_once_the_next_gate_is_decided(
    gate, project_a, alice, carol, dave, kpi, risk
):
    following = make_gate(project_a, alice, carol, kpi, risk, order=2, name="Decommission")
    GateFactory(project=project_a, order=3, name="Cancelled in between", state="cancelled")
    decide(following, carol, dave)
    assert following.decision == "go"
    Risk.objects.filter(pk=risk.pk).update(likelihood=5, impact=5)
    marked = staleness.gate_approvals_watch()
    assert [g.pk for g in marked] == [following.pk]  # the first gate's window closed
    gate.refresh_from_db()
    assert gate.approval_stale_at is None


def test_nothing_is_marked_after_the_default_window_of_thirty_days(gate, risk):
    Risk.objects.filter(pk=risk.pk).update(likelihood=5, impact=5)
    assert staleness.gate_approvals_watch(now=timezone.now() + timedelta(days=31)) == []


# The page and the re-approval round


@pytest.fixture
def stale(gate, kpi):
    breach(kpi)
    staleness.gate_approvals_watch()
    gate.refresh_from_db()
    return gate


def test_the_gate_page_shows_when_and_why_the_approval_went_stale(client, stale, alice, victor):
    client.force_login(victor)
    page = client.get(reverse("gate-detail", args=[stale.pk])).content.decode()
    assert 'id="approval-stale"' in page
    assert "KPI breached: p95 &lt; 500 ms" in page
    assert "Open a re-approval round" not in page
    client.force_login(alice)
    page = client.get(reverse("gate-detail", args=[stale.pk])).content.decode()
    assert "Open a re-approval round" in page


def test_a_re_approval_round_copies_the_definition_opens_and_links_both_ways(
    client, stale, alice, carol
):
    client.force_login(alice)
    response = client.post(reverse("gate-reapproval", args=[stale.pk]))
    copy = Gate.objects.get(reapproval_of=stale)
    assert response.status_code == 302 and response.url == reverse("gate-detail", args=[copy.pk])
    assert copy.name == "Cutover go/no-go (re-approval 1)" and copy.state == "open"
    assert (copy.order, copy.kind, copy.decision_rule) == (stale.order, stale.kind, "all")

    def criteria(gate):
        return list(
            gate.criteria.values_list(
                "order", "text", "kind", "kpi", "comparator", "threshold", "critical", "rollback"
            )
        )

    def slots(gate):
        return sorted(
            gate.approvers.values_list("title", "user", "role", "group__name", "group__rule")
        )

    assert criteria(copy) == criteria(stale)
    assert slots(copy) == slots(stale)
    assert list(copy.risks.all()) == list(stale.risks.all())
    stale.refresh_from_db()
    assert (stale.state, stale.decision) == ("decided", "go")
    actions = list(stale.audit_entries.values_list("action", flat=True))
    assert actions[-2:] == ["approval_stale", "reapproval_opened"] and "decided" in actions
    assert stale.audit_entries.last().after == {"gate": copy.pk, "name": copy.name}
    assert services.gate_audit_verify(gate=stale)[0]
    assert services.gate_audit_verify(gate=copy)[0]

    page = client.get(reverse("gate-detail", args=[stale.pk])).content.decode()
    assert reverse("gate-detail", args=[copy.pk]) in page
    page = client.get(reverse("gate-detail", args=[copy.pk])).content.decode()
    assert 'id="reapproval-of"' in page and reverse("gate-detail", args=[stale.pk]) in page

    # One round at a time.
    response = client.post(reverse("gate-reapproval", args=[stale.pk]), follow=True)
    assert "A re-approval round is already under way" in response.content.decode()
    assert stale.reapprovals.count() == 1
    with pytest.raises(services.GateRefused, match="already under way"):
        staleness.gate_reapproval_open(gate=stale, by=alice)
    # Once it is cancelled, another may be opened.
    services.gate_cancel(gate=copy, by=alice, reason="Wrong approvers")
    second = staleness.gate_reapproval_open(gate=stale, by=alice)
    assert second.name == "Cutover go/no-go (re-approval 2)"


def test_only_a_stale_approval_has_a_re_approval_round(gate, alice):
    with pytest.raises(services.GateRefused, match="went stale"):
        staleness.gate_reapproval_open(gate=gate, by=alice)


def test_non_managers_are_refused_and_non_members_do_not_see_the_gate(client, stale, carol, oscar):
    client.force_login(carol)
    assert client.post(reverse("gate-reapproval", args=[stale.pk])).status_code == 403
    client.force_login(oscar)
    assert client.post(reverse("gate-reapproval", args=[stale.pk])).status_code == 404
    assert not Gate.objects.filter(reapproval_of=stale).exists()
