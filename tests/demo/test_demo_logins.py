"""The demo's logins: one documented password, set with DEBUG on only, shown on the login page
of a portal running the demo with DEBUG on, never on a real user."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from demo.loader import DEMO_PASSWORD, USERS, demo_load

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def logs_in(username: str, password: str) -> bool:
    request = RequestFactory().post("/login/", REMOTE_ADDR="127.0.0.1")
    return authenticate(request, username=username, password=password) is not None


def test_with_debug_every_demo_user_gets_the_password_the_readme_documents(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert f"**`{DEMO_PASSWORD}`**" in README.read_text(encoding="utf-8")
    for username in USERS:
        assert logs_in(username, DEMO_PASSWORD), username
        assert f"  {username:<12} {DEMO_PASSWORD} " in out.getvalue()
    assert len(DEMO_PASSWORD) >= 16
    for user in get_user_model().objects.filter(username__in=USERS):
        validate_password(DEMO_PASSWORD, user)  # the site's validators accept it


def test_with_debug_off_the_public_password_is_refused_unless_asked(settings):
    settings.DEBUG = False
    out, err = StringIO(), StringIO()
    call_command("load_demo", stdout=out, stderr=err)
    assert DEMO_PASSWORD not in out.getvalue() + err.getvalue()
    assert "the public demo password was not set" in err.getvalue()
    assert not any(logs_in(username, DEMO_PASSWORD) for username in USERS)
    printed = {line.split()[0]: line.split()[1] for line in out.getvalue().splitlines()[3:]}
    assert all(logs_in(username, password) for username, password in printed.items())

    call_command(
        "load_demo", "--reset-passwords", "--demo-password-without-debug", stdout=StringIO()
    )
    assert all(logs_in(username, DEMO_PASSWORD) for username in USERS)


def test_a_real_user_with_a_demo_username_keeps_its_password(settings):
    settings.DEBUG = True
    get_user_model().objects.create_user(
        "admin", email="ada@example.com", password="the-real-admins-own-passphrase"
    )
    err = StringIO()
    call_command("load_demo", "--reset-passwords", stdout=StringIO(), stderr=err)
    assert logs_in("admin", "the-real-admins-own-passphrase")
    assert not logs_in("admin", DEMO_PASSWORD)
    assert "A user named admin exists and was not made by the demo" in err.getvalue()
    assert logs_in("pm", DEMO_PASSWORD)


def test_reset_passwords_gives_a_demo_user_the_demo_password_back(settings):
    settings.DEBUG = True
    demo_load()
    pm = get_user_model().objects.get(username="pm")
    pm.set_password("pm-chose-another-passphrase")
    pm.save()
    demo_load()
    assert logs_in("pm", "pm-chose-another-passphrase")  # kept without --reset-passwords
    demo_load(reset_passwords=True)
    assert logs_in("pm", DEMO_PASSWORD)


def test_the_login_page_shows_the_demo_logins_only_with_debug_and_the_demo(client, settings):
    settings.DEBUG = True
    before_the_demo = client.get(reverse("login")).content.decode()
    assert DEMO_PASSWORD not in before_the_demo
    assert "Demo logins" not in before_the_demo

    demo_load()
    page = client.get(reverse("login")).content.decode()
    assert "Demo logins" in page
    assert f"<code>{DEMO_PASSWORD}</code>" in page
    for username, (*_, title, _staff, _superuser, _role) in USERS.items():
        assert f"<tr><td><code>{username}</code></td><td>{title}</td></tr>" in page

    settings.DEBUG = False
    production = client.get(reverse("login")).content.decode()
    assert DEMO_PASSWORD not in production
    assert "Demo logins" not in production
