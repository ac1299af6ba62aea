"""The weekly status report: page, Markdown, PDF, and the weekly e-mail sent once."""

import io
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from dashboards import reports
from dashboards.models import StatusReportDelivery, StatusReportSubscription, StatusSnapshot
from gates.models import Decision, GateState
from tests.dashboards.test_status_pages import populate
from tests.factories import (
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    PhaseFactory,
    ProjectFactory,
    RiskFactory,
)


@pytest.fixture
def busy_project(project_a):
    """Project A, three weeks late, with a worsening KPI, risks and gates."""
    project_a.forecast_end = project_a.baseline_end + timedelta(days=21)
    project_a.save()
    PhaseFactory(project=project_a, name="Foundation")
    now = timezone.now()
    kpi = KPIFactory(
        project=project_a,
        name="p95 write latency",
        unit="ms",
        comparator="lt",
        target_value=15,
        critical=True,
        status="breached",
    )
    MeasurementFactory(kpi=kpi, at=now - timedelta(days=8), value=12)
    MeasurementFactory(kpi=kpi, at=now - timedelta(hours=1), value=19)
    RiskFactory(project=project_a, key="R1", title="Data loss at cutover", likelihood=4, impact=5)
    GateFactory(
        project=project_a,
        order=1,
        name="Plan sign-off",
        state=GateState.DECIDED,
        decision=Decision.GO,
        decided_at=now - timedelta(days=2),
    )
    GateFactory(
        project=project_a,
        order=2,
        name="Cutover go/no-go",
        state=GateState.OPEN,
        due_date=timezone.localdate() + timedelta(days=10),
    )
    return project_a


