from projects.models import Notification


def notifications(request) -> dict:
    """The unread count for the navigation: one query per page for a logged-in user."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {
        "unread_notifications": Notification.objects.filter(user=user, read_at__isnull=True).count()
    }
