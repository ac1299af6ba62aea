"""The outbox's model: tasks the broker could not take, kept until they are sent."""

from django.db import models


class OutboxTask(models.Model):
    """A task the broker could not take when it was sent: kept here until `outbox_resend`
    (a periodic task) sends it, so that work asked for while the broker was away is not lost."""

    task = models.CharField(max_length=200, help_text="The task's name, e.g. risks.tasks.…")
    args = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=200, blank=True, help_text="Empty for the default.")
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Resends the broker refused.")
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "projects_outboxtask"  # made in the projects app; the rows stayed
        ordering = ["pk"]
        verbose_name = "outbox task"

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} kept since {self.created_at:%Y-%m-%d %H:%M:%S}"
