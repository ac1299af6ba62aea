"""Every URL of the site, the API and the admin, asked by every role, about an object of its
own project and of another, by every method the route answers: the answer is what the rule
table below says the route needs, read through the policies (`projects.policy` and each app's
`policy.py`).

A route needs one thing of the user: an `Action` on the project of the object its path names
(hidden, 404, from those who may not see the project; refused, 403, to members who may not do
it), or one of the needs below (signed in, staff, ...). Anonymous users are sent to the login
page (pages, admin) or answered 401/403 (API). A request let through may still be answered with
what to correct (400, 409, 422): the dummy bodies are not meant to succeed, only to get past the
permission check. Every request is rolled back, so that one role's changes are not another's
starting point. A route with no rule fails `test_every_url_pattern_has_a_rule`: a new view
comes with its rule, or the suite says so."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Profile
from accounts.tokens import api_token_create
from core.models import OutboxTask
from dashboards.models import StatusReportDelivery, StatusReportSubscription, StatusSnapshot
from gates import services as gate_services
from gates.evidence import evidence_pack, pack_store
from gates.models import ApproverGroup
from metrics.models import KPI, KPIPin, MeasurementHour
from notifications.models import Notification, NotificationMute
from projects import policy
from projects.models import Membership, Phase, PhaseView, Project
from projects.policy import Action
from risks import services as risk_services
from risks.models import RiskEscalation, RiskKeySequence
from tests.factories import (
    ChecklistItemFactory,
    GateApproverFactory,
    GateConditionFactory,
    GateCriterionFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    MembershipFactory,
    MetricSourceFactory,
    PhaseFactory,
    RiskFactory,
    SignOffFactory,
    UserFactory,
)

# -- what a route may need, besides an Action on a project --------------------------------------

PUBLIC = "anyone, signed in or not"
SIGNED_IN = "any signed-in user"
STAFF = "staff"
SUPERUSER = "superusers"
NOBODY = "nobody (records written by services only)"
OWN = "the user's own object"
SEE_PROGRAMME = "may see the programme"
ADD_PROJECT = "may add projects to the programme (its managers)"
NOT_FOUND = "no such resource, for everyone"

# Outcomes, as the matrix compares them.
LET_THROUGH = "let through"
HIDDEN = "hidden"
REFUSED = "refused"
TO_LOGIN = "sent to log in"
UNAUTHENTICATED = "unauthenticated"
NO_METHOD = "no such method"
LISTED = "listed"
UNLISTED = "not listed"

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Rule:
    """What a page or API route needs. `target` names the object (in `plan_of`) whose id fills
    the route's path; `get` and `post` are what safe and unsafe requests need (None: the
    method is not answered). For the API, the methods come from the viewset; `body` is sent
    with the unsafe ones. A list route (`lists` = a target) is checked to list the object of
    each project the user may see, and no other."""

    get: object = None
    post: object = None
    target: str = ""
    methods: tuple[str, ...] = ()
    body: Callable | None = None
    lists: str = ""
    hidden: frozenset = frozenset({404})
    path: str = ""  # for an unnamed route: the path to ask
    # Slow to answer (a PDF, the schema): let through, it is asked of HEAVY_ASKERS only; the
    # other roles' answers come from the same view and policy call as a lighter sibling's.
    heavy: bool = False
    # The login page sends a signed-in user on, whatever the method.
    sends_signed_in_on: bool = False


def page(get=None, post=None, target="", **kwargs) -> Rule:
    methods = (("GET",) if get else ()) + (("POST",) if post else ())
    return Rule(get=get, post=post, target=target, methods=methods, **kwargs)


V, E, M = Action.VIEW, Action.EDIT, Action.MANAGE
FUTURE = "2999-01-01T00:00:00Z"


def now_iso() -> str:
    return (timezone.now() - timedelta(minutes=1)).isoformat()


PAGES: dict[str, Rule] = {
    "home": page(SIGNED_IN),
    "programme-detail": page(SEE_PROGRAMME, target="programme"),
    "programme-live": page(SEE_PROGRAMME, target="programme"),
    "plan-import": page(ADD_PROJECT, ADD_PROJECT, target="programme"),
    "programme-report": page(SEE_PROGRAMME, target="programme"),
    "programme-report-md": page(SEE_PROGRAMME, target="programme"),
    "programme-report-pdf": page(SEE_PROGRAMME, target="programme", heavy=True),
    "programme-report-subscription": page(post=SEE_PROGRAMME, target="programme"),
    "programme-risks": page(SEE_PROGRAMME, target="programme"),
    "status-help": page(SIGNED_IN),
    "project-detail": page(V, target="project"),
    "project-history": page(V, target="project"),
    "project-status": page(V, target="project"),
    "project-status-live": page(V, target="project"),
    # A KPI pinned first on the dashboard: a preference of their own, for anyone who sees it.
    "kpi-pin": page(post=V, target="kpi"),
    "project-plan-export": page(V, target="project"),
    # The whole project, members and audit trails too: its managers'.
    "project-export": page(M, target="project"),
    "project-report": page(V, target="project"),
    "project-report-md": page(V, target="project"),
    "project-report-pdf": page(V, target="project", heavy=True),
    "project-report-subscription": page(post=V, target="project"),
    "project-overview": page(V, target="project"),
    "project-overview-edit": page(E, E, target="project"),
    "project-variance": page(V, target="project"),
    "project-timeline": page(V, target="project"),
    "phase-create": page(E, E, target="project"),
    "phase-row": page(V, target="phase"),
    # Whether the user keeps the phase open: a preference of their own, for anyone who sees it.
    "phase-view": page(post=V, target="phase"),
    "phase-edit": page(E, E, target="phase"),
    "phase-move": page(post=E, target="phase"),
    "phase-delete": page(E, E, target="phase"),
    "phase-restore": page(post=E, target="phase"),
    "item-create": page(E, E, target="phase"),
    "item-row": page(V, target="item"),
    "item-edit": page(E, E, target="item"),
    "item-toggle": page(post=E, target="item"),
    "item-move": page(post=E, target="item"),
    "item-delete": page(E, E, target="item"),
    "item-restore": page(post=E, target="item"),
    "items-bulk": page(post=E, target="project"),
    "login": Rule(
        get=PUBLIC, post=PUBLIC, methods=("GET", "HEAD", "POST", "PUT"), sends_signed_in_on=True
    ),
    "logout": Rule(post=PUBLIC, methods=("POST",)),
    "notifications": page(SIGNED_IN),
    "api-tokens": page(SIGNED_IN, SIGNED_IN),
    # The user's own preferences: there is no one else's to ask for.
    "your-settings": page(SIGNED_IN, SIGNED_IN),
    "api-token-revoke": page(post=OWN, target="token"),
    "notifications-read": page(post=SIGNED_IN),
    "notification-mute": page(post=SIGNED_IN),
    "health": page(PUBLIC),
    "favicon": Rule(get=PUBLIC, methods=("GET", "HEAD")),
    "risk-register": page(V, target="project"),
    "risk-create": page(E, E, target="project"),
    "risk-export": page(V, target="project"),
    "risk-import": page(E, E, target="project"),
    "risk-escalation-check": page(post=E, target="project"),
    "risk-detail": page(V, target="risk"),
    "risk-row": page(V, target="risk"),
    "risk-edit": page(E, E, target="risk"),
    "risk-action-create": page(post=E, target="risk"),
    "risk-action-toggle": page(post=E, target="mitigation"),
    "kpi-list": page(V, target="project"),
    "kpi-create": page(E, E, target="project"),
    "kpi-detail": page(V, target="kpi"),
    "kpi-edit": page(E, E, target="kpi"),
    "kpi-source": page(E, E, target="kpi"),
    "kpi-source-test": page(post=E, target="kpi"),
    "kpi-value-enter": page(post=E, target="kpi"),
    "operations": page(STAFF),
    "gate-detail": page(V, target="gate"),
    # Who signs, and for whom, is decided by `gates.services`: a member who may not sign is
    # answered with the reason (422 on the page, a message after delegating).
    "gate-sign": page(post=V, target="gate"),
    "gate-open": page(post=M, target="gate"),
    # Refused with a message unless the approval went stale; a manager's to ask.
    "gate-reapproval": page(post=M, target="gate"),
    "gate-delegate": page(post=V, target="gate"),
    "gate-audit-csv": page(V, target="gate"),
    "gate-audit-json": page(V, target="gate"),
    "gate-pdf": page(V, target="gate", heavy=True),
    "criterion-attest": page(post=E, target="criterion"),
    "gate-condition-update": page(post=M, target="condition"),
    # Met by its owner or a manager; the plans' conditions are owned by the project's manager.
    "gate-condition-met": page(post=M, target="condition"),
    "inbox": page(SIGNED_IN),
}

API_WITHOUT_VIEWSET = {
    # The schema and its docs page describe the API, not its data.
    "api:schema": Rule(get=PUBLIC, methods=("GET", "HEAD"), heavy=True),
    "api:docs": Rule(get=PUBLIC, methods=("GET", "HEAD")),
    "api:api-root": Rule(get=SIGNED_IN, methods=("GET", "HEAD")),
    "api:plan-import": Rule(
        post=ADD_PROJECT,
        target="programme",
        methods=("POST",),
        body=lambda o: {
            "programme": o["programme"].slug,
            "markdown": "# Plan\n",
            "start_date": "2026-01-05",
            "dry_run": True,
        },
    ),
    # A batch names its KPIs in its items: one not seen is an invalid item (400), not a path
    # that was not found.
    "api:measurements": Rule(
        post=E,
        target="kpi",
        methods=("POST",),
        body=lambda o: [{"kpi": o["kpi"].pk, "at": now_iso(), "value": 1.0}],
        hidden=frozenset({400}),
    ),
    "api-measurements": Rule(
        post=E,
        target="kpi",
        methods=("POST",),
        body=lambda o: {"kpi": o["kpi"].pk, "at": now_iso(), "value": 1.0},
        hidden=frozenset({400}),
    ),
    "api-gate": Rule(get=V, target="gate", methods=("GET", "HEAD")),
    "api/v1/^(?P<rest>.*)$": Rule(
        get=NOT_FOUND,
        post=NOT_FOUND,
        methods=("GET", "HEAD", *UNSAFE),
        path="/api/v1/no-such-thing/",
    ),
}

# The router's routes: list (GET the list, POST a new one) and detail (GET one; PUT, PATCH and
# DELETE where the viewset answers them) and extra actions.
API: dict[str, Rule] = {
    **API_WITHOUT_VIEWSET,
    "api:programme-list": Rule(get=SIGNED_IN, lists="programme"),
    "api:programme-detail": Rule(get=SEE_PROGRAMME, target="programme"),
    "api:project-list": Rule(
        get=SIGNED_IN,
        lists="project",
        post=ADD_PROJECT,
        target="programme",
        body=lambda o: {"programme": o["programme"].slug, "code": "NEW", "name": "New one"},
    ),
    "api:project-detail": Rule(get=V, post=E, target="project", body=lambda o: {}),
    "api:project-status": Rule(get=V, target="project", methods=("GET", "HEAD")),
    "api:phase-list": Rule(
        get=SIGNED_IN,
        lists="phase",
        post=E,
        target="project",
        body=lambda o: {"project": o["project"].pk, "name": "Pilot"},
    ),
    "api:phase-detail": Rule(get=V, post=E, target="phase", body=lambda o: {}),
    "api:checklist-item-list": Rule(
        get=SIGNED_IN,
        lists="item",
        post=E,
        target="phase",
        body=lambda o: {"phase": o["phase"].pk, "title": "Re-check"},
    ),
    "api:checklist-item-detail": Rule(get=V, post=E, target="item", body=lambda o: {}),
    "api:membership-list": Rule(
        get=SIGNED_IN,
        lists="membership",
        post=M,
        target="project",
        body=lambda o: {"user": "walter", "project": o["project"].pk, "role": "viewer"},
    ),
    "api:membership-detail": Rule(get=V, post=M, target="membership", body=lambda o: {}),
    "api:risk-list": Rule(
        get=SIGNED_IN,
        lists="risk",
        post=E,
        target="project",
        body=lambda o: {"project": o["project"].pk, "title": "Lag", "likelihood": 2, "impact": 3},
    ),
    "api:risk-detail": Rule(get=V, post=E, target="risk", body=lambda o: {}),
    "api:risk-history": Rule(get=V, target="risk"),
    "api:kpi-list": Rule(
        get=SIGNED_IN,
        lists="kpi",
        post=E,
        target="project",
        body=lambda o: {"project": o["project"].pk, "name": "p95", "unit": "ms"},
    ),
    "api:kpi-detail": Rule(get=V, post=E, target="kpi", body=lambda o: {}),
    "api:kpi-series": Rule(get=V, target="kpi"),
    "api:metric-source-list": Rule(
        get=SIGNED_IN,
        lists="source",
        post=E,
        target="kpi",
        body=lambda o: {"kpi": o["kpi"].pk, "kind": "manual", "config": {}, "interval": "300"},
    ),
    "api:metric-source-detail": Rule(get=V, post=E, target="source", body=lambda o: {}),
    "api:gate-list": Rule(get=SIGNED_IN, lists="gate"),
    "api:gate-detail": Rule(get=V, target="gate"),
    "api:gate-record": Rule(get=V, target="gate"),
    "api:gate-open": Rule(post=M, target="gate", body=lambda o: {}),
    "api:gate-cancel": Rule(post=M, target="gate", body=lambda o: {"reason": "Replanned"}),
    # Whether the user may delegate is the service's to say (409 with the reason).
    "api:gate-delegations": Rule(
        post=V, target="gate", body=lambda o: {"delegate": "walter", "until": FUTURE}
    ),
    "api:gate-criterion-list": Rule(
        get=SIGNED_IN,
        lists="criterion",
        post=M,
        target="gate",
        body=lambda o: {"gate": o["gate"].pk, "text": "Backups restored", "kind": "manual"},
    ),
    "api:gate-criterion-detail": Rule(get=V, post=M, target="criterion", body=lambda o: {}),
    "api:gate-criterion-attest": Rule(post=E, target="criterion", body=lambda o: {}),
    "api:gate-approver-list": Rule(
        get=SIGNED_IN,
        lists="approver",
        post=M,
        target="gate",
        body=lambda o: {"gate": o["gate"].pk, "title": "DBA", "role": "approver"},
    ),
    "api:gate-approver-detail": Rule(get=V, post=M, target="approver", body=lambda o: {}),
    "api:gate-approver-group-list": Rule(
        get=SIGNED_IN,
        lists="approver_group",
        post=M,
        target="gate",
        body=lambda o: {"gate": o["gate"].pk, "name": "Security", "rule": "all", "veto": True},
    ),
    "api:gate-approver-group-detail": Rule(
        get=V, post=M, target="approver_group", body=lambda o: {}
    ),
    # Who signs is the service's to say: a member who may not is answered 400 with why.
    "api:sign-off-list": Rule(
        get=SIGNED_IN,
        lists="signoff",
        post=V,
        target="gate",
        body=lambda o: {
            "gate": o["gate"].pk,
            "decision": "approve",
            "password": "not the password",
            "seen_hash": "0" * 64,
        },
    ),
    "api:sign-off-detail": Rule(get=V, target="signoff"),
    "api:audit-entry-list": Rule(get=SIGNED_IN, lists="audit"),
    "api:audit-entry-detail": Rule(get=V, target="audit"),
}


@dataclass(frozen=True)
class AdminScope:
    """What a model's admin asks: `target` is the object (in `plan_of`, or a row of the
    user's own for rows of no project); each of view / add / change / delete is an Action on
    the row's project, SUPERUSER or NOBODY. `add` as an Action: on some project."""

    target: str
    view: object = V
    add: object = E
    change: object = E
    delete: object = E


