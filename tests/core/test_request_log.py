"""What a terminal shows of a request: a refusal is one line (method, path, status, user), a
real error its traceback once. Read from the handlers the logging configuration installs,
Django's own included, as `make run` prints them."""

import io
import logging

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import include, path, reverse

pytestmark = pytest.mark.django_db


def broken_view(request: HttpRequest):
    raise ZeroDivisionError("a bug in a view")


urlpatterns = [path("broken/", broken_view), path("", include("config.urls"))]


@pytest.fixture
def terminal(settings):
    """Everything the configured stream handlers write, with DEBUG on as in `make run`."""
    settings.DEBUG = True
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not type(handler).__module__.startswith("_pytest")
    }
    written = io.StringIO()
    before = {handler: handler.stream for handler in handlers}
    for handler in handlers:
        handler.setStream(written)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    yield written
    logging.getLogger().setLevel(root_level)
    for handler, stream in before.items():
        handler.setStream(stream)


def lines_about(written: io.StringIO, url: str) -> list[str]:
    return [line for line in written.getvalue().splitlines() if url in line]


def test_a_permission_refused_is_one_line_without_a_traceback(client, victor, project_a, terminal):
    client.force_login(victor)
    url = reverse("project-overview-edit", args=[project_a.pk])
    assert client.post(url, {}).status_code == 403
    assert "Traceback" not in terminal.getvalue()
    (line,) = lines_about(terminal, url)
    assert "authorisation_refused" in line
    assert "[" in line and "victor]" in line
    assert "method=POST" in line and "status=403" in line


def test_a_page_not_found_is_one_line(client, terminal):
    assert client.get("/no-such-page/").status_code == 404
    (line,) = lines_about(terminal, "/no-such-page/")
    assert "anonymous" in line and "method=GET" in line and "status=404" in line


def test_a_hidden_page_is_one_line_naming_the_user(client, oscar, project_a, terminal):
    client.force_login(oscar)
    url = reverse("project-overview-edit", args=[project_a.pk])
    assert client.get(url).status_code == 404
    assert "Traceback" not in terminal.getvalue()
    (line,) = lines_about(terminal, url)
    assert "oscar]" in line and "status=404" in line


@pytest.mark.urls(__name__)
def test_a_server_error_prints_its_traceback_once(terminal):
    client = Client(raise_request_exception=False)
    assert client.get("/broken/").status_code == 500
    written = terminal.getvalue()
    assert written.count("Traceback (most recent call last)") == 1
    assert written.count("ZeroDivisionError: a bug in a view") == 1
