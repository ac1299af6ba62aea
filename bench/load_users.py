"""The load run's simulated people, as locust users against the portal over HTTP.

Run by `bench.load` in a process of its own (gevent patches the standard library):
`python -m bench.load_users --host URL --plan plan.json --duration S --out ledger.json`; the
plan (from `bench.load_seed`) says how many of each person to simulate.

- Managers (API, with their personal token) read a hot project or risk, append a token of
  their own and add one to the project's spent budget, sending the version they read; a save
  refused as stale (400 naming `version`) is read again and retried. Some save a risk's title
  without a version, as API clients may.
- Managers (pages) edit a hot phase through its htmx form, appending a token; a 409 (someone
  saved first) is read again and retried.
- Approvers sign their gates with their password: through the API, the request sent twice at
  once; or through the gate page's htmx form, then again from a second tab.
- Executives poll the programme and project status pages as their htmx poller does.

The ledger says what the portal accepted, refused as a conflict, and answered otherwise, with
every request's time: `bench.load` holds the database to it."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402  (after the patching, as gevent asks)
import contextlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from decimal import Decimal  # noqa: E402
from functools import wraps  # noqa: E402
from html.parser import HTMLParser  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, task  # noqa: E402
from locust.clients import HttpSession  # noqa: E402
from locust.env import Environment  # noqa: E402
from requests.cookies import RequestsCookieJar  # noqa: E402

ATTEMPTS = 40  # reads and saves before an editor gives up on one change
HX = {"HX-Request": "true"}
PLAN: dict = {}


class Ledger:
    """What the portal answered, kept by the load generator."""

    def __init__(self):
        self.accepted = {"project": defaultdict(list), "risk": defaultdict(list)}
        self.accepted["phase"] = defaultdict(list)
        self.increments = Counter()  # project id → increments of its spent budget accepted
        self.blind_saves = 0
        self.signatures = []  # [gate, username, via] of every signature accepted
        self.duplicates_refused = 0
        self.conflicts = Counter()  # request kind → conflicts answered, each retried
        self.gave_up = Counter()
        self.errors = Counter()  # request kind → answers that were neither success nor conflict
        self.error_samples = []
        self.times = defaultdict(list)  # request kind → response times in ms

    def on_request(self, request_type, name, response_time, **kwargs):
        self.times[name].append(response_time)

    def error(self, kind: str, status: int, text: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 30:
            self.error_samples.append({"kind": kind, "status": status, "text": text[:300]})

    def as_json(self) -> dict:
        return {
            "accepted": {kind: dict(rows) for kind, rows in self.accepted.items()},
            "increments": dict(self.increments),
            "blind_saves": self.blind_saves,
            "signatures": self.signatures,
            "duplicates_refused": self.duplicates_refused,
            "conflicts": dict(self.conflicts),
            "gave_up": dict(self.gave_up),
            "errors": dict(self.errors),
            "error_samples": self.error_samples,
            "times": dict(self.times),
        }


LEDGER = Ledger()


class Refused(Exception):
    """An answer that was neither a success nor a conflict: the journey stops there."""


def journey(method):
    """A task that ends where an unexpected answer ends it (already in the ledger)."""

    @wraps(method)
    def run(self):
        with contextlib.suppress(Refused):
            method(self)

    return run


class LoopbackCookies(RequestsCookieJar):
    """Secure cookies go back to the portal on 127.0.0.1 over plain HTTP, as browsers do for
    loopback (a secure context): the portal runs with production settings, cookies Secure."""

    def set_cookie(self, cookie, *args, **kwargs):
        if cookie.domain in ("127.0.0.1", "127.0.0.1.local"):
            cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class FormFields(HTMLParser):
    """The fields of the first form in a fragment, as a browser would post them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self._textarea = None
        self._select = None
        self._option = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields[name] = attrs.get("value") or ("on" if kind == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option"
            and self._select
            and ("selected" in attrs or self._select not in self.fields)
        ):
            self.fields[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # HTML drops the one newline that follows <textarea>; the parser keeps it.
            value = self.fields[self._textarea]
            self.fields[self._textarea] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.fields


LIVE_TAG = re.compile(r"<[a-z]+\b[^>]*\bdata-live-fp=[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'\b(id|data-live-fp)="([^"]*)"')


def live_fingerprints(html: str) -> dict[str, str]:
    """Element id → fingerprint of each live fragment in `html`, as waymark.js reads them."""
    held = {}
    for tag in LIVE_TAG.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "id" in attributes and "data-live-fp" in attributes:
            held[attributes["id"]] = attributes["data-live-fp"]
    return held


EVIDENCE = re.compile(r'name="evidence"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="evidence"')
OVERRIDE = "Runbook rehearsal witnessed in the change meeting."


class Person(HttpUser):
    abstract = True
    role = ""
    uses_pages = True  # logs in through the login page; the API is reached with a token
    _accounts = defaultdict(itertools.count)

    def on_start(self):
        number = next(Person._accounts[self.role])
        accounts = PLAN["accounts"][self.role]
        self.username = accounts[number % len(accounts)]
        # API clients send their personal token and no browser cookies, as scripts do.
        self.api = HttpSession(self.host, self.environment.events.request, self)
        self.api.trust_env = False
        self.api.headers["Authorization"] = f"Bearer {PLAN['tokens'].get(self.username, '')}"
        if self.uses_pages:
            self._log_in()

    def _log_in(self):
        self.client.cookies = LoopbackCookies()
        self.call("login form", "GET", "/login/")
        self.call(
            "login",
            "POST",
            "/login/",
            data={
                "username": self.username,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            expect=(302,),
        )

    def csrf(self) -> dict:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}

    def call(self, kind, method, path, *, expect=(200,), conflict=None, via=None, **kwargs):
        """One request, named `kind`, through `via` (the browser session unless the API's is
        given): an answer in `expect` is a success, one that `conflict` (a function of the
        response) calls a conflict is counted as such; any other is an error, raised as
        Refused."""
        client = via or self.client
        with client.request(
            method, path, name=kind, catch_response=True, allow_redirects=False, **kwargs
        ) as response:
            if response.status_code in expect:
                response.success()
                return response
            if conflict is not None and response.status_code and conflict(response):
                response.success()
                return response
            text = response.text if response.status_code else str(response.error)
            response.failure(f"{response.status_code}: {text[:200]}")
            LEDGER.error(kind, response.status_code, text)
            raise Refused(kind)

    def token(self) -> str:
        return f"[{self.username} {secrets.token_hex(5)}]"


def stale_version(response) -> bool:
    """The API's refusal of a save based on an older version."""
    if response.status_code != 400:
        return False
    try:
        errors = response.json().get("errors", {})
    except ValueError:
        return False
    return "version" in errors


class ApiManager(Person):
    role = "manager"
    uses_pages = False
    wait_time = between(0.3, 1.5)

    def _append(self, kind: str, path: str, field: str, token: str, also=None) -> bool:
        """Read, append `token` to `field` (and apply `also(row)`), save with the version
        read; again while the save is refused as stale."""
        for _ in range(ATTEMPTS):
            row = self.call(f"api {kind} read", "GET", path, via=self.api).json()
            change = {"version": row["version"], field: f"{row[field]}{token}\n"}
            change.update(also(row) if also else {})
            response = self.call(
                f"api {kind} save",
                "PATCH",
                path,
                json=change,
                via=self.api,
                conflict=stale_version,
            )
            if response.status_code == 200:
                return True
            LEDGER.conflicts[f"api {kind} save"] += 1
            gevent.sleep(random.uniform(0.01, 0.1))
        LEDGER.gave_up[f"api {kind} save"] += 1
        return False

    @task(3)
    @journey
    def edit_project(self):
        project = random.choice(PLAN["hot_projects"])
        token = self.token()

        def one_more(row):
            return {"budget_spent": str(Decimal(row["budget_spent"]) + 1)}

        if self._append("project", f"/api/v1/projects/{project}/", "notes", token, one_more):
            LEDGER.accepted["project"][str(project)].append(token)
            LEDGER.increments[str(project)] += 1

    @task(2)
    @journey
    def edit_risk(self):
        risk = random.choice(PLAN["hot_risks"])
        token = self.token()
        if self._append("risk", f"/api/v1/risks/{risk}/", "mitigation", token):
            LEDGER.accepted["risk"][str(risk)].append(token)

    @task(1)
    @journey
    def retitle_risk(self):
        """A save without a version: the title is the last writer's, nothing else changes."""
        risk = random.choice(PLAN["hot_risks"])
        self.call(
            "api risk save (no version)",
            "PATCH",
            f"/api/v1/risks/{risk}/",
            json={"title": f"Risk retitled by {self.username} at {time.time():.3f}"},
            via=self.api,
        )
        LEDGER.blind_saves += 1

    @task(1)
    @journey
    def read_status(self):
        project = random.choice(PLAN["projects"])
        self.call("api project status", "GET", f"/api/v1/projects/{project}/status/", via=self.api)


class PageManager(Person):
    role = "manager"
    wait_time = between(0.5, 2.0)

    @task(3)
    @journey
    def edit_phase(self):
        phase = random.choice(PLAN["hot_phases"])
        token = self.token()
        path = f"/phases/{phase}/edit/"
        for _ in range(ATTEMPTS):
            fields = form_fields(self.call("page phase form", "GET", path, headers=HX).text)
            fields["success_criteria"] = f"{fields.get('success_criteria', '')}\n{token}".strip()
            response = self.call(
                "page phase save",
                "POST",
                path,
                data=fields,
                headers={**HX, **self.csrf()},
                conflict=lambda response: response.status_code == 409,
            )
            if response.status_code == 200:
                LEDGER.accepted["phase"][str(phase)].append(token)
                return
            LEDGER.conflicts["page phase save"] += 1
            gevent.sleep(random.uniform(0.01, 0.1))
        LEDGER.gave_up["page phase save"] += 1

    @task(1)
    @journey
    def read_plan(self):
        self.call("page project plan", "GET", f"/projects/{random.choice(PLAN['projects'])}/")


SIGNED, ALREADY, CHANGED = "signed", "already signed", "gate changed"


def _sign_outcome(text: str) -> str:
    if "already signed" in text or "takes no signatures" in text:
        return ALREADY
    if "Since the gate was shown to you" in text or "evidence changed since" in text:
        return CHANGED
    return ""


class Approver(Person):
    """Signs each of their gates once, through the API or the gate page. The API's request is
    sent twice at once, as a script that retries too eagerly does. The page's htmx form sends
    one request per click (htmx drops a second click while the first is in flight); the same
    page open in a second tab is submitted after the first."""

    role = "approver"
    wait_time = between(2.0, 5.0)

    def on_start(self):
        super().on_start()
        self.pending = [gate for gate, names in PLAN["gates"].items() if self.username in names]
        random.shuffle(self.pending)

    def _sign_api(self, gate: str, shown: str) -> str:
        payload = {
            "gate": int(gate),
            "decision": "approve",
            "password": PLAN["password"],
            "evidence": shown,
            "override_reason": OVERRIDE,
            "comment": "Evidence reviewed under load.",
        }
        try:
            response = self.call(
                "api sign",
                "POST",
                "/api/v1/sign-offs/",
                json=payload,
                via=self.api,
                expect=(201,),
                conflict=lambda response: (
                    response.status_code == 400 and _sign_outcome(response.text) != ""
                ),
            )
        except Refused:
            return ""
        return SIGNED if response.status_code == 201 else _sign_outcome(response.text)

    def _sign_page(self, gate: str, shown: str) -> str:
        fields = {
            "decision": "approve",
            "comment": "Evidence reviewed under load.",
            "username": self.username,
            "password": PLAN["password"],
            "evidence": shown,
            "override_reason": OVERRIDE,
        }
        response = self.call(
            "page sign",
            "POST",
            f"/gates/{gate}/sign/",
            data=fields,
            headers={**HX, **self.csrf()},
            expect=(200,),  # signed: htmx is sent on to the gate page (HX-Redirect)
            conflict=lambda response: (
                response.status_code == 422 and _sign_outcome(response.text) != ""
            ),
        )
        signed = response.status_code == 200 and "HX-Redirect" in response.headers
        return SIGNED if signed else _sign_outcome(response.text)

    def _taken(self, gate: str, via: str, outcomes: list[str]) -> bool:
        """Book what came of one reading of the gate; True once the signing is over."""
        if "" in outcomes:
            return True  # an unexpected answer, in the ledger already
        for outcome in outcomes:
            if outcome == SIGNED:  # each one booked: two would be a double signature
                LEDGER.signatures.append([gate, self.username, via])
        if SIGNED in outcomes:
            LEDGER.duplicates_refused += outcomes.count(ALREADY)
            return True
        if CHANGED not in outcomes:
            LEDGER.error(f"{via} sign", 0, f"no signature taken: {outcomes}")
            return True
        LEDGER.conflicts[f"{via} sign"] += outcomes.count(CHANGED)
        return False

    def _through_api(self, gate: str) -> bool:
        record = self.call("api gate record", "GET", f"/api/v1/gates/{gate}/record/", via=self.api)
        shown = record.json()["evidence"]
        twice = [gevent.spawn(self._sign_api, gate, shown) for _ in range(2)]
        gevent.joinall(twice)
        return self._taken(gate, "api", [attempt.value for attempt in twice])

    def _through_page(self, gate: str) -> bool:
        page = self.call("page gate", "GET", f"/gates/{gate}/").text
        match = EVIDENCE.search(page)
        if match is None:
            LEDGER.error("page gate", 200, "no sign form on the gate page")
            raise Refused("page gate")
        shown = match.group(1) or match.group(2)
        first = self._sign_page(gate, shown)
        outcomes = [first]
        if first == SIGNED:
            outcomes.append(self._sign_page(gate, shown))  # the second tab
        return self._taken(gate, "page", outcomes)

    @task
    @journey
    def sign_next_gate(self):
        if not self.pending:
            self.call("page inbox", "GET", "/inbox/")
            return
        gate = self.pending.pop()
        via = random.choice(["api", "page"])
        sign = self._through_api if via == "api" else self._through_page
        for _ in range(ATTEMPTS):
            if sign(gate):
                return
        LEDGER.gave_up[f"{via} sign"] += 1


class Executive(Person):
    role = "executive"
    wait_time = between(1.0, 3.0)  # the pages poll every STATUS_REFRESH_SECONDS; faster here

    def on_start(self):
        super().on_start()
        self.held = {}
        self.project_held = {}
        self.project = random.choice(PLAN["projects"])

    def _poll(self, kind: str, path: str, held: dict) -> None:
        headers = {**HX, "X-Live-Fingerprints": ",".join(f"{k}:{v}" for k, v in held.items())}
        response = self.call(kind, "GET", path, headers=headers, expect=(200, 204))
        held.update(live_fingerprints(response.text))

    @task(4)
    @journey
    def watch_programme(self):
        slug = PLAN["programme"]
        if not self.held:
            page = self.call("page programme", "GET", f"/programmes/{slug}/")
            self.held = live_fingerprints(page.text)
        self._poll("page programme live", f"/programmes/{slug}/live/", self.held)

    @task(2)
    @journey
    def watch_project(self):
        if not self.project_held:
            page = self.call("page project status", "GET", f"/projects/{self.project}/status/")
            self.project_held = live_fingerprints(page.text)
        self._poll(
            "page project status live", f"/projects/{self.project}/status/live/", self.project_held
        )

    @task(1)
    @journey
    def open_pages(self):
        self.held, self.project_held = {}, {}
        self.project = random.choice(PLAN["projects"])
        self.call("page programme", "GET", f"/programmes/{PLAN['programme']}/")


PEOPLE = {
    "api_manager": ApiManager,
    "page_manager": PageManager,
    "approver": Approver,
    "executive": Executive,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    PLAN.update(json.loads(args.plan.read_text()))

    counts = {PEOPLE[kind]: count for kind, count in PLAN["people"].items()}
    for kind, count in counts.items():
        kind.fixed_count = count
    environment = Environment(user_classes=list(counts), host=args.host, stop_timeout=30)
    environment.events.request.add_listener(LEDGER.on_request)
    runner = environment.create_local_runner()
    started = time.monotonic()
    runner.start(sum(counts.values()), spawn_rate=args.spawn_rate)
    gevent.spawn_later(args.duration, runner.quit)
    runner.greenlet.join()
    ledger = LEDGER.as_json()
    ledger["seconds"] = round(time.monotonic() - started, 2)
    ledger["locust_exceptions"] = [row["msg"] for row in runner.exceptions.values()]
    args.out.write_text(json.dumps(ledger))


if __name__ == "__main__":
    main()
