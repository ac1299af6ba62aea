"""A plan of a hundred checklist items reads at a glance: phases collapsed but the current
one, what a person opens stays open for them, and several items change in one go."""

import pytest
from playwright.sync_api import expect

from projects.models import ChecklistItem, PhaseView
from tests.factories import ChecklistItemFactory, PhaseFactory

pytestmark = pytest.mark.django_db(transaction=True)
STATUSES = ["done", "in_progress", "not_started", "not_started", "not_started"]


@pytest.fixture
def long_plan(project_a, alice):
    """5 phases of 20 items; the second phase is under way."""
    phases = []
    for order, status in enumerate(STATUSES, start=1):
        phase = PhaseFactory(project=project_a, order=order, name=f"Stage {order}", status=status)
        for number in range(1, 21):
            ChecklistItemFactory(phase=phase, order=number, title=f"Stage {order} task {number}")
        phases.append(phase)
    return phases


def test_a_hundred_item_plan_opens_short_and_remembers_what_was_opened(
    new_page, live_server, log_in, project_a, long_plan, screenshot
):
    page = new_page(viewport={"width": 1440, "height": 900})
    log_in(page, "alice")
    url = f"{live_server.url}{project_a.get_absolute_url()}"
    page.goto(url)
    bodies = [page.locator(f"#phase-body-{phase.pk}") for phase in long_plan]
    for body, status in zip(bodies, STATUSES, strict=True):
        if status == "in_progress":
            expect(body).to_have_attribute("open", "")
        else:
            expect(body).not_to_have_attribute("open", "")
    height = page.evaluate("document.body.scrollHeight")
    screenshot(page, "1-collapsed")
    assert height < 3000, f"the plan page is {height}px tall"
    # A collapsed phase still says what it is and how far it got.
    expect(page.locator(f"#phase-row-{long_plan[2].pk} summary").first).to_contain_text("Stage 3")
    expect(page.locator(f"#phase-row-{long_plan[2].pk} .phase-progress")).to_have_text(
        "0 of 20 done"
    )

    with page.expect_response(lambda response: "/view/" in response.url):
        page.locator(f"#phase-body-{long_plan[3].pk} > summary").click()
    expect(page.get_by_text("Stage 4 task 20")).to_be_visible()
    page.reload()
    expect(bodies[3]).to_have_attribute("open", "")
    expect(page.get_by_text("Stage 4 task 20")).to_be_visible()
    expect(bodies[2]).not_to_have_attribute("open", "")
    screenshot(page, "2-opened-phase-kept-open")
    assert list(PhaseView.objects.values_list("phase", "expanded")) == [(long_plan[3].pk, True)]


def test_ticking_three_items_at_once_marks_exactly_those(
    page, live_server, log_in, project_a, long_plan, screenshot
):
    log_in(page, "alice")
    page.goto(f"{live_server.url}{project_a.get_absolute_url()}")
    current = long_plan[1]
    chosen = list(ChecklistItem.objects.filter(phase=current).order_by("order")[2:5])
    for item in chosen:
        page.locator(f"#item-select-{item.pk}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 items selected:")
    page.locator("#bulk-action").select_option("done")
    screenshot(page, "1-three-selected", full_page=False)
    page.locator("#bulk-apply").click()
    expect(page.locator("#bulk-done")).to_have_text("3 items marked done.")
    expect(page.locator(f"#phase-row-{current.pk} .phase-progress")).to_have_text("3 of 20 done")
    for item in chosen:
        expect(page.locator(f"#item-toggle-{item.pk}")).to_have_attribute("aria-checked", "true")
    screenshot(page, "2-three-ticked", full_page=False)
    ticked = ChecklistItem.objects.filter(done=True)
    assert sorted(ticked.values_list("pk", flat=True)) == sorted(item.pk for item in chosen)
    assert {item.done_by.username for item in ticked} == {"alice"}


def test_select_all_of_a_phase_and_move_them_elsewhere(
    page, live_server, log_in, project_a, long_plan
):
    log_in(page, "alice")
    page.goto(f"{live_server.url}{project_a.get_absolute_url()}")
    current, target = long_plan[1], long_plan[4]
    page.locator(f"#select-all-{current.pk}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("20 items selected:")
    page.locator("#bulk-action").select_option("move")
    expect(page.locator("#bulk-owner")).to_be_hidden()
    page.locator("#bulk-phase").select_option(str(target.pk))
    page.locator("#bulk-apply").click()
    expect(page.locator("#bulk-done")).to_have_text("20 items moved to “Stage 5”.")
    expect(page.locator(f"#phase-row-{target.pk} .phase-progress")).to_have_text("0 of 40 done")
    assert ChecklistItem.objects.filter(phase=target).count() == 40
