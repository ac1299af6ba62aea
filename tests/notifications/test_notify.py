"""Notifications: told once per key, never of a muted kind, e-mailed once the write commits,
read and muted from their page."""

import pytest
from django.core import mail
from django.urls import reverse

from notifications import services
from notifications.models import Notification, NotificationKind, NotificationMute

pytestmark = pytest.mark.django_db


def _notify(users, key="risk:1"):
    return services.notify(
        users=users,
        kind=NotificationKind.RISK_ESCALATED,
        title="R-1 escalated",
        dedupe_key=key,
        body="Unresolved for two weeks.",
        url="/risks/1/",
    )


def test_each_user_is_told_once_per_key(alice, bob):
    assert len(_notify([alice, bob, alice])) == 2
    assert _notify([alice, bob]) == []
    assert len(_notify([alice], key="risk:2")) == 1
    assert Notification.objects.filter(user=alice).count() == 2


def test_a_muted_kind_is_not_told(alice, bob):
    services.notification_mute_set(user=bob, kind=NotificationKind.RISK_ESCALATED, muted=True)
    assert [n.user for n in _notify([alice, bob])] == [alice]
    services.notification_mute_set(user=bob, kind=NotificationKind.RISK_ESCALATED, muted=False)
    assert [n.user for n in _notify([bob], key="risk:2")] == [bob]


def test_the_e_mail_goes_once_the_write_commits_and_only_once(
    alice, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://waymark.example.com"
    alice.email = "alice@example.com"
    alice.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (notification,) = _notify([alice])
    assert mail.outbox == []  # nothing is sent for a write that may still roll back
    for callback in callbacks:
        callback()
    services.notification_send_emails(notification_ids=[notification.pk])  # a second run
    (sent,) = mail.outbox
    assert sent.to == ["alice@example.com"] and sent.subject == "[Waymark] R-1 escalated"
    assert "https://waymark.example.com/risks/1/" in sent.body


def test_the_page_lists_marks_read_and_mutes(client, alice):
    _notify([alice])
    client.force_login(alice)
    assert "R-1 escalated" in client.get(reverse("notifications")).content.decode()
    client.post(reverse("notifications-read"))
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    response = client.post(reverse("notification-mute"), {"kind": "risk_escalated", "muted": "1"})
    assert response.status_code == 302
    assert NotificationMute.objects.filter(user=alice, kind="risk_escalated").exists()
    refused = client.post(reverse("notification-mute"), {"kind": "no_such_kind", "muted": "1"})
    assert refused.status_code == 400
