"""Notifications to one user each, and the kinds a user muted."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    RISK_ESCALATED = "risk_escalated", "Risk escalated"
    RISK_REVIEW_OVERDUE = "risk_review_overdue", "Risk review overdue"
    KPI_BREACHED = "kpi_breached", "KPI breached"
    KPI_RECOVERED = "kpi_recovered", "KPI back on target"
    SOURCE_FAILING = "source_failing", "Metric source failing"
    GATE_DECIDED = "gate_decided", "Gate decided"
    SIGNATURE_INVALIDATED = "signature_invalidated", "Signature invalidated"
    ROLLBACK_RECOMMENDED = "rollback_recommended", "Rollback recommended"
    GATE_OVERRIDDEN = "gate_overridden", "Gate approved against its recommendation"
    CONDITION_OVERDUE = "condition_overdue", "Condition of a gate overdue"
    APPROVAL_STALE = "approval_stale", "Approval of a gate gone stale"


class Notification(models.Model):
    """A message to one user, shown in the portal and sent by e-mail unless they muted its kind."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(
        max_length=200, help_text="The same key is never notified to the same user twice."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "projects_notification"  # made in the projects app; the rows stayed
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], name="notification_once_per_user_and_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.title}"


class NotificationMute(models.Model):
    """A user's choice not to be told about one kind of notification."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_mutes"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)

    class Meta:
        db_table = "projects_notificationmute"  # made in the projects app; the rows stayed
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_mute_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} mutes {self.get_kind_display()}"
