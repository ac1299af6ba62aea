"""The weekly status report: rendered as a page, Markdown and PDF, and e-mailed once a week to
the stakeholders who subscribed; the daily rating snapshots it compares against."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.time_zones import time_zone_of
from dashboards.models import StatusReportDelivery, StatusReportSubscription, StatusSnapshot
from dashboards.selectors import RAG_ORDER, ProjectStatusRow, project_activity, project_status_rows
from gates import selectors as gate_selectors
from metrics import selectors as metric_selectors
from metrics.svg import kpi_trend_svg
from projects import policy, variance
from projects.facts import Activity
from projects.models import Programme, Project
from risks import selectors as risk_selectors
from risks.selectors import Heatmap
from risks.svg import heatmap_svg

logger = logging.getLogger(__name__)


# A KPI's trend over the report's week is drawn from at most this many points (2-hour buckets).
TREND_POINTS = 85
REPORT_DAYS = 7


@dataclass
class ProjectReport:
    """One project's part of a weekly status report."""

    row: ProjectStatusRow
    last_week: StatusSnapshot | None
    kpis: list  # metrics.models.KPI with latest_value, earlier_value and trend
    top_risks: list  # risks.models.Risk
    gates_decided: list  # gates.models.Gate decided in the week
    gates_pending: list  # gates.models.Gate still to decide
    changes: list[Activity]
    heatmap: Heatmap  # of the project's unresolved risks
    trends: dict[int, list]  # per KPI id, its values in the week (metrics.selectors.SeriesPoint)
    window: tuple[datetime, datetime]  # the week the report covers

    @property
    def project(self) -> Project:
        return self.row.project

    @cached_property
    def trend_pictures(self) -> list[tuple]:
        """(KPI, its week as an SVG picture) for each measured KPI with values in the week."""
        since, until = self.window
        pictures = [
            (
                kpi,
                kpi_trend_svg(
                    kpi,
                    self.trends.get(kpi.pk, []),
                    since=since,
                    until=until,
                    span_words=f"{REPORT_DAYS} days",
                ),
            )
            for kpi in self.measured_kpis
        ]
        return [(kpi, picture) for kpi, picture in pictures if picture]

    @cached_property
    def heatmap_picture(self):
        return heatmap_svg(self.heatmap)

    @property
    def measured_kpis(self) -> list:
        """The KPIs with a value: the report's table leaves the others out."""
        return [kpi for kpi in self.kpis if kpi.latest_value is not None]

    @property
    def unmeasured_kpis(self) -> list:
        """The KPIs without a value yet, named on one line."""
        return [kpi for kpi in self.kpis if kpi.latest_value is None]

    @property
    def rag_last_week(self) -> str:
        return variance.RAG(self.last_week.rag).label if self.last_week else "not recorded"

    @property
    def rag_change(self) -> str:
        if self.last_week is None:
            return "no rating recorded a week ago"
        before = variance.RAG(self.last_week.rag)
        if before == self.row.rag:
            return f"unchanged ({before.label})"
        return f"{before.label} → {self.row.rag.label}"


@dataclass
class WeeklyReport:
    title: str
    programme: Programme
    project: Project | None  # None: the programme's report
    since: datetime
    generated_at: datetime
    sections: list[ProjectReport]

    @property
    def rag_summary(self) -> list[tuple[variance.RAG, int]]:
        return [
            (rag, sum(section.row.rag == rag for section in self.sections)) for rag in RAG_ORDER[:3]
        ]

    @cached_property
    def heatmap_picture(self):
        """The unresolved risks of every project in the report, as one heatmap."""
        return heatmap_svg(Heatmap.combined([section.heatmap for section in self.sections]))


CHANGES_PER_PROJECT = 12


