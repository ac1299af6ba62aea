"""The home page: the programmes and projects a user may see."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    MembershipFactory,
    PhaseFactory,
    ProjectFactory,
)

pytestmark = pytest.mark.django_db


def test_home_lists_the_programmes_and_projects_the_user_may_see(client, victor, project_b):
    ProjectFactory(programme=project_b.programme, code="C", name="Hidden sibling")
    client.force_login(victor)
    page = client.get(reverse("home")).content.decode()
    assert "Platform Migrations" in page and "Provider API" in page
    assert "Billing ledger" not in page and "Hidden sibling" not in page
    assert "viewer" in page  # the user's role on the project


def test_home_for_a_user_without_memberships_says_what_to_do(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("newcomer"))
    assert "Ask a project manager to add you" in client.get(reverse("home")).content.decode()


def test_home_query_count_does_not_grow_with_the_portfolio(client, alice, programme):
    client.force_login(alice)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("home"))
    for _ in range(8):
        project = ProjectFactory(programme=programme)
        MembershipFactory(user=alice, project=project, role="manager")
        PhaseFactory.create_batch(3, project=project)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("home"))
    assert response.content.decode().count("<tr>") == 10  # header + 9 projects
    assert len(large) == len(small)
