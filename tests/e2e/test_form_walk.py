"""Every form of the site, walked in a browser as a careless and then a careful person would:
submitted empty, then with each kind of invalid value, then corrected. Each time the page
around the form stays as it was, the errors show beside the fields they are about, what was
typed is still there, and nothing reaches the console; corrected, the form saves.

The forms are listed from the URL map: every route of the site that takes a POST is walked
here or named in BUTTONS (a button that sends nothing typed), so a new form without a walk
fails `test_every_form_of_the_site_is_walked`. The admin's forms are Django's own and are
left to it; the API answers in JSON and has tests of its own.

The walk judges the server's answer: the browser's own checks (`required`, `maxlength`) are
switched off, as they are in a browser that has none, so what the server says is what shows.
Beyond the kinds of invalid value each walk names, every field gets those its kind has: a
text longer than its `maxlength`, a number outside its `min` and `max`, a choice that is not
offered, a duration that is not one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import ApiToken, Profile
from gates.models import GateCondition, GateDelegation
from metrics.models import KPI, Measurement, MetricSource
from projects.models import ChecklistItem, Phase, Project
from risks.models import MitigationAction, Risk
from tests.e2e.conftest import PASSWORD
from tests.test_access_matrix import PAGES, url_map

pytestmark = pytest.mark.django_db(transaction=True)

# A choice no list offers: what a tampered or outdated form would send.
NOT_OFFERED = object()


@dataclass(frozen=True)
class Beside:
    """Where an invalid value's error shows when it is another field's to say."""

    field: str


# A file the walk uploads: (name, content).
PLAN = ("plan.md", b"# Search cut-over\n\n## Phase 1: Dual writes (Weeks 1-2)\n\n- [ ] Mirror\n")


@dataclass
class Walk:
    """How a person meets a form and fills it in."""

    user: str
    page: Callable[[dict], str]  # the address of the page that holds the form
    form: str  # the form, once shown: a selector, "{phase.pk}" filled from the world
    valid: Callable[[dict], dict]  # field name: what a careful person types
    saved: Callable[[dict, object], bool]  # the form's work, done (the world, the page)
    reveal: Callable[[dict], list[str]] = lambda world: []  # clicked, in order, to show it
    # The form's own kinds of invalid value: (field, value), or (field, value, where the
    # error shows) for an error about the whole submission rather than the field.
    invalid: list[tuple] = field(default_factory=list)
    # Where the errors show when the form is about one choice, not fields: inside the form.
    errors_beside_fields: bool = True
    then: list[str] = field(default_factory=list)  # clicked after a correct submission
    # Whether an empty form is a correct one (every field optional): then it saves as well.
    empty_saves: bool = False
    # What else is chosen when a field is given an invalid value: a field the form reads
    # only on a choice (a bulk change's owner, when giving owners) is walked with it.
    along: dict[str, dict] = field(default_factory=dict)


# -- the routes that take a POST and send nothing typed ------------------------------------------

BUTTONS = {
    "logout": "Log out",
    "phase-view": "the arrow that opens or closes a phase (remembered for its user)",
    "phase-move": "↑ and ↓ on a phase",
    "phase-delete": "Delete on a phase, and its confirmation page",
    "phase-restore": "Undo and Restore of a deleted phase",
    "item-toggle": "the tick box of an item",
    "item-move": "↑ and ↓ on an item",
    "item-delete": "Delete on an item, and its confirmation page",
    "item-restore": "Undo and Restore of a deleted item",
    "notifications-read": "Mark read",
    "notification-mute": "Mute and Unmute of a kind of notification",
    "api-token-revoke": "Revoke",
    "programme-report-subscription": "E-mail me this report weekly",
    "project-report-subscription": "E-mail me this report weekly",
    "risk-escalation-check": "Check escalations now",
    "risk-action-toggle": "the tick box of a mitigation action",
    "kpi-source-test": "Test the source",
    "kpi-pin": "Pin and Unpin on a KPI's tile",
    "gate-open": "Open for sign-off",
    "gate-reapproval": "Open a re-approval round",
    "criterion-attest": "I attest this",
    "gate-condition-met": "Mark met",
}


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def moment_in(days: int) -> str:
    """A time for a datetime-local field, `days` from now."""
    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def menu(kind: str, pk: int) -> list[str]:
    """A row's "⋯" menu, then its Edit."""
    return [f"#{kind}-menu-{pk} > summary", f"#{kind}-edit-{pk}"]


