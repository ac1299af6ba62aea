"""A project manager keeps a plan current in the browser."""

import pytest
from playwright.sync_api import expect

from projects.models import ChecklistItem, Phase
from tests.factories import ChecklistItemFactory, PhaseFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plan(project_a, alice):
    phase = PhaseFactory(
        project=project_a, order=1, name="Foundation", timing="Months 1-2", status="in_progress"
    )
    ChecklistItemFactory(phase=phase, order=1, section="Week 1-2", title="Design normalized schema")
    ChecklistItemFactory(phase=phase, order=2, section="Week 1-2", title="Review schema with team")
    return project_a


def test_manager_adds_a_phase_edits_and_ticks_an_item_without_a_reload(
    page, live_server, log_in, plan, screenshot
):
    log_in(page, "alice")
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#percent-complete")).to_contain_text("0%")
    screenshot(page, "1-project-page")

    page.get_by_role("link", name="Add phase").click()
    form = page.locator("#phase-new-form")
    form.get_by_label("Name").fill("Dual-Write Implementation")
    form.get_by_label("Timing").fill("Month 3")
    form.get_by_role("button", name="Add phase").click()
    expect(page.locator("#phase-list")).to_contain_text(
        "Phase 2 (Month 3): Dual-Write Implementation"
    )
    screenshot(page, "2-phase-added")

    item = ChecklistItem.objects.get(title="Design normalized schema")
    page.locator(f"#item-menu-{item.pk} > summary").click()
    page.locator(f"#item-edit-{item.pk}").click()
    row = page.locator(f"#item-row-{item.pk}")
    expect(row.get_by_label("Title")).to_be_focused()
    row.get_by_label("Title").fill("Design the normalized schema")
    row.get_by_label("Owner").fill("Backend Lead")
    screenshot(page, "3-item-form")
    row.get_by_role("button", name="Save item").click()
    expect(row).to_contain_text("Design the normalized schema")
    expect(row).to_contain_text("Backend Lead")

    page.locator(f"#item-toggle-{item.pk}").click()
    expect(page.locator(f"#item-row-{item.pk}")).to_contain_text("done by")
    expect(page.locator("#percent-complete")).to_contain_text("50%")
    expect(page.locator(".phase-progress").first).to_contain_text("1 of 2 done")
    screenshot(page, "4-item-ticked")

    assert page.evaluate("window.stillTheSamePage") is True
    item.refresh_from_db()
    assert item.done and item.done_by.username == "alice"
    assert Phase.objects.filter(project=plan, name="Dual-Write Implementation", order=2).exists()


def test_escape_cancels_an_edit_and_errors_show_inside_the_form(
    page, live_server, log_in, plan, screenshot
):
    phase = Phase.objects.get(project=plan)
    log_in(page, "alice")
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.locator(f"#phase-menu-{phase.pk} > summary").click()
    page.locator(f"#phase-edit-{phase.pk}").click()
    row = page.locator(f"#phase-row-{phase.pk}")
    row.get_by_label("Actual end").fill("2026-02-01")
    row.get_by_role("button", name="Save phase").click()
    expect(row).to_contain_text("Only a phase that is done has an actual end.")
    screenshot(page, "validation-error")
    row.get_by_label("Name").press("Escape")
    expect(page.locator(f"#phase-menu-{phase.pk} > summary")).to_be_visible()
    phase.refresh_from_db()
    assert phase.actual_end is None


def test_two_managers_edit_one_phase_and_the_second_sees_the_conflict(
    new_page, live_server, log_in, plan, bob, screenshot
):
    phase = Phase.objects.get(project=plan)
    alice_page = new_page()
    bob_page = new_page()
    for page, who in ((alice_page, "alice"), (bob_page, "bob")):
        log_in(page, who)
        page.goto(f"{live_server.url}{plan.get_absolute_url()}")
        page.locator(f"#phase-menu-{phase.pk} > summary").click()
        page.locator(f"#phase-edit-{phase.pk}").click()

    alice_row = alice_page.locator(f"#phase-row-{phase.pk}")
    alice_row.get_by_label("Goal").fill("Schema, infrastructure and backfill")
    alice_row.get_by_role("button", name="Save phase").click()
    expect(alice_page.locator(f"#phase-edit-{phase.pk}")).to_be_visible()

    bob_row = bob_page.locator(f"#phase-row-{phase.pk}")
    bob_row.get_by_label("Goal").fill("Backfill first, schema later")
    bob_row.get_by_role("button", name="Save phase").click()
    conflict = bob_page.locator("#edit-conflict")
    expect(conflict).to_contain_text("while you were editing")
    expect(conflict).to_contain_text("Schema, infrastructure and backfill")
    expect(conflict).to_contain_text("Backfill first, schema later")
    screenshot(bob_page, "conflict-message")
    phase.refresh_from_db()
    assert phase.goal == "Schema, infrastructure and backfill"

    bob_row.get_by_role("button", name="Save phase").click()
    # Saved when the row, with its Edit button, is back (the form also holds the text).
    expect(bob_page.locator(f"#phase-edit-{phase.pk}")).to_be_visible()
    expect(bob_page.locator(f"#phase-row-{phase.pk}")).to_contain_text(
        "Backfill first, schema later"
    )
    phase.refresh_from_db()
    assert phase.goal == "Backfill first, schema later"