READ_ONLY = {"add": NOBODY, "change": NOBODY, "delete": NOBODY}
SUPERUSER_ONLY = {"view": SUPERUSER, "add": NOBODY, "change": NOBODY, "delete": SUPERUSER}
DJANGO_PERMISSIONS = {"view": SUPERUSER, "add": SUPERUSER, "change": SUPERUSER, "delete": SUPERUSER}
AXES = {**DJANGO_PERMISSIONS, "add": NOBODY}

ADMIN_MODELS: dict[str, AdminScope] = {
    "auth.group": AdminScope("group", **DJANGO_PERMISSIONS),
    "auth.user": AdminScope("user", **DJANGO_PERMISSIONS),
    "axes.accessattempt": AdminScope("access_attempt", **AXES),
    "axes.accesslog": AdminScope("access_log", **AXES),
    "axes.accessfailurelog": AdminScope("access_failure", **AXES),
    # Programmes are set up by superusers; staff see those they take part in.
    "projects.programme": AdminScope(
        "programme", view=SEE_PROGRAMME, add=SUPERUSER, change=SUPERUSER, delete=SUPERUSER
    ),
    "projects.project": AdminScope("project", add=SUPERUSER, change=M, delete=M),
    "projects.phase": AdminScope("phase"),
    "projects.checklistitem": AdminScope("item"),
    "projects.membership": AdminScope("membership", add=M, change=M, delete=M),
    "projects.phaseview": AdminScope("phase_view", **SUPERUSER_ONLY),
    "notifications.notification": AdminScope("notification", **SUPERUSER_ONLY),
    "notifications.notificationmute": AdminScope("mute", **SUPERUSER_ONLY),
    "dashboards.statussnapshot": AdminScope("snapshot", **{**SUPERUSER_ONLY, "delete": NOBODY}),
    "dashboards.statusreportsubscription": AdminScope("subscription", **SUPERUSER_ONLY),
    "dashboards.statusreportdelivery": AdminScope(
        "delivery", **{**SUPERUSER_ONLY, "delete": NOBODY}
    ),
    "accounts.apitoken": AdminScope("token", **SUPERUSER_ONLY),
    "accounts.profile": AdminScope("profile", **SUPERUSER_ONLY),
    "core.outboxtask": AdminScope("outbox_task", **SUPERUSER_ONLY),
    "risks.risk": AdminScope("risk"),
    "risks.riskassessment": AdminScope("assessment", **READ_ONLY),
    "risks.mitigationaction": AdminScope("mitigation"),
    "risks.riskescalation": AdminScope("escalation", **READ_ONLY),
    "risks.riskkeysequence": AdminScope("key_sequence", **READ_ONLY),
    "metrics.kpi": AdminScope("kpi"),
    "metrics.metricsource": AdminScope("source"),
    # Values are entered by hand, never changed or removed.
    "metrics.measurement": AdminScope("measurement", change=NOBODY, delete=NOBODY),
    "metrics.measurementhour": AdminScope("measurement_hour", **READ_ONLY),
    "metrics.kpipin": AdminScope("kpi_pin", **SUPERUSER_ONLY),
    "gates.gate": AdminScope("gate", add=M, change=M, delete=M),
    "gates.gatecriterion": AdminScope("criterion", add=M, change=M, delete=M),
    "gates.gateapprover": AdminScope("approver", add=M, change=M, delete=M),
    "gates.approvergroup": AdminScope("approver_group", add=M, change=M, delete=M),
    "gates.signoff": AdminScope("signoff", **READ_ONLY),
    "gates.evidencepack": AdminScope("evidence", **READ_ONLY),
    "gates.gateauditentry": AdminScope("audit", **READ_ONLY),
    "gates.gatedelegation": AdminScope("delegation", **READ_ONLY),
    "gates.gatecondition": AdminScope("condition", **READ_ONLY),
}
# Rows that belong to no project, or to the user: asked once, not per project.
PROJECTLESS = {
    "group",
    "user",
    "access_attempt",
    "access_log",
    "access_failure",
    "notification",
    "mute",
    "phase_view",
    "kpi_pin",
    "snapshot",
    "subscription",
    "delivery",
    "token",
    "profile",
    "outbox_task",
}