def risk_csv(*rows: str) -> tuple[str, bytes]:
    header = "title,likelihood,impact,status,review_by"
    return ("risks.csv", "\n".join([header, *rows]).encode())


WALKS: dict[str, Walk] = {
    "login": Walk(
        user="",
        page=lambda w: "/login/",
        form="form[action='/login/']",
        valid=lambda w: {"username": "alice", "password": PASSWORD},
        invalid=[("password", "not the password", ".form-errors")],
        saved=lambda w, page: page.url.rstrip("/").endswith(w["host"]),
    ),
    "api-tokens": Walk(
        user="alice",
        page=lambda w: "/account/tokens/",
        form="form[action='/account/tokens/']",
        valid=lambda w: {"name": "Deploy pipeline"},
        saved=lambda w, page: ApiToken.objects.filter(name="Deploy pipeline").exists(),
    ),
    "your-settings": Walk(
        user="alice",
        page=lambda w: "/account/settings/",
        form="form[action='/account/settings/']",
        valid=lambda w: {"time_zone": "Europe/Berlin"},
        empty_saves=True,  # no zone chosen: the portal's
        saved=lambda w, page: Profile.objects.filter(time_zone="Europe/Berlin").exists(),
    ),
    "project-overview-edit": Walk(
        user="alice",
        page=lambda w: w["project"].get_absolute_url(),
        reveal=lambda w: ["#overview-edit"],
        form="#project-overview form",
        valid=lambda w: {
            "name": "Provider API cut-over",
            "baseline_start": "2026-01-05",
            "baseline_end": "2026-06-30",
            "budget_planned": "120000",
            "budget_spent": "15000",
        },
        invalid=[("baseline_end", "2025-12-01"), ("budget_spent", "-5")],
        saved=lambda w, page: Project.objects.filter(name="Provider API cut-over").exists(),
    ),
    "phase-create": Walk(
        user="alice",
        page=lambda w: w["project"].get_absolute_url(),
        reveal=lambda w: ["#phase-add"],
        form="#phase-new-form",
        valid=lambda w: {
            "name": "Dual writes",
            "timing": "Month 3",
            "baseline_start": "2026-03-02",
        },
        invalid=[("baseline_end", "2025-12-01"), ("actual_end", "2026-02-01")],
        saved=lambda w, page: Phase.objects.filter(name="Dual writes").exists(),
    ),
    "phase-edit": Walk(
        user="alice",
        page=lambda w: w["project"].get_absolute_url(),
        reveal=lambda w: menu("phase", w["phase"].pk),
        form="#phase-row-{phase.pk} form",
        valid=lambda w: {"name": "Foundation and schema", "baseline_start": "2026-01-05"},
        invalid=[("baseline_end", "2025-12-01"), ("actual_end", "2026-02-01")],
        saved=lambda w, page: Phase.objects.filter(name="Foundation and schema").exists(),
    ),
    "item-create": Walk(
        user="alice",
        page=lambda w: w["project"].get_absolute_url(),
        reveal=lambda w: [f"#item-add-{w['phase'].pk}"],
        form="#item-new-{phase.pk} form",
        valid=lambda w: {"title": "Rehearse the rollback", "due": in_days(10)},
        saved=lambda w, page: ChecklistItem.objects.filter(title="Rehearse the rollback").exists(),
    ),
    "item-edit": Walk(
        user="alice",
        page=lambda w: w["project"].get_absolute_url(),
        reveal=lambda w: menu("item", w["item"].pk),
        form="#item-row-{item.pk} form",
        valid=lambda w: {"title": "Design the normalized schema", "owner_title": "Backend Lead"},
        saved=lambda w, page: ChecklistItem.objects.filter(
            title="Design the normalized schema", owner_title="Backend Lead"
        ).exists(),
    ),
    "items-bulk": Walk(
        user="alice",
        page=lambda w: w["project"].get_absolute_url(),
        reveal=lambda w: [f"#item-select-{w['item'].pk}", f"#item-select-{w['other_item'].pk}"],
        form="#plan-bulk",
        valid=lambda w: {"action": "move", "to_phase": str(w["next_phase"].pk)},
        invalid=[("to_phase", "", "#bulk-problem")],
        along={"owner": {"action": "assign"}, "owner_title": {"action": "assign", "owner": "none"}},
        errors_beside_fields=False,
        saved=lambda w, page: ChecklistItem.objects.filter(phase=w["next_phase"]).count() == 2,
    ),
    "risk-create": Walk(
        user="alice",
        page=lambda w: f"/projects/{w['project'].pk}/risks/",
        reveal=lambda w: ["#risk-add"],
        form="#risk-new-form form",
        valid=lambda w: {"title": "Replica lag", "likelihood": "3", "impact": "4"},
        saved=lambda w, page: Risk.objects.filter(title="Replica lag").exists(),
    ),
    "risk-edit": Walk(
        user="alice",
        page=lambda w: f"/projects/{w['project'].pk}/risks/",
        reveal=lambda w: [f"#risk-edit-{w['risk'].pk}"],
        form="#risk-row-{risk.pk} form",
        valid=lambda w: {"title": "Replica lag under load", "reason": "Seen in the load test"},
        saved=lambda w, page: Risk.objects.filter(title="Replica lag under load").exists(),
    ),
    "risk-import": Walk(
        user="alice",
        page=lambda w: f"/projects/{w['project'].pk}/risks/import/",
        form="main form[enctype='multipart/form-data']",
        valid=lambda w: {"file": risk_csv("Cache stampede,2,5,open,")},
        invalid=[
            ("file", risk_csv("Cache stampede,seven,5,open,"), "#import-problems"),
            ("file", ("risks.csv", b"\x89PNG\r\n\x1a\n\x00\x00"), "#import-problems"),
        ],
        saved=lambda w, page: Risk.objects.filter(title="Cache stampede").exists(),
    ),
    "risk-action-create": Walk(
        user="alice",
        page=lambda w: w["risk"].get_absolute_url(),
        reveal=lambda w: ["summary:has-text('Add an action')"],
        form="form[action$='/actions/']",
        valid=lambda w: {"title": "Add a read replica", "due": in_days(14)},
        invalid=[("reduces_likelihood_to", "5")],
        saved=lambda w, page: MitigationAction.objects.filter(title="Add a read replica").exists(),
    ),
    "kpi-create": Walk(
        user="alice",
        page=lambda w: f"/projects/{w['project'].pk}/kpis/",
        reveal=lambda w: ["#kpi-add"],
        form="#kpi-form form",
        valid=lambda w: {
            "name": "Error rate",
            "unit": "%",
            "comparator": "lt",
            "target_value": "1",
            "cadence": "15 minutes",
        },
        invalid=[("cadence", "every blue moon"), ("target_value", "")],
        saved=lambda w, page: KPI.objects.filter(name="Error rate").exists(),
    ),
    "kpi-edit": Walk(
        user="alice",
        page=lambda w: w["kpi"].get_absolute_url(),
        reveal=lambda w: ["#kpi-edit"],
        form="#kpi-form form",
        valid=lambda w: {"name": "API p99 latency", "confirm_after": "10 minutes"},
        invalid=[("confirm_after", "soon")],
        saved=lambda w, page: KPI.objects.filter(name="API p99 latency").exists(),
    ),
    "kpi-source": Walk(
        user="alice",
        page=lambda w: w["kpi"].get_absolute_url(),
        reveal=lambda w: ["#source-edit"],
        form="#source-form form",
        valid=lambda w: {
            "kind": "http_json",
            "config": '{"url": "http://127.0.0.1:9/p95", "json_path": "p95_ms"}',
            "interval": "5 minutes",
        },
        invalid=[("config", "{not json"), ("config", "[1, 2]"), ("config", '{"url": 5}')],
        saved=lambda w, page: MetricSource.objects.filter(kpi=w["kpi"], kind="http_json").exists(),
    ),
    "kpi-value-enter": Walk(
        user="alice",
        page=lambda w: w["kpi"].get_absolute_url(),
        form="form[action$='/values/']",
        valid=lambda w: {"value": "412", "note": "Read off the load test"},
        invalid=[("at", moment_in(3))],
        saved=lambda w, page: Measurement.objects.filter(kpi=w["kpi"], value=412).exists(),
    ),
    "gate-sign": Walk(
        user="carol",
        page=lambda w: f"/gates/{w['gate'].pk}/",
        form="#sign-form form",
        valid=lambda w: {
            "decision": "reject",
            "comment": "The rollback is not rehearsed.",
            "username": "carol",
            "password": PASSWORD,
        },
        invalid=[
            ("password", "not the password", "#sign-problem"),
            ("decision", "approve_with_conditions", Beside("conditions")),  # without them
        ],
        saved=lambda w, page: w["gate"].signoffs.filter(signer__username="carol").exists(),
    ),
    "gate-delegate": Walk(
        user="carol",
        page=lambda w: f"/gates/{w['gate'].pk}/",
        reveal=lambda w: ["summary:has-text('Let someone sign for you')"],
        form="form[action$='/delegate/']",
        valid=lambda w: {"delegate": str(w["deputy"].pk), "until": moment_in(3)},
        invalid=[("until", moment_in(-1))],
        saved=lambda w, page: GateDelegation.objects.filter(delegate=w["deputy"]).exists(),
    ),
    "gate-condition-update": Walk(
        user="alice",
        page=lambda w: f"/gates/{w['condition'].gate_id}/",
        reveal=lambda w: ["summary:has-text('Change owner or due date')"],
        form="form[action='/gate-conditions/{condition.pk}/']",
        valid=lambda w: {
            f"condition-{w['condition'].pk}-owner": str(w["manager"].pk),
            f"condition-{w['condition'].pk}-due_date": in_days(21),
        },
        invalid=[(lambda w: f"condition-{w['condition'].pk}-due_date", in_days(-3))],
        saved=lambda w, page: GateCondition.objects.filter(due_date=in_days(21)).exists(),
    ),
    "plan-import": Walk(
        user="alice",
        page=lambda w: f"/programmes/{w['programme'].slug}/import/",
        form="#import-form form",
        valid=lambda w: {"file": PLAN, "start_date": "2027-01-04"},
        invalid=[("file", ("plan.md", b"\xff\xfe\x00binary")), ("code", "not a code!")],
        then=["#import-preview button[type=submit]"],
        saved=lambda w, page: Project.objects.filter(name="Search cut-over").exists(),
    ),
}


