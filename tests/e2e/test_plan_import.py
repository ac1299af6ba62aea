"""A programme manager imports a plan written in Markdown: upload, preview, correct, create."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.models import Membership, Project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PLAN = (
    Path(__file__).resolve().parents[2]
    / "demo"
    / "data"
    / "plans"
    / "redis-to-postgresql-provider-api.md"
)


@pytest.fixture
def pam(programme):
    user = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
    Membership.objects.create(user=user, programme=programme, project=None, role="manager")
    return user


def test_manager_uploads_a_plan_previews_corrects_and_creates_it(
    page, live_server, log_in, pam, programme, screenshot
):
    log_in(page, "pam")
    page.goto(f"{live_server.url}/programmes/{programme.slug}/")
    page.get_by_role("link", name="Import a plan").click()
    page.get_by_label("Upload a Markdown file").set_input_files(str(PLAN))
    page.get_by_label("Code").fill("PAPI")
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("#import-counts")).to_contain_text("4 phases, 59 checklist items, 12 risks")
    assert not Project.objects.exists()
    screenshot(page, "1-preview")
    page.get_by_label("Keep risk Team burnout").uncheck()
    page.get_by_label("Project name").fill("Provider API on PostgreSQL")
    page.get_by_role("button", name="Create the project").click()

    expect(page.locator("#rating-heading")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Provider API on PostgreSQL")
    project = Project.objects.get()
    assert project.code == "PAPI"
    assert project.risks.count() == 11
    assert project.gates.filter(kind="rollout_stage").count() == 4
    screenshot(page, "2-created")
