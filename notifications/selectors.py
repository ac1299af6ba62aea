"""Reads of a user's notifications and the kinds they muted."""

from core.people import User
from notifications.models import Notification, NotificationKind, NotificationMute


def notifications_for(*, user: User, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-pk")[:limit])


def notification_kinds_for(*, user: User) -> list[tuple[str, str, bool]]:
    """(kind, label, muted) for every kind of notification."""
    muted = set(NotificationMute.objects.filter(user=user).values_list("kind", flat=True))
    return [(kind, label, kind in muted) for kind, label in NotificationKind.choices]
