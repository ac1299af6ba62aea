"""Personal API tokens: made, found and revoked here; the API authenticates with them.

A token reads `wm_<prefix>_<secret>`: the prefix names it in lists and logs, the whole token is
looked up by its SHA-256 digest."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, throttling

from accounts.models import ApiToken
from core.log_context import current_actor

LAST_USE_PRECISION = timedelta(minutes=1)  # at most one write a minute per token


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the raw token, which is never shown again."""
    prefix = secrets.token_hex(4)
    raw = f"wm_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(user=user, name=name.strip(), prefix=prefix, digest=_digest(raw))
    token.full_clean()
    token.save()
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_tokens_of(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token `raw` is, with its user, or None. Records its last use."""
    if not raw.startswith("wm_") or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer wm_…` (or `Token wm_…`)."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>', nothing more."
            )
        token = api_token_authenticate(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not known or was revoked.")
        current_actor.set(token.user.get_username())  # on the request's log lines from here on
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenRateThrottle(throttling.SimpleRateThrottle):
    """Requests per token; the browser's session is not throttled here."""

    scope = "api_token"

    def get_rate(self) -> str:
        return settings.API_TOKEN_RATE

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema: an HTTP bearer scheme."""

    target_class = ApiTokenAuthentication
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, made on the 'API tokens' page.",
        }
