"""An executive reads the demo programme's status: sees which projects are red and why,
drills into one, downloads its PDF; the page refreshes itself, and not in a background tab."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from demo.loader import demo_load
from metrics.models import KPI, KPIStatus
from projects.models import Programme, Project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings):
    settings.STATUS_REFRESH_SECONDS = 1
    passwords = demo_load(reset_passwords=True).passwords
    return passwords


def log_in_demo(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


SET_VISIBILITY = """hidden => {
    const state = hidden ? "hidden" : "visible";
    Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def set_tab_hidden(page, hidden: bool) -> None:
    """Send the tab to the background, or bring it back, as the browser would tell the page."""
    page.evaluate(SET_VISIBILITY, hidden)


def test_executive_sees_red_projects_drills_in_and_downloads_the_pdf(
    new_page, live_server, demo, screenshot, tmp_path
):
    page = new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    log_in_demo(page, live_server, "exec", demo["exec"])
    programme = Programme.objects.get()
    page.get_by_role("link", name=programme.name).first.click()
    expect(page.get_by_role("heading", name=programme.name)).to_be_visible()
    expect(page.locator(".status-row").first).to_be_visible()
    expect(page.locator("#programme-heatmap .heatmaplayer")).to_be_visible()
    screenshot(page, "1-programme")

    red = page.locator(".status-row.rag-edge-red").first
    expect(red).to_be_visible()
    expect(red.locator(".reasons li").first).not_to_be_empty()
    page.locator(".rag-filter input[value=red]").check()
    page.wait_for_url("**rag=red**")
    expect(page.locator(".status-row:not(.rag-edge-red)")).to_have_count(0)
    screenshot(page, "2-red-only")

    first_red = page.locator(".status-row.rag-edge-red .status-project a").first
    name = first_red.inner_text()
    first_red.click()
    expect(page.locator("#rating-heading .rag-red")).to_have_text("Off track")
    expect(page.locator("#gate-pipeline li").first).to_be_visible()
    expect(page.locator("#project-timeline .main-svg").first).to_be_attached()
    screenshot(page, "3-red-project")
    code = name.split()[0]
    project = Project.objects.get(code=code)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF").click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert download.suggested_filename.startswith(f"waymark-status-{project.code}-")
    assert path.read_bytes().startswith(b"%PDF-")

    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in_demo(phone, live_server, "exec", demo["exec"])
    phone.goto(f"{live_server.url}/programmes/{programme.slug}/")
    expect(phone.locator(".status-row").first).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(phone, "4-phone")


def test_status_page_refreshes_itself_and_rests_in_a_background_tab(
    new_page, live_server, demo, screenshot
):
    page = new_page(viewport={"width": 1400, "height": 900})
    log_in_demo(page, live_server, "exec", demo["exec"])
    programme = Programme.objects.get()
    polls = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/live/" in request.url else None
    )
    page.goto(f"{live_server.url}/programmes/{programme.slug}/?sort=code")
    first = page.locator(".status-row").first
    expect(first).to_be_visible()
    row_id = first.get_attribute("id")
    project = Project.objects.get(pk=int(row_id.rsplit("-", 1)[1]))
    page.evaluate("document.querySelectorAll('.status-row').forEach(r => r.dataset.marker = 'old')")
    rows = page.locator(".status-row").count()

    KPI.objects.create(
        project=project,
        name="Checkout error rate",
        unit="%",
        comparator="lte",
        target_value=1,
        critical=True,
        status=KPIStatus.BREACHED,
        status_changed_at=timezone.now(),
    )
    row = page.locator(f"#{row_id}")
    expect(row).to_contain_text("Critical KPI breached: Checkout error rate", timeout=10_000)
    expect(row.locator(".rag-red").first).to_be_visible()
    assert row.get_attribute("data-marker") is None  # this row was swapped
    assert page.locator(".status-row[data-marker=old]").count() == rows - 1  # no other was
    expect(page.locator("#kpi-tiles")).to_contain_text("Checkout error rate")
    screenshot(page, "1-refreshed")

    # In a background tab the poller rests; shown again, it catches up at once.
    set_tab_hidden(page, True)
    page.wait_for_timeout(300)
    before = len(polls)
    page.wait_for_timeout(3500)
    assert len(polls) == before, "a hidden tab kept polling"
    set_tab_hidden(page, False)
    page.wait_for_timeout(500)
    assert len(polls) > before
