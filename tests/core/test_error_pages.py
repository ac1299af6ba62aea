"""The pages a user meets when a request cannot be served: in the site's layout, saying what
happened in words and the ways on; htmx gets a sentence, the API its JSON. With DEBUG on too,
but for the server error (Django's technical page, for the developer)."""

import pytest
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path, reverse

from core.database_unavailable import database_unavailable_response, server_error
from core.error_pages import NOT_FOUND

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def broken_view(request: HttpRequest):
    raise ZeroDivisionError("a bug in a view")


urlpatterns = [
    path("broken/", broken_view),
    path("api/broken/", broken_view),
    path("", include("config.urls")),
]
handler500 = "core.database_unavailable.server_error"  # as config.urls names it


@pytest.fixture(autouse=True)
def production_pages(settings):
    settings.DEBUG = False  # DEBUG shows Django's technical pages instead


def text(response) -> str:
    return response.content.decode()


def assert_in_layout(page: str):
    assert '<header class="site-header">' in page
    assert '<link rel="stylesheet" href="/static/css/waymark.css">' in page
    assert '<nav class="way-on" aria-label="Ways on">' in page
    assert 'href="/">Home page</a>' in page
    assert "Back to the previous page</a>" in page


def test_a_refused_member_sees_why_and_whom_to_ask(client, victor, project_a):
    client.force_login(victor)
    response = client.post(reverse("project-overview-edit", args=[project_a.pk]), {})
    assert response.status_code == 403
    page = text(response)
    assert_in_layout(page)
    assert 'id="nav-notifications"' in page  # the signed-in navigation
    assert "<h1>You may not do this</h1>" in page
    assert "You may not edit this project." in page
    assert "ask a manager of the project or of its programme" in page
    assert ">Log in</a>" not in page


def test_back_leads_to_the_page_the_user_came_from_on_this_site(client, victor, project_a):
    client.force_login(victor)
    url = reverse("project-overview-edit", args=[project_a.pk])
    came_from = f"http://testserver{reverse('project-detail', args=[project_a.pk])}"
    page = text(client.post(url, {}, headers={"Referer": came_from}))
    assert f'<a href="{came_from}" data-history-back>' in page
    elsewhere = text(client.post(url, {}, headers={"Referer": "https://elsewhere.example/"}))
    assert '<a href="/" data-history-back>' in elsewhere


def test_htmx_is_told_the_refusal_in_a_sentence(client, victor, project_a):
    client.force_login(victor)
    url = reverse("project-overview-edit", args=[project_a.pk])
    response = client.post(url, {}, headers=HTMX)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert text(response) == "You may not edit this project."


