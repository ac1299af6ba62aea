"""A person chooses the time zone they read times in, and the pages' times change with it."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from accounts.tokens import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_choosing_a_time_zone_changes_the_times_the_pages_show(
    new_page, live_server, log_in, alice, screenshot
):
    token, _raw = api_token_create(user=alice, name="CI pipeline")
    ApiToken.objects.filter(pk=token.pk).update(created_at=datetime(2026, 12, 3, 8, 12, tzinfo=UTC))
    page = new_page(timezone_id="Europe/Berlin")  # the browser's own zone
    log_in(page, "alice")
    page.goto(f"{live_server.url}/account/tokens/")
    made = page.locator(f"#token-{token.pk}")
    expect(made).to_contain_text("3 Dec 2026, 08:12 UTC")

    page.get_by_role("link", name="Your settings").click()
    expect(page.get_by_role("heading", name="Your settings")).to_be_visible()
    screenshot(page, "settings")
    page.get_by_role("button", name="Use this browser's time zone (Europe/Berlin)").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Saved: dates and times now show in Europe/Berlin."
    )
    expect(page.get_by_role("combobox", name="Time zone")).to_have_value("Europe/Berlin")
    # The browser's zone is the one chosen now: nothing more to offer.
    expect(page.locator("[data-browser-time-zone]")).to_be_hidden()
    page.get_by_role("link", name="API tokens").click()
    expect(made).to_contain_text("3 Dec 2026, 09:12 CET")

    page.get_by_role("link", name="Your settings").click()
    page.get_by_role("combobox", name="Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("now show in Asia/Tokyo")
    page.get_by_role("link", name="API tokens").click()
    expect(made).to_contain_text("3 Dec 2026, 17:12 JST")
