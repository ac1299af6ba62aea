"""What a person sees in the browser when a request cannot be served."""

import pytest
from playwright.sync_api import expect

from projects.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refusal_met_by_htmx_is_told_in_the_servers_words(
    page, live_server, log_in, project_a, alice, screenshot
):
    log_in(page, "alice")
    page.goto(f"{live_server.url}{project_a.get_absolute_url()}")
    # Her role changes while the page is open: the page still offers what she may no longer do.
    Membership.objects.filter(user=alice, project=project_a).update(role="viewer")
    page.get_by_role("link", name="Add phase").click()
    expect(page.locator("#request-problem")).to_have_text("You may not edit this project.")
    screenshot(page, "refused")


def test_a_missing_page_leads_back_where_the_visitor_was(
    page, live_server, log_in, project_a, alice
):
    log_in(page, "alice")
    came_from = f"{live_server.url}{project_a.get_absolute_url()}"
    page.goto(came_from)
    page.goto(f"{live_server.url}/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("#nav-notifications")).to_be_visible()
    page.get_by_role("link", name="Back to the previous page").click()
    page.wait_for_url(came_from)