def test_a_missing_page_offers_a_login_to_an_anonymous_visitor(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = text(response)
    assert_in_layout(page)
    assert "<h1>Page not found</h1>" in page
    assert "The address asked for was /no-such-page/." in page
    assert 'href="/login/?next=/no-such-page/">Log in</a>' in page


def test_a_hidden_project_reads_as_missing_without_naming_it(client, oscar, project_a):
    client.force_login(oscar)
    response = client.get(reverse("project-detail", args=[project_a.pk]))
    assert response.status_code == 404
    page = text(response)
    assert_in_layout(page)
    assert 'id="nav-notifications"' in page
    assert "belongs to a project you are not a member of" in page
    assert project_a.name not in page
    assert "matches the given query" not in page


def test_htmx_is_told_a_hidden_project_is_missing_in_a_sentence(client, oscar, project_a):
    client.force_login(oscar)
    fragment = client.get(reverse("project-detail", args=[project_a.pk]), headers=HTMX)
    assert fragment.status_code == 404
    assert fragment["Content-Type"].startswith("text/plain")
    assert "<" not in text(fragment)


@pytest.mark.urls(__name__)
def test_a_server_error_is_a_page_in_the_layout(django_assert_num_queries):
    client = Client(raise_request_exception=False)
    with django_assert_num_queries(0):
        response = client.get("/broken/")
    assert response.status_code == 500
    page = text(response)
    assert_in_layout(page)
    assert "<h1>Something went wrong</h1>" in page
    assert "Nothing you did caused it" in page


@pytest.mark.urls(__name__)
def test_a_server_error_in_the_api_or_for_htmx_is_answered_in_their_terms():
    client = Client(raise_request_exception=False)
    api = client.get("/api/broken/")
    assert api.status_code == 500
    assert api.json() == {
        "detail": "Something went wrong on our side. Nothing you did caused it; "
        "try again in a moment."
    }
    fragment = client.get("/broken/", headers=HTMX)
    assert fragment.status_code == 500
    assert fragment["Content-Type"].startswith("text/plain")
    assert text(fragment).startswith("Something went wrong on our side.")


def test_the_500_page_renders_with_no_request_context_and_no_database(django_assert_num_queries):
    request = RequestFactory().get("/projects/1/")
    with django_assert_num_queries(0):
        try:
            raise ZeroDivisionError
        except ZeroDivisionError:
            response = server_error(request)
    assert response.status_code == 500
    assert_in_layout(text(response))


def test_the_database_unavailable_page_is_in_the_layout_and_reads_nothing(
    django_assert_num_queries,
):
    with django_assert_num_queries(0):
        response = database_unavailable_response(RequestFactory().get("/projects/1/"))
    assert response.status_code == 503
    page = text(response)
    assert_in_layout(page)
    assert "<h1>Unavailable for a moment</h1>" in page
    assert "The database is unavailable, try again in a moment." in page


def test_browsers_asking_for_favicon_ico_get_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"


# With DEBUG on (make run), the same pages: Django's technical 404 would replace them.


@override_settings(DEBUG=True)
def test_with_debug_an_unknown_address_is_the_sites_page_with_the_resolvers_word_folded(
    client, alice
):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = text(response)
    assert_in_layout(page)
    assert 'id="nav-notifications"' in page
    assert "<h1>Page not found</h1>" in page
    assert "The address asked for was /no-such-page/." in page
    assert '<details class="technical">' in page
    assert "No URL pattern matches “/no-such-page/” (" in page
    assert "Using the URLconf" not in page  # Django's technical page


@override_settings(DEBUG=True)
def test_with_debug_a_hidden_project_is_the_sites_page_with_the_policys_word(
    client, oscar, project_a
):
    client.force_login(oscar)
    response = client.get(reverse("project-detail", args=[project_a.pk]))
    assert response.status_code == 404
    page = text(response)
    assert_in_layout(page)
    assert "belongs to a project you are not a member of" in page
    assert "<code>No such project.</code>" in page
    assert project_a.name not in page


def test_without_debug_no_technical_detail_shows(client, oscar, project_a):
    client.force_login(oscar)
    for address in ("/no-such-page/", reverse("project-detail", args=[project_a.pk])):
        page = text(client.get(address))
        assert "<h1>Page not found</h1>" in page
        assert "technical" not in page and "No such project." not in page


@override_settings(DEBUG=True)
def test_with_debug_the_api_and_htmx_keep_their_answers_and_a_slash_is_still_added(
    client, oscar, project_a
):
    client.force_login(oscar)
    api = client.get("/api/v1/no-such-resource/")
    assert api.status_code == 404
    assert api.json() == {"detail": "No such resource: see /api/v1/schema/."}
    hidden = client.get(f"/api/v1/projects/{project_a.pk}/")
    assert hidden.status_code == 404 and "detail" in hidden.json()
    fragment = client.get(reverse("project-detail", args=[project_a.pk]), headers=HTMX)
    assert fragment.status_code == 404
    assert fragment["Content-Type"].startswith("text/plain")
    assert text(fragment) == NOT_FOUND
    assert client.get("/account/tokens").url == "/account/tokens/"


@override_settings(DEBUG=True)
def test_with_debug_a_refusal_is_the_sites_page_too(client, victor, project_a):
    client.force_login(victor)
    response = client.post(reverse("project-overview-edit", args=[project_a.pk]), {})
    assert response.status_code == 403
    page = text(response)
    assert_in_layout(page)
    assert "<h1>You may not do this</h1>" in page
    assert "You may not edit this project." in page
