"""Personal API tokens: made on a page and shown once, stored hashed, last use recorded,
revoked for good, and throttled per token."""

import hashlib

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import api_token_create

pytestmark = pytest.mark.django_db


def api_get(client, path, token):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_token_is_shown_once_and_stored_only_as_its_digest(client, bob):
    client.force_login(bob)
    response = client.post(reverse("api-tokens"), {"name": "CI pipeline"})
    assert response.status_code == 201
    page = response.content.decode()
    token = ApiToken.objects.get(user=bob)
    raw = page.split('<code id="new-token" class="token">')[1].split("</code>")[0]
    assert raw.startswith(f"wm_{token.prefix}_") and len(raw) > 40
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiToken.objects.values().get())  # nothing stored holds it
    listing = client.get(reverse("api-tokens")).content.decode()
    assert "CI pipeline" in listing and f"wm_{token.prefix}_…" in listing
    assert raw not in listing


def test_a_token_without_a_name_is_refused_with_the_reason(client, bob):
    client.force_login(bob)
    response = client.post(reverse("api-tokens"), {"name": "  "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_api_answers_a_token_as_its_user_and_records_the_last_use(client, bob, project_a):
    token, raw = api_token_create(user=bob, name="CI pipeline")
    response = api_get(client, "/api/v1/projects/", raw)
    assert response.status_code == 200
    assert [p["code"] for p in response.json()["results"]] == ["A"]
    token.refresh_from_db()
    assert token.last_used_at is not None
    listing = client.get(reverse("api-tokens"))  # not logged in: the token is no session
    assert listing.status_code == 302


def test_a_revoked_or_unknown_token_gets_401_with_the_reason(client, bob):
    token, raw = api_token_create(user=bob, name="CI pipeline")
    client.force_login(bob)
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 302
    client.logout()
    response = api_get(client, "/api/v1/projects/", raw)
    assert response.status_code == 401
    assert response.json() == {"detail": "The token is not known or was revoked."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert api_get(client, "/api/v1/projects/", "wm_0000_nope").status_code == 401


def test_nobody_revokes_anyone_elses_token(client, bob, oscar):
    token, _ = api_token_create(user=bob, name="Bob's deploy script")
    client.force_login(oscar)
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "deploy script" not in client.get(reverse("api-tokens")).content.decode()


def test_token_clients_are_throttled_sessions_are_not(client, bob, settings):
    settings.API_TOKEN_RATE = "3/min"
    cache.clear()
    _, raw = api_token_create(user=bob, name="Busy script")
    answers = [api_get(client, "/api/v1/projects/", raw).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    client.force_login(bob)
    assert all(client.get("/api/v1/projects/").status_code == 200 for _ in range(5))
