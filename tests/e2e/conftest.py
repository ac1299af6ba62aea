"""Browser journeys: Playwright driving the machine's Chromium against Django's live server.

The browser is Debian's `chromium` package (`.ci/run` installs it); Playwright downloads
nothing. Without it these tests fail, saying so: they are never skipped. Screenshots of each
journey go to artifacts/e2e/ (ignored by git).
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from gates import services as gate_services
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateConditionFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MembershipFactory,
    MetricSourceFactory,
    PhaseFactory,
    RiskFactory,
    UserFactory,
)

# Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("WAYMARK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
PASSWORD = "correct horse battery staple"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

# Serious and critical violations, each as "rule: what is wrong (where)".
AXE_RUN = """async () => {
    const late = new Promise((resolve) => setTimeout(() => resolve(null), 20000));
    const result = await Promise.race([axe.run(document, { resultTypes: ["violations"] }), late]);
    if (result === null) return ["axe-core did not finish within 20 seconds"];
    return result.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => {
            const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ");
            return `${v.id}: ${v.help} (${where})`;
        });
}"""

# What sticks out past the right edge of the screen, if anything: the page scrolls sideways.
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return "";
    // Inside something that scrolls or clips sideways by itself. An absolutely positioned
    // element is clipped only by such a box at or above its containing block.
    const clipped = (e) => {
        let contained = getComputedStyle(e).position !== "absolute";
        for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
            const style = getComputedStyle(up);
            contained = contained || style.position !== "static";
            const clips = ["auto", "scroll", "hidden", "clip"].includes(style.overflowX);
            if (contained && clips) return true;
        }
        return false;
    };
    const wide = [...document.querySelectorAll("body *")].filter((e) => {
        const box = e.getBoundingClientRect();
        return box.right > width + 1 && getComputedStyle(e).position !== "fixed" && !clipped(e);
    });
    const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
        (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "");
    return wide.slice(0, 3).map((e) => {
        const inside = e.parentElement ? " in " + name(e.parentElement) : "";
        const text = (e.textContent || "").trim().slice(0, 30);
        return name(e) + inside + (text ? ` "${text}"` : "");
    }).join(", ") || "the page is wider than the screen";
}"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(apt-get install chromium) or set WAYMARK_CHROMIUM.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Journeys run on a wide screen; each step is looked at on a phone too (`screenshot`)."""
    return {**browser_context_args, "viewport": WIDE}


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, as package-lock.json pins it (`make test` installs it with npm ci)."""
    if not AXE.exists():
        pytest.fail(
            f"axe-core not found at {AXE}: run `npm ci` (make test does) to install it from "
            "package-lock.json.",
            pytrace=False,
        )
    return AXE.read_text()


@pytest.fixture
def page_checks(axe_source):
    """What every page a journey looks at must pass: no serious or critical accessibility
    violation (axe-core), and on a phone no content wider than the screen. The problems found
    fail the test at its end, all of them named."""
    problems: list[str] = []

    def check(page, step: str) -> None:
        # A step may be taken while the page is still going to the next one (a redirect after
        # a save): the page checked is the one it arrives at.
        for _attempt in range(3):
            page.wait_for_load_state("load")
            try:
                page.evaluate(axe_source)
                found = page.evaluate(AXE_RUN)
            except PlaywrightError as error:
                if "context was destroyed" not in str(error):
                    raise
            else:
                problems.extend(f"{step} at {page.url}: {violation}" for violation in found)
                return
        problems.append(f"{step} at {page.url}: the page kept navigating; it was not checked")

    yield check, problems
    assert problems == [], "Pages the journey looked at have problems:\n" + "\n".join(problems)


@pytest.fixture
def screenshot(request, browser, page_checks):
    """Save screenshots of `page` as artifacts/e2e/<test>-<step>.png, as it is, and
    <test>-<step>-390.png, the same address on a phone 390 px wide; check both (`page_checks`)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w-]+", "-", request.node.name)
    check, problems = page_checks

    def take(page, step: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        scripts = getattr(page.context, "scripts_enabled", True)
        if scripts:
            check(page, step)
        phone = browser.new_context(viewport=PHONE, storage_state=page.context.storage_state())
        try:
            narrow = phone.new_page()
            narrow.goto(page.url)
            narrow.wait_for_load_state("load")
            if not scripts:
                check(narrow, step)
            overflow = narrow.evaluate(OVERFLOW)
            narrow.screenshot(path=str(ARTIFACTS / f"{test_name}-{step}-390.png"), full_page=True)
            if overflow:
                problems.append(f"{step} at {page.url} scrolls sideways at 390 px: {overflow}")
        finally:
            phone.close()
        return path

    return take


@pytest.fixture
def new_page(browser, transactional_db):
    """A page in a browser context of its own (another user, no JavaScript, a phone), closed
    after the test so that its keep-alive connections, and the server's database
    connections behind them, end with it. It asks for the database so that it is closed
    before the database is emptied for the next test: a request still running then would
    hold locks the emptying waits for."""
    contexts = []
    refused = []  # what the Content-Security-Policy refused, or htmx would not evaluate

    def note(message):
        text = message.text
        if "Content Security Policy" in text or "evalDisallowed" in text:
            refused.append(text)

    def open_page(**context_options):
        context = browser.new_context(**context_options)
        # Pages without JavaScript are checked in a second page that has it (`screenshot`).
        context.scripts_enabled = context_options.get("java_script_enabled", True)
        contexts.append(context)
        page = context.new_page()
        page.on("console", note)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert refused == [], "The page needed something its Content-Security-Policy forbids"


@pytest.fixture
def log_in(live_server):
    def log_in_as(page, username: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")

    return log_in_as


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """The live server, stopped before the test database is dropped (it holds connections)."""
    return live_server


@pytest.fixture
def page(new_page):
    """pytest-playwright's page, made by `new_page` so that it too closes before the
    database is emptied."""
    return new_page()


# -- a project with one of everything a page can show ---------------------------------------


@pytest.fixture
def world(live_server, programme, project_a, alice, carol):
    """A programme managed by alice, with a project holding phases, items, a risk, a KPI with
    its source, a gate open for carol's signature and a decided gate's condition."""
    MembershipFactory(user=alice, project=None, programme=programme, role="manager")
    deputy = UserFactory(username="dora")
    MembershipFactory(user=deputy, project=project_a, role="approver")
    phase = PhaseFactory(project=project_a, order=1, name="Foundation")
    next_phase = PhaseFactory(project=project_a, order=2, name="Cut-over")
    item = ChecklistItemFactory(phase=phase, order=1, title="Design the schema")
    other_item = ChecklistItemFactory(phase=phase, order=2, title="Review the schema")
    risk = RiskFactory(project=project_a, title="Replica lag", likelihood=3, impact=4)
    kpi = KPIFactory(project=project_a, name="API p95 latency", unit="ms")
    MetricSourceFactory(kpi=kpi, kind="manual")
    gate = GateFactory(project=project_a, name="Cutover go/no-go", kind="go_no_go")
    GateCriterionFactory(gate=gate, text="Runbook rehearsed", kind="manual")
    GateApproverFactory(gate=gate, title="DBA", user=carol, role="")
    gate_services.gate_open(gate=gate, by=alice)
    decided = GateFactory(project=project_a, name="Pilot go/no-go", kind="go_no_go")
    condition = GateConditionFactory(signoff__gate=decided, text="Rehearse the rollback")
    return {
        "host": live_server.url,
        "programme": programme,
        "project": project_a,
        "manager": alice,
        "deputy": deputy,
        "phase": phase,
        "next_phase": next_phase,
        "item": item,
        "other_item": other_item,
        "risk": risk,
        "kpi": kpi,
        "gate": gate,
        "condition": condition,
    }