# -- the list, from the URL map ------------------------------------------------------------------


def site_routes_taking_a_post() -> set[str]:
    return {
        route.key for route in url_map() if route.key in PAGES and PAGES[route.key].post is not None
    }


def test_every_form_of_the_site_is_walked():
    routes = site_routes_taking_a_post()
    missing = routes - set(WALKS) - set(BUTTONS)
    assert not missing, (
        "Routes that take a POST with no walk in WALKS (or, if nothing typed is sent, an entry "
        f"in BUTTONS): {sorted(missing)}"
    )
    stale = (set(WALKS) | set(BUTTONS)) - routes
    assert not stale, f"Walks of routes that take no POST or no longer exist: {sorted(stale)}"
    assert not set(WALKS) & set(BUTTONS)


# -- the walk ------------------------------------------------------------------------------------

# The fields a person types into, as the page has them: name, kind, and what the field allows.
FIELDS = """(form) => [...form.elements]
    .filter((e) => e.name && e.type !== "hidden" && e.type !== "submit" && !e.disabled)
    .filter((e) => !e.hidden)
    .map((e) => ({
        name: e.name,
        type: e.tagName === "SELECT" ? "select" : e.tagName === "TEXTAREA" ? "textarea" : e.type,
        required: e.required,
        maxlength: e.maxLength > 0 ? e.maxLength : null,
        min: e.min || null,
        max: e.max || null,
        duration: e.dataset.kind === "duration",
        emptiable: e.tagName !== "SELECT" || [...e.options].some((o) => o.value === ""),
    }))"""

