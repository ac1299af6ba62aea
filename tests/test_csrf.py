"""Every unsafe endpoint of the URL map, asked by a browser session that would be let through,
refuses a request without the CSRF token (403, for that reason) and takes the same request
with it: the pages, the admin, the login page, and the API when the session authenticates it.
A personal token (`Authorization: Bearer`) is not a browser's credential: the API takes it
without a CSRF token, by design."""

import json

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.tokens import api_token_create
from core.error_pages import CSRF_REFUSED
from tests.factories import UserFactory
from tests.test_access_matrix import (
    ADMIN_MODELS,
    ADMIN_SITE,
    API,
    PAGES,
    PATH_PARAMETER,
    UNSAFE,
    WHERE,
    World,
    admin_model_of,
    approver_of,
    methods_of,
    path_of,
    plan_of,
    rule_missing,
    url_map,
    user_rows,
)

pytestmark = pytest.mark.django_db

ADMIN_WITH_TOKEN = "risks.risk"  # one model's admin asked with the token too: the same wrapper


def refused_for_csrf(response) -> bool:
    """Refused for want of the token: the site's explanation (a page, or htmx's sentence), or
    for the API, DRF's JSON."""
    if response.status_code != 403:
        return False
    body = response.content.decode(errors="replace")
    return CSRF_REFUSED in body or "CSRF Failed" in body


def post(client, method, path, *, token=None, body=None, api=False):
    """One unsafe request, rolled back; the token (when given) in the header, so that the body
    stays as it is (an admin's delete page deletes on any non-empty POST)."""
    headers = {"X-CSRFToken": token} if token else {}
    with transaction.atomic():
        if api:
            data = json.dumps(body if body is not None else {})
            response = client.generic(
                method, path, data, content_type="application/json", headers=headers
            )
        else:
            response = client.generic(method, path, headers=headers)
        transaction.set_rollback(True)
    return response


def unsafe_endpoints(world: World):
    """(surface, method, path, body) of every unsafe method every route answers."""
    plan = world.plans[WHERE[0]]
    for route in url_map():
        if rule_missing(route):
            continue  # test_access_matrix names it
        if route.route.lstrip("^").startswith("admin/"):
            yield from admin_endpoints(route, world)
            continue
        api = route.key in API
        rule = API[route.key] if api else PAGES[route.key]
        answered, _asked = methods_of(route, rule)
        target = world.target(rule.target, WHERE[0]) if rule.target else None
        if rule.path:
            path = rule.path
        elif target is not None and PATH_PARAMETER.search(route.route):
            path = path_of(route, target)
        else:
            path = reverse(route.name)
        for method in answered:
            if method in UNSAFE:
                body = rule.body(plan) if api and rule.body else None
                yield ("api" if api else "page", route.key, method, path, body)


def admin_endpoints(route, world: World):
    model = admin_model_of(route)
    if model is None:
        _kind, answered = ADMIN_SITE[route.key]
        if "POST" in answered:
            risk = world.plans[WHERE[0]]["risk"]
            paths = {
                "admin:view_on_site": reverse(
                    "admin:view_on_site",
                    args=[ContentType.objects.get_for_model(risk).pk, risk.pk],
                ),
                "admin:app_list": reverse("admin:app_list", kwargs={"app_label": "risks"}),
                "admin/(?P<url>.*)$": "/admin/no-such-page/",
                "admin-moved": "/admin/projects/notification/",
            }
            yield ("admin", route.key, "POST", paths.get(route.key) or reverse(route.name), None)
        return
    label, view = model
    if view in ("changelist", "add"):
        path = reverse(route.name)
    else:
        target = world.target(ADMIN_MODELS[label].target, WHERE[0])
        if route.name:
            key = "id" if "<id>" in route.route else "object_id"
            path = reverse(route.name, kwargs={key: target.pk})
        else:
            path = f"/admin/{label.replace('.', '/')}/{target.pk}/"
    yield ("admin", route.key, "POST", path, label)


