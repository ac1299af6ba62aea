"""The gate page, signing through it, the inbox and the audit exports."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from gates import services
from gates.models import SignOff
from tests.factories import (
    GateApproverFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    PhaseFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def gate(project_a, alice, carol):
    gate = GateFactory(
        project=project_a,
        name="Cutover go/no-go",
        kind="go_no_go",
        phase=PhaseFactory(project=project_a, order=1),
    )
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MeasurementFactory(kpi=kpi, value=420)
    GateCriterionFactory(
        gate=gate, text="p95 < 500 ms", kind="kpi", kpi=kpi, comparator="lt", threshold=500
    )
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    services.gate_open(gate=gate, by=alice)
    gate.refresh_from_db()
    return gate


def sign_data(client, gate, **overrides):
    form = client.get(reverse("gate-detail", args=[gate.pk])).context["form"]
    data = {
        "decision": "approve",
        "username": "carol",
        "password": PASSWORD,
        "evidence": form.initial["evidence"],
    }
    return {**data, **overrides}


def test_the_page_shows_evidence_recommendation_and_approvers(client, victor, gate):
    client.force_login(victor)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "API p95 latency = 420 ms" in page and "needs below 500" in page
    assert "Recommendation by the rule: <strong>GO</strong>" in page
    assert "DBA" in page and "Verified" in page
    assert 'id="sign-form"' in page and "Sign this gate" not in page
    assert "Who may sign now: " in page


def test_an_approver_sees_the_gate_in_the_inbox_and_signs(
    client, carol, gate, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    home = client.get(reverse("home")).content.decode()
    assert 'aria-label="1 awaiting your signature"' in home
    assert gate.name in client.get(reverse("inbox")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    assert response.status_code == 302
    gate.refresh_from_db()
    assert (gate.state, gate.decision) == ("decided", "go")
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "Approved: the criteria shown are met" in page and "UTC" in page
    assert "Who may sign" not in page  # decided: nobody may sign any more
    assert gate.name not in client.get(reverse("inbox")).content.decode()


def test_signing_changes_the_session_key_and_keeps_the_login(client, carol, gate):
    carol.set_password(PASSWORD)
    carol.save()
    client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
    before = client.session.session_key
    data = sign_data(client, gate)
    assert client.post(reverse("gate-sign", args=[gate.pk]), data).status_code == 302
    assert SignOff.objects.filter(gate=gate, signer=carol).count() == 1
    assert client.session.session_key != before
    assert client.get(reverse("inbox")).status_code == 200  # still logged in, new key


def test_requests_on_their_way_with_the_old_key_keep_the_login(client, carol, gate, settings):
    carol.set_password(PASSWORD)
    carol.save()
    client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
    old_key = client.session.session_key
    client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    new_key = client.session.session_key

    # A status poll sent before the signature's answer arrived, with the old cookie.
    late = Client()
    late.cookies[settings.SESSION_COOKIE_NAME] = old_key
    response = late.get(reverse("inbox"))
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # the new cookie stays
    assert client.get(reverse("inbox")).status_code == 200
    assert client.session.session_key == new_key

    # Once the grace is over the old key is nobody's.
    settings.SESSION_RENEWAL_GRACE_SECONDS = -1
    assert late.get(reverse("inbox")).status_code == 302
    assert client.get(reverse("inbox")).status_code == 200


def test_signing_again_with_the_old_key_does_not_renew_it_a_second_time(
    client, carol, gate, alice, settings
):
    second = GateFactory(project=gate.project, name="Rollback rehearsal", kind="go_no_go")
    GateApproverFactory(gate=second, title="DBA", user=carol, role="")
    services.gate_open(gate=second, by=alice)
    carol.set_password(PASSWORD)
    carol.save()
    client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
    old_key = client.session.session_key
    other_tab = Client()
    other_tab.cookies[settings.SESSION_COOKIE_NAME] = old_key
    second_form = sign_data(other_tab, second)  # read before the first signature

    client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    response = other_tab.post(reverse("gate-sign", args=[second.pk]), second_form)
    assert response.status_code == 302
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert SignOff.objects.filter(signer=carol).count() == 2

    # The first renewal's key is a whole login, not a key in its grace.
    settings.SESSION_RENEWAL_GRACE_SECONDS = -1
    assert client.get(reverse("inbox")).status_code == 200
    assert other_tab.get(reverse("inbox")).status_code == 302


def test_signing_with_htmx_returns_the_form_with_the_problem(client, carol, gate):
    client.force_login(carol)
    response = client.post(
        reverse("gate-sign", args=[gate.pk]), sign_data(client, gate, password="nope"), **HTMX
    )
    assert response.status_code == 422
    assert "The password is not correct; nothing was signed." in response.content.decode()
    assert "<html" not in response.content.decode()
    assert not SignOff.objects.exists()


def test_signing_as_someone_else_is_refused(client, carol, gate):
    client.force_login(carol)
    response = client.post(
        reverse("gate-sign", args=[gate.pk]), sign_data(client, gate, username="alice")
    )
    assert response.status_code == 422 and "Sign as yourself" in response.content.decode()
    assert not SignOff.objects.exists()


def test_a_manager_who_is_not_designated_cannot_sign(client, alice, gate):
    client.force_login(alice)
    data = sign_data(client, gate, username="alice")
    response = client.post(reverse("gate-sign", args=[gate.pk]), data)
    assert response.status_code == 422 and "not a required approver" in response.content.decode()
    assert not SignOff.objects.exists()


def test_a_decided_gate_refuses_further_signatures(client, carol, gate):
    client.force_login(carol)
    client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    response = client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    assert response.status_code == 422 and "decided" in response.content.decode()
    assert SignOff.objects.count() == 1


def test_conditions_become_tracked_actions_not_checklist_items(client, carol, gate):
    client.force_login(carol)
    client.post(
        reverse("gate-sign", args=[gate.pk]),
        sign_data(
            client, gate, decision="approve_with_conditions", conditions="Rehearse the rollback"
        ),
    )
    gate.refresh_from_db()
    assert gate.decision == "conditional_go"
    assert not gate.phase.checklist_items.exists()
    assert list(gate.conditions.values_list("text", flat=True)) == ["Rehearse the rollback"]
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "0 of 1 condition met" in page


def test_each_line_of_a_signatures_conditions_reads_as_a_line(client, carol, gate):
    """Two condition lines read as one run-on sentence on the signature: the line break was
    lost on the page and in the PDF."""
    client.force_login(carol)
    conditions = "Rehearse the rollback\nRe-run the load test at peak"
    client.post(
        reverse("gate-sign", args=[gate.pk]),
        sign_data(client, gate, decision="approve_with_conditions", conditions=conditions),
    )
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "<li>Rehearse the rollback</li><li>Re-run the load test at peak</li>" in page
    pdf = PdfReader(io.BytesIO(client.get(reverse("gate-pdf", args=[gate.pk])).content))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Conditions: Rehearse the rollback; Re-run the load test at peak." in text


def test_audit_exports_carry_the_chain(client, victor, gate):
    client.force_login(victor)
    exported = client.get(reverse("gate-audit-json", args=[gate.pk])).json()
    assert exported["audit"]["intact"] is True
    assert exported["audit"]["entries"][0]["action"] == "Opened for sign-off"
    csv_text = client.get(reverse("gate-audit-csv", args=[gate.pk])).content.decode()
    assert csv_text.splitlines()[0].startswith("sequence,at_utc,actor,action,signed_by")
    assert "verification,intact" in csv_text


def test_non_members_get_404(client, oscar, gate):
    client.force_login(oscar)
    assert client.get(reverse("gate-detail", args=[gate.pk])).status_code == 404
    assert client.post(reverse("gate-sign", args=[gate.pk]), {}).status_code == 404


def test_only_managers_open_gates(client, bob, alice, project_a):
    draft = GateFactory(project=project_a)
    client.force_login(bob)
    assert client.post(reverse("gate-open", args=[draft.pk])).status_code == 403
    client.force_login(alice)
    client.post(reverse("gate-open", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.state == "open"


def test_changing_a_criterion_in_the_admin_invalidates_signatures_and_tells_the_signer(
    client, alice, carol, gate
):
    client.force_login(carol)
    quorum_gate = gate
    GateApproverFactory(gate=quorum_gate, title="Tech Lead", user=alice, role="")
    client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    signoff = SignOff.objects.get(signer=carol)
    criterion = gate.criteria.get()
    client.force_login(alice)
    response = client.post(
        reverse("admin:gates_gatecriterion_change", args=[criterion.pk]),
        {
            "gate": gate.pk,
            "order": 1,
            "text": "p95 < 400 ms",
            "kind": "kpi",
            "critical": "on",
            "kpi": criterion.kpi_id,
            "comparator": "lt",
            "threshold": "400",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    signoff.refresh_from_db()
    assert signoff.invalidated_at and "criteria changed" in signoff.invalidated_reason
    actions = list(gate.audit_entries.values_list("action", flat=True))
    assert actions[-2:] == ["criterion_changed", "invalidated"]
    assert carol.notifications.filter(kind="signature_invalidated").exists()
    assert services.gate_audit_verify(gate=gate)[0]


def test_delegating_from_the_gate_page_puts_it_in_the_delegates_inbox(client, carol, victor, gate):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(carol)
    until = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("gate-delegate", args=[gate.pk]), {"delegate": victor.pk, "until": until}
    )
    assert response.status_code == 302
    client.force_login(victor)
    assert gate.name in client.get(reverse("inbox")).content.decode()
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "You sign for" in page
    client.force_login(carol)
    bad = client.post(
        reverse("gate-delegate", args=[gate.pk]),
        {"delegate": victor.pk, "until": "2000-01-01T00:00"},
    )
    # The page again, the form open with the choice kept and the error beside the date.
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "The delegation must end in the future." in page
    assert f'<option value="{victor.pk}" selected>' in page


def test_the_api_and_the_pdf_carry_signatures_with_name_time_zone_and_meaning(client, carol, gate):
    client.force_login(carol)
    client.post(reverse("gate-sign", args=[gate.pk]), sign_data(client, gate))
    record = client.get(reverse("api-gate", args=[gate.pk])).json()
    (signature,) = record["signatures"]
    assert signature["signer"] == carol.get_full_name()
    assert signature["signed_at_display"].endswith(" UTC")
    assert signature["meaning"].startswith("Approved: the criteria shown are met")
    assert record["audit"]["intact"] is True and record["decision"] == "GO"
    csv_text = client.get(reverse("gate-audit-csv", args=[gate.pk])).content.decode()
    assert "Approved: the criteria shown are met" in csv_text and " UTC" in csv_text
    pdf = client.get(reverse("gate-pdf", args=[gate.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert len(pdf.content) > 1500


def test_the_api_hides_gates_of_other_projects(client, oscar, gate):
    client.force_login(oscar)
    assert client.get(reverse("api-gate", args=[gate.pk])).status_code == 404


def test_a_member_who_may_edit_attests_a_manual_criterion(client, bob, victor, gate):
    manual = GateCriterionFactory(gate=gate, kind="manual", text="Runbook written", critical=False)
    client.force_login(victor)
    assert client.post(reverse("criterion-attest", args=[manual.pk])).status_code == 403
    client.force_login(bob)
    page = client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
    assert "I attest this" in page
    client.post(reverse("criterion-attest", args=[manual.pk]))
    manual.refresh_from_db()
    assert manual.attested_by == bob and manual.attested_at
    assert gate.audit_entries.filter(action="attested").exists()
    assert "Attested by" in client.get(reverse("gate-detail", args=[gate.pk])).content.decode()
