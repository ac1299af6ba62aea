from notifications.models import Notification


def navigation_counts(request) -> dict:
    """Counts for the navigation: unread notifications and gates awaiting my signature (two
    queries per page for a logged-in user)."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    from gates.selectors import gates_awaiting_signature  # the navigation shows every app

    return {
        "unread_notifications": Notification.objects.filter(
            user=user, read_at__isnull=True
        ).count(),
        "awaiting_signature": len(gates_awaiting_signature(user=user)),
    }
