"""Hardened settings, headers, sessions and the security log, as a user's deployment has them."""

import json
import logging
import time
from importlib import import_module

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import sessions
from core.log_context import RequestContextFilter, json_formatter
from tests.config.test_settings import GOOD_AUDIT_KEY, GOOD_KEY, load_settings

CHECK_DEPLOY = """
import sys
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"])
"""


def test_check_deploy_reports_nothing_under_production_settings(tmp_path):
    result = load_settings(
        tmp_path,
        code=CHECK_DEPLOY,
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        AUDIT_SIGNING_KEY=GOOD_AUDIT_KEY,
        ALLOWED_HOSTS="waymark.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


PRODUCTION_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "session_samesite": settings.SESSION_COOKIE_SAMESITE,
    "csrf_samesite": settings.CSRF_COOKIE_SAMESITE,
    "hsts_subdomains": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "validators": [v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS],
    "idle": settings.SESSION_IDLE_TIMEOUT,
    "lifetime": settings.SESSION_ABSOLUTE_LIFETIME,
    "cookie_age": settings.SESSION_COOKIE_AGE,
    "log_format": settings.LOG_FORMAT,
}))
"""


def test_production_cookies_sessions_and_passwords(tmp_path):
    result = load_settings(
        tmp_path,
        code=PRODUCTION_PROBE,
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        AUDIT_SIGNING_KEY=GOOD_AUDIT_KEY,
        ALLOWED_HOSTS="waymark.example.com",
        SESSION_IDLE_TIMEOUT="900",
        SESSION_ABSOLUTE_LIFETIME="28800",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["session_httponly"] is True
    assert loaded["session_samesite"] == loaded["csrf_samesite"] == "Lax"
    assert loaded["hsts_subdomains"] is True
    assert set(loaded["validators"]) >= {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }
    assert (loaded["idle"], loaded["lifetime"], loaded["cookie_age"]) == (900, 28800, 28800)
    assert loaded["log_format"] == "json"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/api/v1/docs/"])
def test_every_page_carries_a_script_policy_without_inline_or_eval(client, path):
    response = client.get(path)
    assert response.status_code in (200, 302, 403)
    policy = _policy(response)
    scripts = policy.get("script-src", policy["default-src"])
    assert scripts == ["'self'"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_pages_hold_no_inline_script_and_htmx_runs_without_eval(client, alice, project_a):
    client.force_login(alice)
    for path in (reverse("home"), reverse("project-detail", args=[project_a.pk])):
        html = client.get(path).content.decode()
        scripts = html.split("<script")[1:]
        assert scripts, path
        for script in scripts:
            opening = script.split(">", 1)[0]
            # Either a file from static/, or data (json_script) the browser does not run.
            assert "src=" in opening or 'type="application/json"' in opening, opening
        assert '"allowEval": false' in html
        assert " onclick=" not in html and "hx-on" not in html


@pytest.mark.django_db
def test_the_api_docs_page_loads_its_script_from_a_file():
    response = Client().get("/api/v1/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    inline = [s for s in html.split("<script")[1:] if "src=" not in s.split(">", 1)[0]]
    assert inline == []


def _log_in(client, username, password="password", address="10.0.0.1"):  # noqa: S107
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def alice_password(alice):
    alice.set_password("password")
    alice.save()
    return "password"


@pytest.mark.django_db
def test_the_session_key_changes_at_login(client, alice, alice_password):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    assert _log_in(client, "alice").status_code == 302
    assert client.session.session_key != before


@pytest.mark.django_db
def test_lockout_is_keyed_on_username_and_address_together(client, alice, bob, alice_password):
    bob.set_password("password")
    bob.save()
    limit = django_settings.AXES_FAILURE_LIMIT
    for _ in range(limit):
        _log_in(client, "alice", password="wrong", address="10.0.0.66")
    locked = _log_in(Client(), "alice", address="10.0.0.66")
    assert locked.status_code == 429
    assert "too many login attempts" in locked.content.decode()
    assert "Log in to Waymark" in locked.content.decode()
    # Nobody can lock alice out from afar: from her own address she still logs in, and
    # another user logs in from the attacker's address.
    assert _log_in(Client(), "alice", address="10.0.0.1").status_code == 302
    assert _log_in(Client(), "bob", address="10.0.0.66").status_code == 302


@pytest.mark.django_db
def test_an_admin_unlocks_a_locked_out_user(client, alice, alice_password, superuser):
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        _log_in(client, "alice", password="wrong", address="10.0.0.66")
    assert _log_in(Client(), "alice", address="10.0.0.66").status_code == 429
    attempt = AccessAttempt.objects.get(username="alice")

    admin = Client()
    admin.force_login(superuser)
    changelist = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200
    assert "alice" in changelist.content.decode()
    confirmed = admin.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert confirmed.status_code == 302

    assert _log_in(Client(), "alice", address="10.0.0.66").status_code == 302


@pytest.mark.django_db
def test_a_deactivated_users_next_request_is_refused(client, alice, project_a):
    client.force_login(alice)
    page = reverse("project-detail", args=[project_a.pk])
    assert client.get(page).status_code == 200
    alice.is_active = False
    alice.save()
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get(f"/api/v1/projects/{project_a.pk}/").status_code == 401


def _age_session(client, *, started_ago: float, seen_ago: float) -> None:
    session = client.session
    now = time.time()
    session[sessions.STARTED_KEY] = int(now - started_ago)
    session[sessions.SEEN_KEY] = int(now - seen_ago)
    session.save()


@pytest.mark.django_db
def test_an_idle_session_ends(client, alice, project_a, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    client.force_login(alice)
    page = reverse("project-detail", args=[project_a.pk])
    _age_session(client, started_ago=590, seen_ago=590)
    assert client.get(page).status_code == 200  # still within the idle timeout
    _age_session(client, started_ago=700, seen_ago=601)
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={page}"
    assert client.get(page).status_code == 302  # logged out, not just redirected once


@pytest.mark.django_db
def test_activity_keeps_a_session_but_a_background_poll_does_not(client, alice, project_a):
    client.force_login(alice)
    page = reverse("project-detail", args=[project_a.pk])
    _age_session(client, started_ago=300, seen_ago=300)
    client.get(page, headers={"X-Live-Fingerprints": ""})
    assert time.time() - client.session[sessions.SEEN_KEY] >= 300
    client.get(page)
    assert time.time() - client.session[sessions.SEEN_KEY] < 5


@pytest.mark.django_db
def test_a_session_ends_at_its_absolute_lifetime_however_active(client, alice, project_a, settings):
    settings.SESSION_ABSOLUTE_LIFETIME = 3600
    client.force_login(alice)
    _age_session(client, started_ago=3601, seen_ago=1)
    response = client.get(reverse("project-detail", args=[project_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_an_api_call_of_an_ended_session_is_refused(client, alice, project_a):
    client.force_login(alice)
    url = f"/api/v1/projects/{project_a.pk}/"
    assert client.get(url).status_code == 200
    _age_session(client, started_ago=10**6, seen_ago=10**6)
    assert client.get(url).status_code == 401
    assert client.get(url).status_code == 401  # logged out, not refused once


@pytest.mark.django_db
def test_a_request_that_read_the_session_before_it_was_renewed_does_not_save_it_back(alice):
    """Two requests of one browser: the first renews the key (signing) while the second,
    which read the old session, is still running and changes it."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    session = store()
    session.update(
        {
            "_auth_user_id": str(alice.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": alice.get_session_auth_hash(),
        }
    )
    session.create()
    old_key = session.session_key

    def view(request):
        signing = RequestFactory().post("/sign/")
        signing.session = store(old_key)
        sessions.session_renew(signing)  # the other request, signing meanwhile
        request.session["changed"] = "by the slower request"
        return HttpResponse("ok")

    chain = SessionMiddleware(AuthenticationMiddleware(sessions.SessionLifetimeMiddleware(view)))
    slower = RequestFactory().get("/inbox/")
    slower.COOKIES[django_settings.SESSION_COOKIE_NAME] = old_key
    response = chain(slower)

    assert django_settings.SESSION_COOKIE_NAME not in response.cookies  # old key not sent back
    assert "changed" not in store(old_key).load()  # nor saved back


@pytest.mark.django_db
def test_an_htmx_request_of_an_ended_session_goes_to_the_login_page(client, alice, project_a):
    client.force_login(alice)
    _age_session(client, started_ago=10**6, seen_ago=10**6)
    page = reverse("project-detail", args=[project_a.pk])
    response = client.get(
        reverse("project-status", args=[project_a.pk]),
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"},
    )
    assert response["HX-Redirect"] == f"{reverse('login')}?next={page}"


class _Captured(logging.Handler):
    """The lines the portal writes with its JSON log format, as a log pipeline reads them."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.json = json_formatter()
        self.addFilter(RequestContextFilter())

    def emit(self, record):
        self.lines.append(self.json.format(record))


@pytest.fixture
def json_log():
    root = logging.getLogger()
    handler = _Captured()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def _events(handler) -> list[dict]:
    records = [json.loads(line) for line in handler.lines]
    return [record for record in records if record.get("logger") == "waymark.security"]


@pytest.mark.django_db
def test_security_events_are_structured_with_utc_time_actor_and_request_id(
    client, alice, alice_password, project_b, json_log
):
    failed = _log_in(client, "alice", password="hunter2-wrong")
    assert _log_in(client, "alice").status_code == 302
    refused = client.post(reverse("project-overview-edit", args=[project_b.pk]), {})

    events = {event["event"]: event for event in _events(json_log)}
    assert events["login_failed"]["username"] == "alice"
    assert events["login_failed"]["actor"] == "anonymous"
    assert events["login_failed"]["request_id"] == failed["X-Request-ID"]
    assert events["login_succeeded"]["actor"] == "alice"
    assert events["login_failed"]["timestamp"].endswith("+00:00")
    assert refused.status_code == 404  # another project's: hidden, and logged as refused
    assert events["authorisation_refused"]["actor"] == "alice"
    assert events["authorisation_refused"]["status"] == 404
    for event in events.values():
        assert event["client_ip"] == "10.0.0.1" or event["event"] == "authorisation_refused"


@pytest.mark.django_db
def test_a_refused_authorisation_is_logged_with_its_actor(client, victor, project_a, json_log):
    client.force_login(victor)
    response = client.post(reverse("project-overview-edit", args=[project_a.pk]), {})
    assert response.status_code == 403
    refused = [e for e in _events(json_log) if e["event"] == "authorisation_refused"]
    assert refused and refused[0]["actor"] == "victor"
    assert refused[0]["path"] == reverse("project-overview-edit", args=[project_a.pk])
    assert refused[0]["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_no_password_or_session_id_reaches_a_log(client, alice, alice_password, json_log):
    _log_in(client, "alice", password="hunter2-wrong")
    _log_in(client, "alice")
    session_key = client.session.session_key
    client.post(reverse("logout"))
    written = "\n".join(json_log.lines)
    assert "login_failed" in written and "login_succeeded" in written
    assert "hunter2-wrong" not in written
    assert '"password"' not in written
    assert session_key not in written


@pytest.mark.django_db
def test_a_sane_request_id_is_kept_and_any_other_replaced(client):
    kept = client.get(reverse("login"), headers={"X-Request-ID": "trace-0123456789"})
    assert kept["X-Request-ID"] == "trace-0123456789"
    replaced = client.get(reverse("login"), headers={"X-Request-ID": "bad id\n{json}"})
    assert replaced["X-Request-ID"] != "bad id\n{json}"
    assert len(replaced["X-Request-ID"]) == 32