def weekly_report(
    *, programme: Programme, projects: QuerySet[Project], now: datetime, project=None
) -> WeeklyReport:
    """The weekly status report of `projects` (a programme's, or one project's) over the seven
    days up to `now`: a constant number of queries for any number of projects."""
    since = now - timedelta(days=REPORT_DAYS)
    today = timezone.localdate(now)
    rows = project_status_rows(projects=projects, today=today)
    ids = Project.objects.filter(pk__in=[row.project.pk for row in rows])
    last_week: dict[int, StatusSnapshot] = {}
    week_ago = today - timedelta(days=7)
    for snapshot in StatusSnapshot.objects.filter(
        project__in=ids, taken_on__lte=week_ago, taken_on__gt=week_ago - timedelta(days=7)
    ).order_by("-taken_on"):
        last_week.setdefault(snapshot.project_id, snapshot)  # the newest in the window
    kpis = metric_selectors.kpi_report_lines(projects=ids, since=since)
    measured = [kpi.pk for lines in kpis.values() for kpi in lines if kpi.latest_value is not None]
    trends = metric_selectors.kpi_series_many(
        kpi_ids=measured, since=since, until=now, buckets=TREND_POINTS
    )
    heatmaps = risk_selectors.risk_heatmaps(projects=ids)
    risks = risk_selectors.top_risks(projects=ids, limit=5)
    changes: dict[int, list[Activity]] = {}
    for entry in project_activity(projects=ids, since=since):
        changes.setdefault(entry.project_id, []).append(entry)
    sections = [
        ProjectReport(
            row=row,
            last_week=last_week.get(row.project.pk),
            kpis=kpis.get(row.project.pk, []),
            top_risks=risks.get(row.project.pk, []),
            gates_decided=[g for g in row.pipeline if g.decided_at and g.decided_at >= since],
            gates_pending=[g for g in row.pipeline if g.state in gate_selectors.PENDING_STATES],
            changes=changes.get(row.project.pk, []),
            heatmap=heatmaps.get(row.project.pk, Heatmap.empty()),
            trends={kpi.pk: trends.get(kpi.pk, []) for kpi in kpis.get(row.project.pk, [])},
            window=(since, now),
        )
        for row in rows
    ]
    title = f"{project.code} {project.name}" if project else programme.name
    return WeeklyReport(
        title=title,
        programme=programme,
        project=project,
        since=since,
        generated_at=now,
        sections=sections,
    )


class PDFUnavailable(RuntimeError):
    """WeasyPrint cannot run here (its Pango libraries are missing)."""


def report_for_project(*, project: Project, now: datetime) -> WeeklyReport:
    return weekly_report(
        programme=project.programme,
        projects=Project.objects.filter(pk=project.pk),
        project=project,
        now=now,
    )


def report_for_programme(*, user, programme: Programme, now: datetime) -> WeeklyReport:
    """The programme's report as `user` may see it: only their projects."""
    projects = policy.visible_projects(user).filter(programme=programme)
    return weekly_report(programme=programme, projects=projects, now=now)


def report_markdown(report: WeeklyReport) -> str:
    return render_to_string("dashboards/report.md", {"report": report, "site": settings.SITE_URL})


def report_html_document(report: WeeklyReport) -> str:
    """The report as one self-contained HTML document (styles inline): for PDF and e-mail."""
    return render_to_string(
        "dashboards/report_document.html", {"report": report, "site": settings.SITE_URL}
    )


def _refuse_fetch(url: str, timeout: int = 10, ssl_context=None):
    raise ValueError(f"The report may not load {url}: everything it shows is inline.")


def report_pdf(report: WeeklyReport) -> bytes:
    """The report as PDF, by WeasyPrint from the HTML document; nothing is fetched."""
    try:
        import weasyprint
    except OSError as error:
        raise PDFUnavailable(
            "PDF export needs the Pango libraries (Debian: libpango-1.0-0 libpangoft2-1.0-0)."
        ) from error
    document = weasyprint.HTML(string=report_html_document(report), url_fetcher=_refuse_fetch)
    return document.write_pdf()


def report_filename(report: WeeklyReport, extension: str) -> str:
    scope = report.project.code if report.project else report.programme.slug
    return f"waymark-status-{scope}-{timezone.localdate(report.generated_at)}.{extension}"