# Ids outside the form: the page around it (but for those a chart draws anew).
AROUND = """(selector) => {
    const forms = [...document.querySelectorAll(selector)];
    return [...document.querySelectorAll("[id]")]
        .filter((e) => !forms.some((f) => f.contains(e)) && !e.closest("svg"))
        .map((e) => e.id);
}"""

# Whether the field shows its error beside it.
ERROR_BESIDE = """(e) => {
    const holder = e.closest(".field");
    const error = holder && holder.querySelector(".field-error");
    const shown = !!error && error.getClientRects().length > 0;
    return e.getAttribute("aria-invalid") === "true" && shown;
}"""

SET_VALUE = """(e, value) => {
    e.value = value;
    e.dispatchEvent(new Event("input", { bubbles: true }));
    e.dispatchEvent(new Event("change", { bubbles: true }));
}"""

OFFER_ANOTHER = """(e) => {
    const option = new Option("Not offered", "987654");
    e.add(option);
    e.value = "987654";
    e.dispatchEvent(new Event("change", { bubbles: true }));
}"""

SETTLED = """() => !document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping")"""


class Walker:
    def __init__(self, page, walk: Walk, world: dict):
        self.page, self.walk, self.world = page, walk, world
        self.selector = walk.form.format(**world)
        self.console: list[str] = []
        self.answers: list[str] = []
        page.on("console", self._note)
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))
        page.on("response", self._answer)

    def _note(self, message) -> None:
        # The browser notes each 4xx answer (the form with its errors) as a failed load.
        if message.type == "error" and not re.search(r"status of 4(00|09|22)", message.text):
            self.console.append(message.text)

    def _answer(self, response) -> None:
        if response.request.method == "POST" and response.status >= 500:
            self.answers.append(f"{response.status} from {response.url}")

    @property
    def form(self):
        return self.page.locator(self.selector)

    def open(self) -> None:
        self.page.goto(self.world["host"] + self.walk.page(self.world))
        for target in self.walk.reveal(self.world):
            self.page.locator(target).first.click()
        expect(self.form).to_have_count(1)
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_load_state("load")
        self.page.wait_for_function(SETTLED)

    def fields(self) -> list[dict]:
        self.form.evaluate("(form) => { form.noValidate = true; }")
        return self.form.evaluate(FIELDS)

    def field(self, name: str):
        return self.form.locator(f'[name="{name}"]')

    def put(self, name: str, value, kind: str) -> None:
        element = self.field(name)
        if kind == "file":
            filename, content = value
            element.set_input_files(
                files=[{"name": filename, "mimeType": "text/plain", "buffer": content}]
            )
        elif kind == "radio":
            element.and_(self.form.locator(f'[value="{value}"]')).check()
        elif kind == "checkbox":
            element.set_checked(bool(value))
        elif value is NOT_OFFERED:
            element.evaluate(OFFER_ANOTHER)
        elif kind in ("date", "datetime-local") and value:
            element.fill(value)
        else:
            element.evaluate(SET_VALUE, value)

    def read(self, name: str, kind: str):
        element = self.field(name)
        if kind == "radio":
            return self.form.locator(f'[name="{name}"]:checked').get_attribute("value")
        if kind == "checkbox":
            return element.is_checked()
        return element.input_value()

    def submit(self) -> list[str]:
        """Send the form; the ids around it as they were before."""
        around = self.page.evaluate(AROUND, self.selector)
        with self.page.expect_response(lambda r: r.request.method == "POST"):
            self.form.locator("button[type=submit]").first.click()
        self.settle()
        return around

    def around_is_intact(self, before: list[str], step: str) -> None:
        expect(self.form, f"{step}: the form shows once").to_have_count(1)
        after = self.page.evaluate(AROUND, self.selector)
        lost = sorted(set(before) - set(after))
        assert not lost, f"{step}: the page around the form lost {lost}"
        doubled = sorted({i for i in after if after.count(i) > before.count(i) and i in before})
        assert not doubled, f"{step}: the page around the form now holds twice {doubled}"

    def error_beside(self, name: str) -> bool:
        return any(e.evaluate(ERROR_BESIDE) for e in self.field(name).all())