@pytest.fixture
def root_world(project_a, project_b, alice, carol, oscar, superuser):
    UserFactory(username="walter")
    plans = {
        WHERE[0]: plan_of(project_a, manager=alice, approver=carol),
        WHERE[1]: plan_of(project_b, manager=oscar, approver=approver_of(project_b)),
    }
    token, _raw = api_token_create(user=oscar, name="Oscar's")
    return World(
        role="superuser", user=superuser, plans=plans, rows=user_rows(superuser), others_token=token
    )


def csrf_token_of(client) -> str:
    client.get(reverse("login"))
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_every_unsafe_endpoint_refuses_a_session_without_the_csrf_token(root_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(root_world.user)
    token = csrf_token_of(Client(enforce_csrf_checks=True))
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    not_refused, refused_with_token, asked = [], [], 0
    for surface, key, method, path, extra in unsafe_endpoints(root_world):
        api = surface == "api"
        body = extra if api else None
        asked += 1
        without = post(client, method, path, body=body, api=api)
        if not refused_for_csrf(without):
            not_refused.append(f"{surface} {method} {key} {path}: {without.status_code}")
        if surface == "admin" and extra != ADMIN_WITH_TOKEN and not key.startswith("admin:"):
            continue
        with_token = post(client, method, path, token=token, body=body, api=api)
        if refused_for_csrf(with_token):
            refused_with_token.append(f"{surface} {method} {key} {path}")
        if key in ("logout", "admin:logout"):
            client.force_login(root_world.user)
    assert not not_refused, "Taken without a CSRF token:\n" + "\n".join(not_refused)
    assert not refused_with_token, "Refused with the token:\n" + "\n".join(refused_with_token)
    assert asked > 200  # the pages, the API and the admin


def test_the_login_page_refuses_a_post_without_the_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "nobody", "password": "wrong"}
    assert refused_for_csrf(client.post(reverse("login"), credentials))
    token = csrf_token_of(client)
    answer = client.post(reverse("login"), {**credentials, "csrfmiddlewaretoken": token})
    assert answer.status_code == 200  # the form again, with its error: not refused
    assert not refused_for_csrf(answer)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_refused_login_form_says_what_to_do_in_the_sites_layout(db, settings, debug):
    settings.DEBUG = debug  # with DEBUG on too: not Django's page for developers
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "alice", "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert '<header class="site-header">' in page
    assert "<title>Form not sent · Waymark</title>" in page
    assert "<h1>The form was not sent</h1>" in page
    assert f"<p>{CSRF_REFUSED}</p>" in page
    assert "CSRF verification failed" not in page
    assert "ask a manager" not in page  # nothing about access: that is not what went wrong
    assert '<a href="/login/">Log in</a>' in page  # the login page itself, without ?next=


def test_a_signed_in_users_refused_form_keeps_the_navigation_and_htmx_hears_a_sentence(
    alice, project_a
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("project-overview-edit", args=[project_a.pk])
    page = client.post(url, {"name": "Renamed"})
    assert page.status_code == 403
    assert 'id="nav-notifications"' in page.content.decode()
    assert CSRF_REFUSED in page.content.decode()
    fragment = client.post(url, {"name": "Renamed"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 403
    assert fragment["Content-Type"].startswith("text/plain")
    assert fragment.content.decode() == CSRF_REFUSED
    project_a.refresh_from_db()
    assert project_a.name != "Renamed"


def test_a_personal_token_needs_no_csrf_token_where_a_session_does(project_a, alice):
    _token, raw = api_token_create(user=alice, name="CI pipeline")
    body = json.dumps({"project": project_a.pk, "name": "Pilot"})
    bearer = Client(enforce_csrf_checks=True)
    answer = bearer.post(
        "/api/v1/phases/",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 201, answer.content
    session = Client(enforce_csrf_checks=True)
    session.force_login(alice)
    refused = session.post("/api/v1/phases/", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("CSRF Failed")
    assert project_a.phases.filter(name="Pilot").count() == 1  # the token's, not the session's
