"""Personal API tokens, and each person's preferences."""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal token for scripts and pipelines to call the API as their user. The token is
    shown once, when made; only its SHA-256 digest is stored (it is random, 256 bits: a slow
    hash would add nothing)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'CI pipeline'.")
    prefix = models.CharField(max_length=16, unique=True, help_text="Tells tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "projects_apitoken"  # made in the projects app; the rows stayed
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Profile(models.Model):
    """A person's own preferences: how the portal reads to them. Made on their first choice;
    without one, the portal's defaults apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    # An IANA zone name ("Europe/Berlin"); empty: the portal's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Preferences of {self.user}"
