"""Every page of the site, listed from the URL map, opened in a browser as a project's manager
would: each answers in the site's layout, passes axe-core with no serious or critical
violation, and on a phone 390 px wide scrolls only up and down (`screenshot` saves both
widths under artifacts/e2e/). What a page asks for by itself (its parts swapped in place) and
the files it offers are checked for their answer, not looked at as pages.
"""

import pytest
from django.urls import reverse

from tests.test_access_matrix import PAGES, url_map

pytestmark = pytest.mark.django_db(transaction=True)

# Downloads: the type each answers with.
FILES = {
    "programme-report-md": "text/markdown",
    "programme-report-pdf": "application/pdf",
    "project-report-md": "text/markdown",
    "project-report-pdf": "application/pdf",
    "project-plan-export": "text/markdown",
    "project-export": "application/json",
    "risk-export": "text/csv",
    "gate-audit-csv": "text/csv",
    "gate-audit-json": "application/json",
    "gate-pdf": "application/pdf",
    "health": "application/json",
    "favicon": "image/svg+xml",
}
# Parts of a page, fetched by the page itself: what asks for each.
PARTS = {
    "programme-live": "the programme page, every minute",
    "project-status-live": "the project's status page, every minute",
    "phase-row": "Cancel and Escape on a phase being edited",
    "item-row": "Cancel and Escape on an item being edited",
    "risk-row": "Cancel and Escape on a risk being edited",
    "project-overview": "Cancel and Escape on the overview being edited",
    "project-variance": "the plan page, redrawing its variance after a change",
    "project-timeline": "the plan page, redrawing its timeline after a change",
}
# Seen before logging in.
SIGNED_OUT = {"login"}


def site_pages() -> list[str]:
    return sorted(
        route.key for route in url_map() if route.key in PAGES and PAGES[route.key].get is not None
    )


def address(key: str, world: dict) -> str:
    target = PAGES[key].target
    if not target:
        return reverse(key)
    thing = world[target]
    return reverse(key, args=[thing.slug if target == "programme" else thing.pk])


def test_the_lists_name_only_routes_of_the_site():
    stale = (set(FILES) | set(PARTS) | SIGNED_OUT) - set(site_pages())
    assert not stale, f"Entries for routes that take no GET or no longer exist: {sorted(stale)}"


def test_every_page_reads_well_in_the_site_layout_on_a_wide_screen_and_a_phone(
    page, log_in, world, screenshot
):
    host = world["host"]
    problems = []
    page.goto(host + reverse("login"))
    screenshot(page, "login")
    log_in(page, "alice")
    for key in site_pages():
        if key in SIGNED_OUT:
            continue
        url = host + address(key, world)
        if key in FILES:
            answer = page.request.get(url)
            kind = answer.headers.get("content-type", "")
            if answer.status != 200 or not kind.startswith(FILES[key]):
                problems.append(f"{key}: {answer.status} {kind}")
            continue
        answer = page.goto(url)
        if answer.status != 200:
            problems.append(f"{key}: {answer.status} at {url}")
            continue
        if key in PARTS:
            continue
        if page.locator("main h1").count() == 0:
            problems.append(f"{key}: no page around it (no heading in <main>) at {url}")
            continue
        screenshot(page, key)
    assert problems == [], "Pages that do not read as pages:\n" + "\n".join(problems)