# The admin site's own pages: who they are for, and the methods they answer.
ANY = ("GET", "POST")
ADMIN_SITE = {
    "admin:index": ("staff", ANY),
    "admin:login": ("public", ANY),
    "admin:logout": ("logout", ("POST",)),
    "admin:password_change": ("staff", ANY),
    "admin:password_change_done": ("staff", ("GET",)),
    "admin:autocomplete": ("autocomplete", ("GET",)),
    "admin:jsi18n": ("staff", ("GET",)),
    # Django's redirect to a row's page: the page itself then answers as its policy says.
    "admin:view_on_site": ("staff", ANY),
    "admin:app_list": ("staff", ANY),
    "admin/(?P<url>.*)$": ("catch all", ANY),
    # The old addresses of models that moved out of the projects app: a redirect for anyone, the
    # new address then answers as its policy says.
    "admin-moved": ("public", ANY),
}
HEAVY_ASKERS = {"anonymous", "viewer", "superuser"}
ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history")


# -- the URL map ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  # the pattern as written, prefixes joined
    name: str | None  # with its namespace
    callback: Callable
    default_args: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> str:
        return self.name or self.route


def url_map(resolver=None, prefix: str = "", namespace: str = "") -> list[Route]:
    """Every pattern of the URL configuration, resolvers walked down to their patterns."""
    resolver = resolver or get_resolver()
    routes = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            routes += url_map(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            routes.append(Route(prefix + str(pattern.pattern), name, pattern.callback))
    return routes


def admin_model_of(route: Route) -> tuple[str, str] | None:
    """(model label, admin view) of a model admin's route, or None for the site's own."""
    match = re.fullmatch(r"admin/(\w+)/(\w+)/(.*)", route.route)
    if not match or route.key in ADMIN_SITE:
        return None
    app_label, model_name, rest = match.groups()
    label = f"{app_label}.{model_name}"
    if route.name:
        view = route.name.removeprefix(f"admin:{app_label}_{model_name}_")
        return label, "change" if view == "password_change" else view
    return label, "redirect to change" if rest == "<path:object_id>/" else rest


def rule_missing(route: Route) -> str | None:
    if route.route.lstrip("^").startswith("admin/"):
        model = admin_model_of(route)
        if model is None:
            return None if route.key in ADMIN_SITE else route.key
        return None if model[0] in ADMIN_MODELS else route.key
    if route.key in PAGES or route.key in API:
        return None
    return route.key


def test_every_url_pattern_has_a_rule():
    missing = [name for route in url_map() if (name := rule_missing(route))]
    assert not missing, (
        "URL patterns with no rule in tests/test_access_matrix.py (say what each needs): "
        + ", ".join(missing)
    )


def test_the_rule_table_names_only_routes_that_exist():
    keys = {route.key for route in url_map()}
    stale = [key for key in [*PAGES, *API] if key not in keys]
    assert not stale, f"Rules for routes that no longer exist: {stale}"


def test_the_url_map_holds_the_site_the_api_and_the_admin():
    routes = url_map()
    assert len(routes) > 250
    assert {"api:project-detail", "project-detail", "admin:risks_risk_change"} <= {
        route.key for route in routes
    }


# -- one plan per project ------------------------------------------------------------------------


def plan_of(project, manager, approver) -> dict:
    """One row of every kind in `project`, as its manager and approver would leave them."""
    phase = PhaseFactory(project=project, order=1)
    risk = RiskFactory(project=project)
    risk_services.risk_update(risk=risk, by=manager, likelihood=2)
    mitigation = risk_services.mitigation_action_create(risk=risk, by=manager, title="Indices")
    kpi = KPIFactory(project=project, phase=phase)
    source = MetricSourceFactory(kpi=kpi)
    measurement = MeasurementFactory(kpi=kpi, source=source)
    gate = GateFactory(project=project, phase=phase)
    criterion = GateCriterionFactory(gate=gate, kind="manual", text="Runbook rehearsed")
    approver_group = ApproverGroup.objects.create(gate=gate, name="Data owners", rule="any")
    approver_slot = GateApproverFactory(gate=gate, role="approver", group=approver_group)
    evidence = pack_store(gate, evidence_pack(gate))
    signoff = SignOffFactory(
        gate=gate, signer=approver, evidence=evidence, content_hash=evidence.content_hash
    )
    gate_services.gate_open(gate=gate, by=manager)
    delegation = gate_services.gate_delegate(
        gate=gate,
        delegator=approver,
        delegate=manager,
        until=timezone.now() + timedelta(days=1),
        by=approver,
    )
    return {
        "programme": project.programme,
        "project": project,
        "phase": phase,
        "item": ChecklistItemFactory(phase=phase, order=1),
        "risk": risk,
        "assessment": risk.assessments.first(),
        "mitigation": mitigation,
        "escalation": RiskEscalation.objects.create(
            risk=risk, reason="unresolved_high", escalated_at=timezone.now()
        ),
        "key_sequence": RiskKeySequence.objects.get_or_create(project=project)[0],
        "kpi": kpi,
        "source": source,
        "measurement": measurement,
        "measurement_hour": MeasurementHour.objects.filter(kpi=kpi).first(),
        "gate": gate,
        "criterion": criterion,
        "approver": approver_slot,
        "approver_group": approver_group,
        "signoff": signoff,
        "evidence": evidence,
        "condition": GateConditionFactory(signoff=signoff, owner=manager),
        "audit": gate.audit_entries.order_by("sequence").first(),
        "delegation": delegation,
        # A member no test persona is: memberships are changed and ended on it.
        "membership": MembershipFactory(user=UserFactory(), project=project, role="viewer"),
    }


def user_rows(user) -> dict:
    """Rows of the user's own (or of no project), for the routes that name them."""
    token, _raw = api_token_create(user=user, name="CI pipeline")
    notification = Notification.objects.create(user=user, kind="risk_escalated", title="Late")
    project = Membership.objects.filter(user=user, project__isnull=False).first()
    subscription = StatusReportSubscription.objects.create(
        user=user, project=project.project if project else Project.objects.first()
    )
    return {
        "token": token,
        "profile": Profile.objects.get_or_create(user=user)[0],
        "outbox_task": OutboxTask.objects.create(task="risks.tasks.risk_escalate_overdue"),
        "notification": notification,
        "mute": NotificationMute.objects.get_or_create(user=user, kind="risk_review_overdue")[0],
        "phase_view": PhaseView.objects.get_or_create(
            user=user, phase=Phase.objects.first(), defaults={"expanded": False}
        )[0],
        "kpi_pin": KPIPin.objects.get_or_create(user=user, kpi=KPI.objects.first())[0],
        "subscription": subscription,
        "delivery": StatusReportDelivery.objects.create(
            subscription=subscription, week=timezone.localdate(), claimed_at=timezone.now()
        ),
        "snapshot": StatusSnapshot.objects.create(
            project=subscription.project, taken_on=timezone.localdate(), rag="amber"
        ),
        "user": user,
        "group": Group.objects.get_or_create(name="Auditors")[0],
        "access_attempt": AccessAttempt.objects.create(
            user_agent="test",
            ip_address="127.0.0.1",
            username="nobody",
            http_accept="*/*",
            path_info="/login/",
            get_data="",
            post_data="",
            failures_since_start=1,
        ),
        "access_log": AccessLog.objects.create(
            user_agent="test",
            ip_address="127.0.0.1",
            username="nobody",
            http_accept="*/*",
            path_info="/login/",
        ),
        "access_failure": AccessFailureLog.objects.create(
            user_agent="test",
            ip_address="127.0.0.1",
            username="nobody",
            http_accept="*/*",
            path_info="/login/",
        ),
    }


# -- what each role should be answered -----------------------------------------------------------

ROLES = ["anonymous", "viewer", "executive", "contributor", "manager", "approver", "superuser"]
PERSONA = {
    "viewer": "victor",
    "executive": "erin",
    "contributor": "bob",
    "manager": "alice",
    "approver": "carol",
    "superuser": "superuser",
}
WHERE = ("own project", "another project")


@dataclass
class World:
    """The user asking, the plans of their project (A) and another (B), and rows of theirs."""

    role: str
    user: object  # None: anonymous
    plans: dict[str, dict]
    rows: dict
    others_token: object

    def target(self, key: str, where: str):
        if key == "token":  # theirs, or someone else's
            return self.rows["token"] if where == WHERE[0] else self.others_token
        if key in PROJECTLESS:
            return self.rows[key]
        return self.plans[where][key]


def standing(need, user, plan: dict, target) -> str:
    """What `user` is answered for a request that needs `need`, about `target` in `plan`."""
    if need == NOT_FOUND:
        return HIDDEN
    if need == PUBLIC:
        return LET_THROUGH
    if user is None:
        return UNAUTHENTICATED
    if need == SIGNED_IN:
        return LET_THROUGH
    if need == STAFF:
        return LET_THROUGH if user.is_staff else REFUSED
    if need == SUPERUSER:
        return LET_THROUGH if user.is_superuser else REFUSED
    if need == NOBODY:
        return REFUSED
    if need == OWN:
        return LET_THROUGH if target.user_id == user.pk else HIDDEN
    if need in (SEE_PROGRAMME, ADD_PROJECT):
        programme = plan["programme"]
        if not policy.visible_programmes(user).filter(pk=programme.pk).exists():
            return HIDDEN
        if need == ADD_PROJECT and not policy.can_add_project(user, programme):
            return REFUSED
        return LET_THROUGH
    project = plan["project"]
    if not policy.can(user, project, Action.VIEW):
        return HIDDEN
    return LET_THROUGH if policy.can(user, project, need) else REFUSED


def listing(user, plan: dict, key: str) -> str:
    """Whether a list the user asks for should hold the plan's object of kind `key`."""
    if user is None:
        return UNAUTHENTICATED
    if key == "programme":
        visible = policy.visible_programmes(user).filter(pk=plan["programme"].pk).exists()
    else:
        visible = policy.can(user, plan["project"], Action.VIEW)
    return LISTED if visible else UNLISTED


PERMITTED = {200, 201, 202, 204, 301, 302, 303, 400, 409, 422}


def outcome(response, *, surface: str, hidden=frozenset({404})) -> str:
    status = response.status_code
    location = response.get("Location", "")
    if surface == "admin" and status == 302 and location.startswith(reverse("admin:login")):
        return TO_LOGIN
    if surface == "admin" and status == 302 and location == reverse("admin:index"):
        return HIDDEN  # "doesn't exist" (the admin says so of a row it does not show)
    if surface == "page" and status == 302 and location.startswith(reverse("login")):
        return TO_LOGIN
    if status == 401:
        return UNAUTHENTICATED
    if status in hidden:
        return HIDDEN
    if status == 403:
        return REFUSED
    if status == 405:
        return NO_METHOD
    if status in PERMITTED:
        return LET_THROUGH
    return f"answered {status}"


def ask(client, method: str, path: str, body=None, *, json_body=False):
    """One request, rolled back whatever it changed."""
    try:
        with transaction.atomic():
            if json_body and body is not None:
                import json

                response = client.generic(
                    method, path, json.dumps(body), content_type="application/json"
                )
            elif method == "POST":
                response = client.post(path, body or {})
            else:
                response = client.generic(method, path)
            transaction.set_rollback(True)
    except Exception as error:  # named in the mismatch, with the route
        return None, f"raised {type(error).__name__}: {error}"
    return response, None


PATH_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def path_of(route: Route, target) -> str:
    names = PATH_PARAMETER.findall(route.route)
    kwargs = {name: (target.slug if name == "slug" else target.pk) for name in names}
    return reverse(route.name, kwargs=kwargs)


def methods_of(route: Route, rule: Rule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the methods the route answers, the methods to ask it)."""
    actions = getattr(route.callback, "actions", None)
    if actions:
        answered = tuple(method.upper() for method in actions)
        answered += ("HEAD",) if "GET" in answered else ()
    else:
        answered = rule.methods
        if route.key in API and "GET" in answered and "HEAD" not in answered:
            answered += ("HEAD",)
    return answered, ("GET", "HEAD", *UNSAFE)


class Matrix:
    """The outcomes observed and expected, case by case."""

    def __init__(self):
        self.expected: dict[str, object] = {}
        self.observed: dict[str, str] = {}

    def check(self, case: str, wanted, got: str):
        wanted = frozenset({wanted}) if isinstance(wanted, str) else frozenset(wanted)
        self.expected[case] = wanted
        self.observed[case] = got

    def mismatches(self) -> list[str]:
        return [
            f"{case}: expected {' or '.join(sorted(self.expected[case]))}, got {got}"
            for case, got in self.observed.items()
            if got not in self.expected[case]
        ]


def check_site_and_api(matrix: Matrix, client, world: World, routes: list[Route]):
    user = world.user
    for route in routes:
        if route.route.lstrip("^").startswith("admin/") or rule_missing(route):
            continue  # a route with no rule fails test_every_url_pattern_has_a_rule
        surface = "api" if route.key in API else "page"
        rule = (API if surface == "api" else PAGES)[route.key]
        answered, asked = methods_of(route, rule)
        for where in WHERE if (rule.target or rule.lists) else WHERE[:1]:
            plan = world.plans[where]
            target = world.target(rule.target, where) if rule.target else None
            if rule.path:
                path = rule.path
            elif rule.target and PATH_PARAMETER.search(route.route):
                path = path_of(route, target)
            else:
                path = reverse(route.name)
            for method in asked:
                if (
                    method in ("PUT", "PATCH", "DELETE")
                    and where != WHERE[0]
                    and method not in answered
                ):
                    continue  # a method not answered is not answered anywhere
                case = f"{surface} {method} {route.key} ({where})"
                need = rule.get if method in ("GET", "HEAD") else rule.post
                if method not in answered and rule.sends_signed_in_on and user:
                    wanted = {LET_THROUGH}
                elif method not in answered:
                    wanted = {NO_METHOD}
                    if user is None:  # asked to log in first, or refused the method first
                        wanted |= {TO_LOGIN if surface == "page" else UNAUTHENTICATED}
                    if need == NOT_FOUND:
                        wanted = {HIDDEN}
                else:
                    wanted = {standing(need, user, plan, target)}
                    if surface == "page" and wanted == {UNAUTHENTICATED}:
                        wanted = {TO_LOGIN}
                if rule.heavy and wanted == {LET_THROUGH} and world.role not in HEAVY_ASKERS:
                    continue
                body = None
                if surface == "api" and method in UNSAFE and rule.body and method != "DELETE":
                    body = rule.body(plan)
                    if method == "PUT" and not PATH_PARAMETER.search(route.route):
                        body = None
                response, error = ask(client, method, path, body, json_body=surface == "api")
                if error:
                    matrix.check(case, wanted, error)
                    continue
                got = outcome(response, surface=surface, hidden=rule.hidden)
                if route.key == "logout" and response.status_code in PERMITTED:
                    got = LET_THROUGH  # logged out, and sent on to log in again
                    if user:
                        client.force_login(user)
                if rule.lists and method == "GET" and got == LET_THROUGH:
                    listed = {row["id"] for row in response.json()["results"]}
                    shown = plan[rule.lists].pk in listed
                    matrix.check(
                        f"{case} lists it",
                        listing(user, plan, rule.lists),
                        LISTED if shown else UNLISTED,
                    )
                matrix.check(case, wanted, got)


def admin_need(scope: AdminScope, view: str, method: str):
    if view in ("changelist", "history"):
        return scope.view
    if view == "change":
        return scope.view if method == "GET" else scope.change
    return {"add": scope.add, "delete": scope.delete}[view]


def admin_standing(scope: AdminScope, view: str, method: str, user, plan, target) -> set[str]:
    if user is None or not user.is_staff:
        return {TO_LOGIN}
    if view == "redirect to change":
        return {LET_THROUGH}
    need = admin_need(scope, view, method)
    if need in (NOBODY, SUPERUSER):
        return {standing(need, user, plan, target)}
    if view == "changelist":
        return {LET_THROUGH}
    if view == "add":
        return {LET_THROUGH if policy.projects_where(user, need).exists() else REFUSED}
    seen = standing(Action.VIEW if need != SEE_PROGRAMME else need, user, plan, target)
    if seen == HIDDEN:
        # A row the admin does not show "doesn't exist"; a view refused whatever the row is
        # refuses before looking it up.
        return {HIDDEN, REFUSED}
    return {standing(need, user, plan, target)}


def check_admin(matrix: Matrix, client, world: World, routes: list[Route]):
    user = world.user
    staff = user is not None and user.is_staff
    for route in routes:
        if not route.route.lstrip("^").startswith("admin/"):
            continue
        model = admin_model_of(route)
        if rule_missing(route):
            continue
        if model is None:
            check_admin_site(matrix, client, world, route)
            continue
        label, view = model
        scope = ADMIN_MODELS[label]
        projectless = scope.target in PROJECTLESS
        # A superuser's admin is the same on every project: their own one stands for both.
        once = projectless or view in ("changelist", "add") or (user and user.is_superuser)
        for where in WHERE[:1] if once else WHERE:
            plan = world.plans[where]
            target = world.target(scope.target, where)
            if view in ("changelist", "add"):
                path = reverse(route.name)
            elif route.name:
                key = "id" if "<id>" in route.route else "object_id"
                path = reverse(route.name, kwargs={key: target.pk})
            else:
                app_label, model_name = label.split(".")
                path = f"/admin/{app_label}/{model_name}/{target.pk}/"
            for method in ("GET", "POST"):
                case = f"admin {method} {route.key} ({'—' if projectless else where})"
                wanted = admin_standing(scope, view, method, user, plan, target)
                response, error = ask(client, method, path)
                if error:
                    matrix.check(case, wanted, error)
                    continue
                got = outcome(response, surface="admin")
                if got == HIDDEN and view in ("changelist", "add", "redirect to change"):
                    got = LET_THROUGH  # sent on to the index or the row: not a row's absence
                matrix.check(case, wanted, got)
                listable = staff and view == "changelist" and method == "GET"
                if listable and got == LET_THROUGH and not projectless:
                    for each in WHERE:
                        shown = {row.pk for row in response.context["cl"].result_list}
                        row = world.target(scope.target, each)
                        matrix.check(
                            f"{case} lists the row of {each}",
                            listing(user, world.plans[each], "project"),
                            LISTED if row.pk in shown else UNLISTED,
                        )


def check_admin_site(matrix: Matrix, client, world: World, route: Route):
    from django.contrib.contenttypes.models import ContentType

    user = world.user
    staff = user is not None and user.is_staff
    kind, answered = ADMIN_SITE[route.key]
    risk = world.plans[WHERE[1]]["risk"]  # another project's
    paths = {
        "admin:view_on_site": reverse(
            "admin:view_on_site", args=[ContentType.objects.get_for_model(risk).pk, risk.pk]
        ),
        "admin:app_list": reverse("admin:app_list", kwargs={"app_label": "risks"}),
        "admin/(?P<url>.*)$": "/admin/no-such-page/",
        "admin-moved": "/admin/projects/notification/",
    }
    path = paths.get(route.key) or reverse(route.name)
    for method in ("GET", "POST"):
        case = f"admin {method} {route.key}"
        if kind == "public":
            wanted = {LET_THROUGH}
        elif method not in answered and staff:
            wanted = {NO_METHOD}
        elif kind == "logout":
            # Logging out is a POST; those not signed in to the admin are sent to it.
            wanted = {LET_THROUGH if method == "POST" or not staff else NO_METHOD}
        elif not staff:
            wanted = {TO_LOGIN}
        elif kind == "autocomplete":
            wanted = {REFUSED}  # no model admin offers to autocomplete: every query is refused
        elif kind == "catch all":
            wanted = {HIDDEN}
        else:
            wanted = {LET_THROUGH}
        response, error = ask(client, method, path)
        got = error or outcome(response, surface="admin")
        if kind in ("logout", "public") and got in (HIDDEN, TO_LOGIN):
            got = LET_THROUGH  # sent on to the admin's index, or its login
        if kind == "logout" and user:
            client.force_login(user)
        matrix.check(case, wanted, got)


def approver_of(project):
    user = UserFactory(username=f"approver-of-{project.code}")
    MembershipFactory(user=user, project=project, role="approver")
    return user


@pytest.fixture
def world_for(request, project_a, project_b, alice, bob, carol, erin, victor, oscar, superuser):
    """The world as `role` sees it: both projects' plans, rows of the user's own."""

    def build(role: str) -> World:
        UserFactory(username="walter")  # a member of nothing: memberships and delegations name him
        plans = {
            WHERE[0]: plan_of(project_a, manager=alice, approver=carol),
            WHERE[1]: plan_of(project_b, manager=oscar, approver=approver_of(project_b)),
        }
        user = request.getfixturevalue(PERSONA[role]) if role != "anonymous" else None
        rows = user_rows(user or alice)
        others_token, _raw = api_token_create(user=oscar, name="Oscar's")
        return World(role=role, user=user, plans=plans, rows=rows, others_token=others_token)

    return build


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_its_rule_says(role, world_for):
    world = world_for(role)
    client = Client()
    if world.user is not None:
        client.force_login(world.user)
    routes = url_map()
    matrix = Matrix()
    check_site_and_api(matrix, client, world, routes)
    check_admin(matrix, client, world, routes)
    mismatches = matrix.mismatches()
    assert not mismatches, f"{len(mismatches)} of {len(matrix.observed)} cases:\n" + "\n".join(
        mismatches
    )
    # The matrix is not one answer everywhere: each signed-in role is let through somewhere
    # and, but for superusers, kept out of the other project.
    outcomes = set(matrix.observed.values())
    if world.user is None:
        assert outcomes >= {TO_LOGIN, UNAUTHENTICATED}
    else:
        assert LET_THROUGH in outcomes
        if not world.user.is_superuser:
            assert HIDDEN in outcomes  # the other project's objects
