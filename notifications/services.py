from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationMute


def notify(
    *, users, kind: str, title: str, dedupe_key: str, body: str = "", url: str = ""
) -> list[Notification]:
    """Tell each of `users` (once per `dedupe_key`, never if they muted `kind`): a notification
    in the portal, and an e-mail sent once the surrounding transaction commits."""
    recipients = {user.pk: user for user in users if user is not None and user.is_active}
    muted = set(
        NotificationMute.objects.filter(user_id__in=recipients, kind=kind).values_list(
            "user_id", flat=True
        )
    )
    created = []
    for user_id, user in recipients.items():
        if user_id in muted:
            continue
        notification, is_new = Notification.objects.get_or_create(
            user=user,
            dedupe_key=dedupe_key,
            defaults={"kind": kind, "title": title, "body": body, "url": url},
        )
        if is_new:
            created.append(notification)
    ids = [notification.pk for notification in created]
    if ids:
        transaction.on_commit(lambda: notification_send_emails(notification_ids=ids))
    return created


def notification_send_emails(*, notification_ids: list[int]) -> None:
    """E-mail the notifications not e-mailed yet; each is claimed before sending, so it goes
    out once even if this runs twice."""
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related("user"):
        if not notification.user.email:
            continue
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            continue
        link = f"\n\n{settings.SITE_URL}{notification.url}" if notification.url else ""
        send_mail(
            subject=f"[Waymark] {notification.title}",
            message=f"{notification.body}{link}",
            from_email=None,
            recipient_list=[notification.user.email],
        )


def notification_mark_read(*, user, notification_ids: list[int] | None = None) -> int:
    """Mark `user`'s notifications (these, or all) read; returns how many were unread."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


def notification_mute_set(*, user, kind: str, muted: bool) -> None:
    if muted:
        NotificationMute.objects.get_or_create(user=user, kind=kind)
    else:
        NotificationMute.objects.filter(user=user, kind=kind).delete()
