"""The site's 500 handler: an outage met outside any view is still the database's 503."""

import sqlite3

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory

from core.database_unavailable import server_error


def _unreachable_database_error() -> OperationalError:
    """The error this database's driver gives when its server or file cannot be reached."""
    try:
        if connection.vendor == "sqlite":
            sqlite3.connect("file:/nonexistent/waymark.sqlite3?mode=ro", uri=True).execute(
                "SELECT 1"
            )
        else:
            psycopg.connect("postgresql://postgres@127.0.0.1:1/waymark", connect_timeout=2)
    except (sqlite3.Error, psycopg.Error) as driver_error:
        try:
            raise OperationalError(str(driver_error)) from driver_error
        except OperationalError as error:
            return error
    raise AssertionError("the unreachable database was reached")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/projects/1/", "/api/v1/projects/"])
def test_an_outage_outside_a_view_is_answered_with_the_503(path):
    request = RequestFactory().get(path)
    error = _unreachable_database_error()
    try:
        raise error
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"The database is unavailable, try again in a moment." in response.content


@pytest.mark.django_db
def test_any_other_error_is_the_ordinary_500():
    request = RequestFactory().get("/projects/1/")
    try:
        raise ZeroDivisionError
    except ZeroDivisionError:
        response = server_error(request)
    assert response.status_code == 500
