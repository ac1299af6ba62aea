"""What the status pages and reports keep: daily snapshots of each project's rating, and the
subscriptions to the weekly report with their deliveries."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from projects.models import Programme, Project


class StatusSnapshot(models.Model):
    """A project's rating as it stood on one day, kept so reports can say what changed."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="snapshots")
    taken_on = models.DateField()
    rag = models.CharField(max_length=10)
    reasons = models.JSONField(default=list, blank=True)
    percent_complete = models.FloatField(null=True, blank=True)
    schedule_days = models.IntegerField(null=True, blank=True)
    budget_percent = models.FloatField(null=True, blank=True)
    kpis_breached = models.PositiveIntegerField(default=0)
    critical_risks = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "projects_statussnapshot"  # made in the projects app; the rows stayed
        ordering = ["project", "-taken_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "taken_on"], name="status_snapshot_one_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} on {self.taken_on}: {self.rag}"


class StatusReportSubscription(models.Model):
    """A stakeholder's wish to receive a project's or a programme's weekly status report."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions"
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "projects_statusreportsubscription"  # made in the projects app; the rows stayed
        constraints = [
            models.CheckConstraint(
                condition=Q(programme__isnull=True, project__isnull=False)
                | Q(programme__isnull=False, project__isnull=True),
                name="report_subscription_programme_xor_project",
            ),
            models.UniqueConstraint(
                fields=["user", "project"],
                condition=Q(project__isnull=False),
                name="report_subscription_once_per_project",
            ),
            models.UniqueConstraint(
                fields=["user", "programme"],
                condition=Q(programme__isnull=False),
                name="report_subscription_once_per_programme",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} receives {self.project or self.programme}"


class StatusReportDelivery(models.Model):
    """One weekly report sent to one subscriber: the row is the claim that makes it once."""

    subscription = models.ForeignKey(
        StatusReportSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    week = models.DateField(help_text="The Monday of the week the report covers.")
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "projects_statusreportdelivery"  # made in the projects app; the rows stayed
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "week"], name="status_report_once_per_week"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription} for the week of {self.week}"
