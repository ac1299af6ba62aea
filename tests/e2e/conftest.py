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

# Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("WAYMARK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(apt-get install chromium) or set WAYMARK_CHROMIUM.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


@pytest.fixture
def screenshot(request):
    """Save a screenshot of `page` as artifacts/e2e/<test>-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w-]+", "-", request.node.name)

    def take(page, step: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
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