def test_without_javascript_the_same_urls_work_as_plain_forms(
    new_page, live_server, log_in, plan, screenshot
):
    phase = Phase.objects.get(project=plan)
    page = new_page(java_script_enabled=False)
    log_in(page, "alice")
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.locator(f"#phase-menu-{phase.pk} > summary").click()
    page.locator(f"#phase-edit-{phase.pk}").click()
    expect(page).to_have_url(f"{live_server.url}/phases/{phase.pk}/edit/")
    page.get_by_label("Name").fill("Foundation (schema and backfill)")
    page.get_by_role("button", name="Save phase").click()
    expect(page.locator(".messages")).to_contain_text("saved")
    expect(page.locator(f"#phase-row-{phase.pk}")).to_contain_text(
        "Foundation (schema and backfill)"
    )
    screenshot(page, "no-javascript-saved")

    item = ChecklistItem.objects.get(title="Review schema with team")
    page.locator(f"#item-menu-{item.pk} > summary").click()
    page.locator(f"#item-row-{item.pk}").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#deleted")).to_contain_text("Review schema with team")
    page.locator("#deleted").get_by_role("button", name="Restore").click()
    expect(page.locator(f"#item-row-{item.pk}")).to_be_visible()


def test_deleting_asks_and_can_be_undone(page, live_server, log_in, plan, screenshot):
    item = ChecklistItem.objects.get(title="Review schema with team")
    log_in(page, "alice")
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#item-menu-{item.pk} > summary").click()
    page.locator(f"#item-row-{item.pk}").get_by_role("link", name="Delete").click()
    expect(page.locator(f"#item-row-{item.pk}")).to_contain_text("deleted.")
    screenshot(page, "deleted-with-undo", full_page=False)
    page.locator(f"#item-row-{item.pk}").get_by_role("button", name="Undo").click()
    expect(page.locator(f"#item-toggle-{item.pk}")).to_be_visible()
    item.refresh_from_db()
    assert item.deleted_at is None


def test_phone_width_keeps_the_plan_usable(new_page, live_server, log_in, plan, screenshot):
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, "alice")
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways at phone width ({width}px)"
    screenshot(page, "phone")


def test_adding_a_phase_or_an_item_with_an_error_keeps_the_plan_and_what_was_typed(
    page, live_server, log_in, plan, screenshot
):
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    phase = Phase.objects.get(project=plan)
    log_in(page, "alice")
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")

    page.get_by_role("link", name="Add phase").click()
    form = page.locator("#phase-new-form")
    form.get_by_label("Timing").fill("Month 3")
    form.get_by_role("button", name="Add phase").click()  # no name
    expect(page.locator("#phase-new-form")).to_contain_text("This field is required")
    expect(page.locator("#phase-list")).to_contain_text("Design normalized schema")
    expect(page.locator("#phase-new-form").get_by_label("Timing")).to_have_value("Month 3")
    screenshot(page, "1-phase-error-beside-the-list")
    page.locator("#phase-new-form").get_by_label("Name").fill("Dual-Write Implementation")
    page.locator("#phase-new-form").get_by_role("button", name="Add phase").click()
    expect(page.locator("#phase-list")).to_contain_text("Dual-Write Implementation")

    page.locator(f"#item-add-{phase.pk}").click()
    new_item = page.locator(f"#item-new-{phase.pk}")
    new_item.get_by_label("Owner").fill("Backend Lead")
    new_item.get_by_role("button", name="Add item").click()  # no title
    expect(page.locator(f"#item-new-{phase.pk}")).to_contain_text("This field is required")
    expect(page.locator(f"#phase-row-{phase.pk}")).to_contain_text("Review schema with team")
    page.locator(f"#item-new-{phase.pk}").get_by_label("Title").fill("Backfill the history")
    page.locator(f"#item-new-{phase.pk}").get_by_role("button", name="Add item").click()
    expect(page.locator(f"#phase-row-{phase.pk}")).to_contain_text("Backfill the history")
    screenshot(page, "2-item-saved-once-corrected")

    # The browser notes each 422 answer (the form with its errors) as a failed load; anything
    # else, such as htmx missing its target, is a defect.
    assert [e for e in errors if "status of 422" not in e] == []
    assert Phase.objects.filter(project=plan).count() == 2
    assert ChecklistItem.objects.filter(phase=phase).count() == 3