def kinds_of_invalid(fields: list[dict]) -> list[tuple]:
    """The kinds of invalid value each field's kind has."""
    cases = []
    for f in fields:
        if f["type"] in ("text", "textarea", "search", "email", "url") and f["maxlength"]:
            cases.append((f["name"], "x" * (f["maxlength"] + 1)))
        if f["type"] == "number":
            if f["min"] is not None:
                cases.append((f["name"], str(float(f["min"]) - 1).removesuffix(".0")))
            if f["max"] is not None:
                cases.append((f["name"], str(float(f["max"]) + 1).removesuffix(".0")))
        if f["type"] == "select":
            cases.append((f["name"], NOT_OFFERED))
        if f["duration"]:
            cases.append((f["name"], "now and then"))
    return cases


@pytest.mark.parametrize("name", sorted(WALKS))
def test_every_form_keeps_the_page_and_what_was_typed_and_saves_once_corrected(
    name, page, log_in, world, page_checks
):
    walk = WALKS[name]
    check, _problems = page_checks
    if walk.user:
        log_in(page, walk.user)
    walker = Walker(page, walk, world)
    walker.open()
    fields = {f["name"]: f for f in walker.fields()}
    kinds = {n: f["type"] for n, f in fields.items()}
    valid = walk.valid(world)
    assert set(valid) <= set(fields), f"{name}: no such fields {set(valid) - set(fields)}"

    # Empty: every required field says what it needs; nothing else is lost.
    emptied = []
    for field_name, f in fields.items():
        if f["type"] in ("radio", "checkbox") or not f["emptiable"]:
            continue
        if f["type"] != "file":  # a file field starts empty
            walker.put(field_name, "", f["type"])
        emptied.append(field_name)
    before = walker.submit()
    walker.around_is_intact(before, "submitted empty")
    needs = [n for n in emptied if fields[n]["required"]]
    missing = [n for n in needs if not walker.error_beside(n)]
    assert not missing, f"submitted empty: no error beside {missing}"
    if walk.empty_saves:
        assert not needs, f"{name}: an empty form saves, yet {needs} are required"
    elif not needs or not walk.errors_beside_fields:
        # Nothing is required by itself: the form says what it needs as a whole.
        expect(walker.form.locator("[role=alert]").first).to_be_visible()
    check(page, f"{name}-empty")

    # Each kind of invalid value, among correct ones: the error beside it, the rest kept.
    for case in [*walk.invalid, *kinds_of_invalid(fields.values())]:
        field_name, value, where = (*case, None)[:3]
        field_name = field_name(world) if callable(field_name) else field_name
        walker.open()
        typed_in = {**valid, **walk.along.get(field_name, {})}
        for typed, typed_value in typed_in.items():
            walker.put(typed, typed_value, kinds[typed])
        walker.put(field_name, value, kinds[field_name])
        step = f"{field_name} = {value if isinstance(value, str) else 'another'!r}"
        before = walker.submit()
        walker.around_is_intact(before, step)
        if isinstance(where, Beside):
            assert walker.error_beside(where.field), f"{step}: no error beside {where.field}"
        elif where:
            expect(page.locator(where.format(form=walker.selector)).first, step).to_be_visible()
        elif not walk.errors_beside_fields:
            expect(walker.form.locator("[role=alert]").first, step).to_be_visible()
        else:
            assert walker.error_beside(field_name), f"{step}: no error beside {field_name}"
        kept = {
            typed: walker.read(typed, kinds[typed])
            for typed in typed_in
            if typed != field_name and kinds[typed] not in ("password", "file")
        }
        wanted = {
            typed: (True if kinds[typed] == "checkbox" and v else v)
            for typed, v in typed_in.items()
            if typed in kept
        }
        assert kept == wanted, f"{step}: what was typed was not kept"

    # Corrected: it saves.
    walker.open()
    for typed, typed_value in valid.items():
        walker.put(typed, typed_value, kinds[typed])
    walker.submit()
    for target in walk.then:
        with page.expect_response(lambda r: r.request.method == "POST"):
            page.locator(target).first.click()
        walker.settle()
    for _ in range(50):
        if walk.saved(world, page):
            break
        page.wait_for_timeout(100)
    assert walk.saved(world, page), f"{name}: corrected, the form did not save"
    assert walker.answers == [], f"{name}: the server failed: {walker.answers}"
    assert walker.console == [], f"{name}: the console has errors: {walker.console}"
