"""A person is named one way everywhere: their full name, else their username."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from core.people import display_name
from tests.factories import RiskFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_full_name_else_the_username_else_the_default():
    assert display_name(UserFactory(username="ada", first_name="Ada", last_name="L")) == "Ada L"
    assert display_name(UserFactory(username="nameless", first_name="", last_name="")) == (
        "nameless"
    )
    assert display_name(None) == "—"
    assert display_name(None, "Waymark") == "Waymark"


def test_the_template_filter_falls_back_to_its_argument_then_a_dash():
    template = Template("{% load people %}{{ who|display_name:title }}")
    nameless = UserFactory(username="nameless", first_name="", last_name="")
    assert template.render(Context({"who": nameless, "title": "DBA"})) == "nameless"
    assert template.render(Context({"who": None, "title": "DBA"})) == "DBA"
    assert template.render(Context({"who": None, "title": ""})) == "—"


def test_a_risk_owner_without_a_full_name_is_shown_by_username(client, bob, project_a):
    owner = UserFactory(username="nameless", first_name="", last_name="")
    risk = RiskFactory(project=project_a, owner=owner, owner_title="DBA")
    client.force_login(bob)
    page = client.get(reverse("risk-detail", args=[risk.pk])).content.decode()
    assert "<dd>nameless</dd>" in page