def test_report_page_holds_rag_variance_kpis_risks_gates_and_changes(client, alice, busy_project):
    client.force_login(alice)
    response = client.get(reverse("project-report", args=[busy_project.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Off track" in page and "Schedule 3 weeks behind (21 days)" in page
    assert "Critical KPI breached: p95 write latency" in page
    assert "▼ worse" in page  # 12 ms a week ago, 19 ms now, target < 15
    assert "R1</strong> Data loss at cutover" in page
    assert "Plan sign-off: GO" in page
    assert "Cutover go/no-go: Open for sign-off" in page
    assert "added phase “Foundation”" in page
    assert "no rating recorded a week ago" in page


def test_report_compares_with_the_rating_a_week_ago(client, alice, busy_project):
    StatusSnapshot.objects.create(
        project=busy_project, taken_on=timezone.localdate() - timedelta(days=7), rag="amber"
    )
    client.force_login(alice)
    page = client.get(reverse("project-report", args=[busy_project.pk])).content.decode()
    assert "At risk → Off track" in page


def test_markdown_download(client, alice, busy_project):
    client.force_login(alice)
    response = client.get(reverse("project-report-md", args=[busy_project.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert 'attachment; filename="waymark-status-A-' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("# Weekly status: A Provider API")
    assert "## A Provider API: Off track" in text
    row = "| p95 write latency (critical) | below 15 ms | 12 | 19 ms | ▼ worse | Breached |"
    assert row in text
    assert "&lt;" not in text and "&amp;" not in text  # Markdown, not HTML


def test_markdown_table_cells_survive_pipes_in_names(client, alice, busy_project):
    ratio = KPIFactory(project=busy_project, name="Reads | writes ratio")
    MeasurementFactory(kpi=ratio, at=timezone.now() - timedelta(hours=1), value=3)
    client.force_login(alice)
    text = client.get(reverse("project-report-md", args=[busy_project.pk])).content.decode()
    assert "| Reads \\| writes ratio |" in text


def test_kpis_without_values_are_named_on_one_line_not_listed_as_dashes(
    client, alice, busy_project
):
    """Reports listed every KPI, mostly "—"."""
    KPIFactory(project=busy_project, name="Cutover rehearsals")
    KPIFactory(project=busy_project, name="Rollback drills")
    client.force_login(alice)
    text = client.get(reverse("project-report-md", args=[busy_project.pk])).content.decode()
    assert "| Cutover rehearsals" not in text and "| Rollback drills" not in text
    assert "No values yet: Cutover rehearsals, Rollback drills." in text
    assert "| p95 write latency (critical) |" in text
    page = client.get(reverse("project-report", args=[busy_project.pk])).content.decode()
    assert "<td>Cutover rehearsals" not in page
    assert "No values yet: Cutover rehearsals, Rollback drills." in page


def test_pdf_download_is_a_real_pdf_with_the_report_text(client, erin, programme, busy_project):
    client.force_login(erin)
    response = client.get(reverse("programme-report-pdf", args=[programme.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Weekly status: Platform Migrations" in text
    assert "p95 write latency" in text and "Data loss at cutover" in text


@pytest.fixture
def measured_week(busy_project):
    """A week of p95 write latency, rising from 12 ms to 19 ms, and a KPI without values."""
    kpi = busy_project.kpis.get(name="p95 write latency")
    now = timezone.now()
    for days, value in ((6, 12), (4, 14), (2, 17)):
        MeasurementFactory(kpi=kpi, at=now - timedelta(days=days), value=value)
    errors = KPIFactory(project=busy_project, name="Error rate", unit="%", target_value=1)
    MeasurementFactory(kpi=errors, at=now - timedelta(days=3), value=0.4)
    MeasurementFactory(kpi=errors, at=now - timedelta(hours=2), value=0.3)
    KPIFactory(project=busy_project, name="Cutover rehearsals")  # no values: no picture
    return busy_project


def pictures(html: str, css_class: str) -> list[str]:
    """The aria-labels of the report's <svg> pictures of `css_class`."""
    return re.findall(rf'<svg [^>]*class="{css_class}" role="img" aria-label="([^"]*)"', html)


def test_report_draws_each_measured_kpis_week_and_the_risk_heatmap(client, alice, measured_week):
    client.force_login(alice)
    page = client.get(reverse("project-report", args=[measured_week.pk])).content.decode()
    assert pictures(page, "trend") == [
        "p95 write latency, 7 days: from 12 ms to 19 ms, target below 15 ms",
        "Error rate, 7 days: from 0.4 % to 0.3 %, target below 1 %",
    ]
    assert "Cutover rehearsals" not in " ".join(pictures(page, "trend"))
    assert "No values yet: Cutover rehearsals." in page
    assert pictures(page, "heatmap") == [
        "Risk heatmap of likelihood by impact, 1 unresolved risk: 1 likely, of severe impact"
    ]


def test_a_report_without_values_or_risks_draws_no_picture(client, alice, project_a):
    KPIFactory(project=project_a, name="Cutover rehearsals")
    client.force_login(alice)
    page = client.get(reverse("project-report", args=[project_a.pk])).content.decode()
    assert "<svg" not in page
    assert "No values yet: Cutover rehearsals." in page and "No unresolved risks." in page


def test_the_programme_report_draws_its_risks_together(client, erin, programme, measured_week):
    other = ProjectFactory(programme=programme, code="C", name="Cache")
    other.memberships.create(user=erin, role="executive")
    RiskFactory(project=other, key="R1", title="Stale reads", likelihood=4, impact=5)
    client.force_login(erin)
    page = client.get(reverse("programme-report", args=[programme.slug])).content.decode()
    heatmaps = pictures(page, "heatmap")
    assert heatmaps[0] == (
        "Risk heatmap of likelihood by impact, 2 unresolved risks: 2 likely, of severe impact"
    )
    assert len(heatmaps) == 3  # the programme's, then each project's


def test_report_queries_do_not_grow_with_projects_kpis_values_or_risks(
    client, erin, programme, project_a, django_assert_max_num_queries
):
    populate(project_a, n=1)
    client.force_login(erin)
    urls = [
        reverse("programme-report", args=[programme.slug]),
        reverse("project-report", args=[project_a.pk]),
    ]
    few = []
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        few.append(len(queries))
    for n in range(5):
        project = ProjectFactory(programme=programme)
        populate(project, n=n)
        populate(project_a, n=n)
    for url, budget in zip(urls, few, strict=True):
        with django_assert_max_num_queries(budget):
            page = client.get(url).content.decode()
        assert pictures(page, "trend") and pictures(page, "heatmap")
    programme_page = client.get(urls[0]).content.decode()
    assert len(pictures(programme_page, "trend")) == 2 * 6 + 2 * 5  # A's 12 KPIs, 2 each else
    assert len(pictures(programme_page, "heatmap")) == 1 + 6


def pdf_drawing(content: bytes) -> tuple[int, int, str]:
    """(bitmap images, dashed lines, text) of a PDF: what its pages draw, forms followed, and
    the text pypdf reads."""
    reader = PdfReader(io.BytesIO(content))
    images, dashed, seen = 0, 0, set()

    def walk(stream, resources):
        nonlocal images, dashed
        dashed += len(re.findall(rb"\[5 4\] 0 d", stream))  # the targets' stroke-dasharray
        for reference in ((resources or {}).get("/XObject") or {}).values():
            if reference.idnum in seen:
                continue
            seen.add(reference.idnum)
            xobject = reference.get_object()
            if xobject.get("/Subtype") == "/Image":
                images += 1
            else:
                walk(xobject.get_data(), xobject.get("/Resources"))

    for page in reader.pages:
        walk(page.get_contents().get_data(), page.get("/Resources"))
    return images, dashed, "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_draws_the_pictures_as_vectors_with_their_words(client, alice, measured_week):
    client.force_login(alice)
    response = client.get(reverse("project-report-pdf", args=[measured_week.pk]))
    assert response.status_code == 200
    images, dashed, text = pdf_drawing(response.content)
    assert images == 0  # no picture is a bitmap
    assert dashed == 2  # each measured KPI's target, drawn as a dashed vector line
    # The pictures' words are text in the PDF: axes, days, values with their units.
    for words in ("Impact →", "Likelihood ↑", "Almost certain", "Severe", "17.5 ms", "0.75 %"):
        assert words in text, words
    assert "No values yet: Cutover rehearsals." in text  # named, not drawn


def test_programme_report_lists_only_projects_the_reader_may_see(
    client, victor, programme, project_a
):
    hidden = ProjectFactory(programme=programme, code="HID", name="Hidden project")
    client.force_login(victor)
    page = client.get(reverse("programme-report", args=[programme.slug])).content.decode()
    assert "Provider API" in page
    assert "Hidden project" not in page
    assert hidden.code not in page.split("Weekly status", 1)[1].split("<section")[0]


def test_report_of_another_project_is_404(client, oscar, project_a):
    client.force_login(oscar)
    for name in ("project-report", "project-report-md", "project-report-pdf"):
        assert client.get(reverse(name, args=[project_a.pk])).status_code == 404


def test_subscribe_and_unsubscribe_from_the_page(client, erin, programme):
    client.force_login(erin)
    url = reverse("programme-report-subscription", args=[programme.slug])
    response = client.post(url, {"subscribed": "1"}, follow=True)
    assert "You will receive this report by e-mail every week." in response.content.decode()
    assert StatusReportSubscription.objects.filter(user=erin, programme=programme).count() == 1
    client.post(url, {"subscribed": "1"})  # twice is still once
    assert StatusReportSubscription.objects.filter(user=erin).count() == 1
    client.post(url, {"subscribed": "0"})
    assert not StatusReportSubscription.objects.filter(user=erin).exists()


def test_subscription_needs_access(client, oscar, project_a):
    client.force_login(oscar)
    url = reverse("project-report-subscription", args=[project_a.pk])
    assert client.post(url, {"subscribed": "1"}).status_code == 404
    assert not StatusReportSubscription.objects.exists()


def test_weekly_email_goes_once_per_subscriber_even_if_the_task_runs_twice(
    erin, alice, oscar, programme, busy_project, project_b
):
    erin.email, alice.email, oscar.email = "erin@example.com", "alice@example.com", ""
    for user in (erin, alice, oscar):
        user.save()
    reports.report_subscription_set(user=erin, programme=programme, subscribed=True)
    reports.report_subscription_set(user=alice, project=busy_project, subscribed=True)
    reports.report_subscription_set(user=oscar, project=project_b, subscribed=True)  # no e-mail

    assert reports.status_reports_send() == 2
    assert reports.status_reports_send() == 0
    assert len(mail.outbox) == 2
    by_recipient = {message.to[0]: message for message in mail.outbox}
    message = by_recipient["erin@example.com"]
    assert message.subject == "[Waymark] Weekly status: Platform Migrations (Off track)"
    assert "## A Provider API: Off track" in message.body
    assert message.alternatives[0][1] == "text/html"
    _name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF-")
    assert StatusReportDelivery.objects.filter(sent_at__isnull=False).count() == 2
    assert StatusSnapshot.objects.filter(project=busy_project, rag="red").exists()


def test_next_week_sends_again(erin, programme, project_a):
    erin.email = "erin@example.com"
    erin.save()
    reports.report_subscription_set(user=erin, programme=programme, subscribed=True)
    now = timezone.now()
    assert reports.status_reports_send(now=now) == 1
    assert reports.status_reports_send(now=now + timedelta(days=7)) == 1
    assert len(mail.outbox) == 2


def test_a_failed_send_releases_its_claim(erin, programme, project_a, settings):
    erin.email = "erin@example.com"
    erin.save()
    reports.report_subscription_set(user=erin, programme=programme, subscribed=True)
    # A relay that refuses the connection: nothing on this loopback port.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    assert reports.status_reports_send() == 0
    assert not StatusReportDelivery.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reports.status_reports_send() == 1


def test_former_member_gets_no_more_reports(erin, programme, project_a):
    erin.email = "erin@example.com"
    erin.save()
    reports.report_subscription_set(user=erin, programme=programme, subscribed=True)
    erin.memberships.all().delete()
    assert reports.status_reports_send() == 0
    assert mail.outbox == []


def test_snapshot_is_one_row_per_project_and_day(project_a, project_b):
    today = timezone.localdate()
    assert reports.status_snapshot_record(today=today) == 2
    project_a.forecast_end = project_a.baseline_end
    project_a.save()
    reports.status_snapshot_record(today=today)
    assert StatusSnapshot.objects.filter(taken_on=today).count() == 2
    assert StatusSnapshot.objects.get(project=project_a, taken_on=today).rag == "green"


def test_the_weekly_task_is_scheduled(settings):
    from dashboards.tasks import status_reports_send

    schedule = settings.CELERY_BEAT_SCHEDULE["status-report-weekly"]
    assert schedule["task"] == status_reports_send.name


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_report(erin, programme, project_a):
    """Two workers running the weekly task at the same moment: the delivery row's unique
    claim lets only one of them send."""
    erin.email = "erin@example.com"
    erin.save()
    reports.report_subscription_set(user=erin, programme=programme, subscribed=True)
    now = timezone.now()
    barrier = threading.Barrier(2)
    sent = []

    def run():
        barrier.wait()
        try:
            sent.append(reports.status_reports_send(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(sent) == [0, 1]
    assert len(mail.outbox) == 1
    assert StatusReportDelivery.objects.count() == 1


def test_every_pdf_page_footer_names_the_project_as_written(client, alice, busy_project):
    busy_project.code = "PROVIDER-API"
    busy_project.name = 'Provider "API" <v2> \\ café'
    busy_project.save()
    client.force_login(alice)
    response = client.get(reverse("project-report-pdf", args=[busy_project.pk]))
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]
    footer = 'Waymark weekly status: PROVIDER-API Provider "API" <v2> \\ café'
    assert all(footer in page for page in pages), pages
    assert not any("u00" in page or "\\u" in page for page in pages)