@transaction.atomic
def status_snapshot_record(*, today: date | None = None) -> int:
    """Record every project's rating for `today` (again, if it changed since the last run):
    what next week's reports compare against."""
    today = today or timezone.localdate()
    rows = project_status_rows(projects=Project.objects.all(), today=today)
    snapshots = [
        StatusSnapshot(
            project=row.project,
            taken_on=today,
            rag=row.rag.value,
            reasons=[reason.text for reason in row.rating.reasons],
            percent_complete=row.variance.percent_complete,
            schedule_days=row.variance.schedule.days,
            budget_percent=row.variance.budget.percent,
            kpis_breached=row.kpis_breached,
            critical_risks=len(row.critical_risks),
        )
        for row in rows
    ]
    StatusSnapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["project", "taken_on"],
        update_fields=[
            "rag",
            "reasons",
            "percent_complete",
            "schedule_days",
            "budget_percent",
            "kpis_breached",
            "critical_risks",
        ],
    )
    return len(snapshots)


def report_subscription_set(
    *, user, subscribed: bool, project: Project | None = None, programme: Programme | None = None
) -> None:
    """Subscribe `user` to a project's or a programme's weekly report, or unsubscribe."""
    scope = {"project": project} if project else {"programme": programme}
    if subscribed:
        StatusReportSubscription.objects.get_or_create(user=user, **scope)
    else:
        StatusReportSubscription.objects.filter(user=user, **scope).delete()


def is_subscribed(*, user, project: Project | None = None, programme=None) -> bool:
    scope = {"project": project} if project else {"programme": programme}
    return StatusReportSubscription.objects.filter(user=user, **scope).exists()


def week_of(day: date) -> date:
    """The Monday of `day`'s week: a delivery's key."""
    return day - timedelta(days=day.weekday())


def status_reports_send(*, now: datetime | None = None) -> int:
    """E-mail this week's report to every subscriber who has not had it yet; returns how many
    were sent. Each delivery is claimed by a unique row first, so a second run (or a second
    worker) sends nothing twice; a failed send releases its claim for the next run."""
    now = now or timezone.now()
    status_snapshot_record(today=timezone.localdate(now))
    week = week_of(timezone.localdate(now))
    sent = 0
    subscriptions = StatusReportSubscription.objects.select_related(
        "user__profile", "project__programme", "programme"
    ).order_by("pk")
    for subscription in subscriptions:
        if not _may_receive(subscription):
            continue
        try:
            with transaction.atomic():
                delivery = StatusReportDelivery.objects.create(
                    subscription=subscription, week=week, claimed_at=now
                )
        except IntegrityError:
            continue  # already sent this week
        try:
            report = _report_for(subscription, now)
            # Written for its reader: its moments in their time zone.
            with timezone.override(time_zone_of(subscription.user)):
                _send(subscription.user, report)
        except (smtplib.SMTPException, OSError, PDFUnavailable):
            logger.exception("Weekly report to %s not sent; next run retries", subscription.user)
            delivery.delete()
            continue
        StatusReportDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())
        sent += 1
    return sent


def _may_receive(subscription) -> bool:
    """Has the subscriber an address, and may they still read what they subscribed to?"""
    user = subscription.user
    if not (user.is_active and user.email):
        return False
    if subscription.project:
        return policy.can_view_project(user, subscription.project)
    return policy.visible_programmes(user).filter(pk=subscription.programme_id).exists()


def _report_for(subscription, now) -> WeeklyReport:
    if subscription.project:
        return report_for_project(project=subscription.project, now=now)
    return report_for_programme(user=subscription.user, programme=subscription.programme, now=now)


def _send(user, report: WeeklyReport) -> None:
    worst = next((rag for rag, count in report.rag_summary if count), None)
    rating = f" ({worst.label})" if worst else ""
    message = EmailMultiAlternatives(
        subject=f"[Waymark] Weekly status: {report.title}{rating}",
        body=report_markdown(report),
        to=[user.email],
    )
    message.attach_alternative(report_html_document(report), "text/html")
    message.attach(report_filename(report, "pdf"), report_pdf(report), "application/pdf")
    message.send()
