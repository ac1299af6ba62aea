"""Keyboard users: the first Tab offers to skip the site's navigation, and focus shows."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_first_tab_offers_to_skip_to_the_content(page, live_server, log_in, alice, project_a):
    log_in(page, "alice")
    page.goto(f"{live_server.url}/projects/{project_a.pk}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("link => getComputedStyle(link).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
