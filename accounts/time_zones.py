"""Each person reads dates and times in a time zone of their own.

The zone is a preference on the person's Profile; until they choose one, the portal's
TIME_ZONE. A request is served in its user's zone (TimeZoneMiddleware), so that every page,
PDF and export made for them reads "3 Dec 2026, 09:12 CET". The zone is kept in the session:
read once at login, and again at most once a minute while the user acts (so a choice made
in another browser follows), never once per moment shown."""

import functools
import time
import zoneinfo

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Profile
from accounts.sessions import BACKGROUND_POLL_HEADER

# [zone name, when it was read (epoch seconds)]
SESSION_KEY = "waymark_time_zone"
# A session reads its user's choice again at most this often.
REREAD_SECONDS = 60
# Not places: the server's own /etc/localtime, and tzdata's placeholder zone.
_NOT_PLACES = {"localtime", "Factory"}


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """Every time zone a person may choose, sorted: "Africa/Abidjan" … "Zulu"."""
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_PLACES))


def time_zone_of(user) -> str:
    """The zone `user` reads times in: their choice, else the portal's TIME_ZONE. One query,
    none when the profile was fetched with the user (`select_related("profile")`)."""
    chosen = time_zone_chosen(user)
    # A zone the machine no longer knows (tzdata dropped it) reads as the portal's.
    return chosen if chosen in time_zone_names() else settings.TIME_ZONE


def time_zone_chosen(user) -> str:
    """The zone `user` chose, or "" while they read times in the portal's TIME_ZONE."""
    try:
        return user.profile.time_zone
    except Profile.DoesNotExist:
        return ""


class UnknownTimeZone(ValueError):
    """A zone name that is not one of time_zone_names()."""


@transaction.atomic
def time_zone_set(*, user, time_zone: str) -> Profile:
    """Choose the zone `user` reads times in; "" goes back to the portal's TIME_ZONE."""
    if time_zone and time_zone not in time_zone_names():
        raise UnknownTimeZone(f"“{time_zone}” is not a time zone this portal knows.")
    profile, _created = Profile.objects.get_or_create(user=user)
    profile.time_zone = time_zone
    profile.full_clean()
    profile.save(update_fields=["time_zone"])
    user.profile = profile
    return profile


def time_zone_remember(request: HttpRequest, zone: str) -> None:
    """Keep `zone` as the one this session reads times in, as of now."""
    request.session[SESSION_KEY] = [zone, int(time.time())]


@receiver(user_logged_in)
def _read_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        time_zone_remember(request, time_zone_of(user))


def _zone_for(request: HttpRequest) -> str | None:
    """The session's zone, read again from the profile when it was read over a minute ago
    and the user is acting (a status page's background poll is not)."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return None
    kept = session.get(SESSION_KEY)
    now = time.time()
    is_background = BACKGROUND_POLL_HEADER in request.META
    if kept is None or (not is_background and now - kept[1] >= REREAD_SECONDS):
        zone = time_zone_of(user)
        time_zone_remember(request, zone)
        return zone
    return kept[0] if kept[0] in time_zone_names() else settings.TIME_ZONE


class TimeZoneMiddleware:
    """Serve each request in its user's time zone (after the session's user is known)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        zone = _zone_for(request)
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
