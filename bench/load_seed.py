"""The load run's programme: a few projects, an account for every simulated person, gates
opened through the gate services with three named approvers each, and KPIs whose sources a
real Celery worker polls on a loopback HTTP endpoint.

Managers edit the first projects (`HOT_PROJECTS`), so that their saves meet; approvers share
the gates, three to a gate; executives read everything."""

import itertools
import math
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.tokens import api_token_create
from gates import services as gate_services
from gates.models import Gate, GateApprover, GateCriterion
from metrics.models import KPI, MetricSource
from projects.models import ChecklistItem, Membership, Phase, Programme, Project
from risks.models import Risk, RiskKeySequence

PASSWORD = "load-run-password"  # the load run's accounts only, in its own database
PROJECTS = 6
HOT_PROJECTS = 2  # the projects (and their risks and phases) every manager edits
PHASES_PER_PROJECT = 3
RISKS_PER_PROJECT = 3
KPIS_PER_PROJECT = 2
APPROVERS_PER_GATE = 3
SOURCE_INTERVAL = timedelta(seconds=10)  # the shortest a source may be polled at


@dataclass
class Plan:
    """What the simulated people act on: sent to the load generator as JSON."""

    programme: str
    password: str
    people: dict[str, int]
    accounts: dict[str, list[str]]
    tokens: dict[str, str]  # username → personal API token, for managers and approvers
    projects: list[int]
    hot_projects: list[int]
    hot_risks: list[int]
    hot_phases: list[int]
    gates: dict[str, list[str]]  # gate id → the usernames of its approvers
    initial: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


# The simulated people: their share of the users, and who is added first when the shares
# leave some over.
PEOPLE_SHARES = {"api_manager": 0.3, "page_manager": 0.2, "approver": 0.25, "executive": 0.25}
REMAINDER_ORDER = ["approver", "api_manager", "executive", "page_manager"]


def people_for(users: int) -> dict[str, int]:
    """How many of each kind of person for `users` in all, with at least one of each."""
    counts = {kind: max(1, int(users * share)) for kind, share in PEOPLE_SHARES.items()}
    for kind in itertools.cycle(REMAINDER_ORDER):
        if sum(counts.values()) >= users:
            return counts
        counts[kind] += 1


def accounts_for(people: dict[str, int]) -> dict[str, int]:
    """Accounts per role: one for each person, so that no two share a login, and enough
    approvers to fill a gate's slots."""
    return {
        "manager": people["api_manager"] + people["page_manager"],
        "approver": max(APPROVERS_PER_GATE, people["approver"]),
        "executive": people["executive"],
    }


def gates_for(approvers: int, duration: float) -> int:
    """Enough gates that approvers signing one every few seconds do not run out."""
    return max(4, min(400, math.ceil(approvers * duration / 4 / APPROVERS_PER_GATE)))


def _accounts(counts: dict[str, int]) -> dict[str, list]:
    User = get_user_model()
    hashed = make_password(PASSWORD)  # hashed once: every account has the same password
    made = {role: [] for role in counts}
    rows = []
    for role, count in counts.items():
        for n in range(count):
            user = User(
                username=f"load-{role}-{n}",
                first_name=role.title(),
                last_name=str(n),
                password=hashed,
                is_staff=role == "manager",
            )
            rows.append(user)
            made[role].append(user.username)
    User.objects.bulk_create(rows)
    by_name = {user.username: user for user in User.objects.filter(username__startswith="load-")}
    return {role: [by_name[name] for name in names] for role, names in made.items()}


@transaction.atomic
def _structure(*, users: dict[str, list], gate_count: int, source_url: str):
    today = timezone.localdate()
    programme = Programme.objects.create(name="Load programme", slug="load-programme")
    Membership.objects.bulk_create(
        [
            Membership(user=user, programme=programme, role=role)
            for role, people in users.items()
            for user in people
        ]
    )
    projects = Project.objects.bulk_create(
        [
            Project(
                programme=programme,
                code=f"L{n}",
                name=f"Load migration {n}",
                status="in_progress",
                baseline_start=today - timedelta(days=30),
                baseline_end=today + timedelta(days=60),
                forecast_end=today + timedelta(days=62),
                budget_planned=100_000,
                budget_spent=0,
                manager=users["manager"][0],
                manager_name="Manager 0",
            )
            for n in range(PROJECTS)
        ]
    )
    phases = Phase.objects.bulk_create(
        [
            Phase(
                project=project,
                order=order,
                name=f"Phase {order}",
                timing=f"Week {order}",
                baseline_start=today + timedelta(days=14 * (order - 1)),
                baseline_end=today + timedelta(days=14 * order - 1),
                forecast_start=today + timedelta(days=14 * (order - 1)),
                forecast_end=today + timedelta(days=14 * order - 1),
                status="in_progress" if order == 1 else "not_started",
            )
            for project in projects
            for order in range(1, PHASES_PER_PROJECT + 1)
        ]
    )
    ChecklistItem.objects.bulk_create(
        [
            ChecklistItem(phase=phase, order=n, title=f"Task {n} of {phase.name}")
            for phase in phases
            for n in (1, 2)
        ]
    )
    risks = Risk.objects.bulk_create(
        [
            Risk(
                project=project,
                key=f"R{n}",
                title=f"Risk {n} of {project.code}",
                category="technical",
                likelihood=2,
                impact=3,
                status="open",
                review_by=today + timedelta(days=30),
                mitigation="Rehearse in staging.",
            )
            for project in projects
            for n in range(1, RISKS_PER_PROJECT + 1)
        ]
    )
    RiskKeySequence.objects.bulk_create(
        [RiskKeySequence(project=project, last_number=RISKS_PER_PROJECT) for project in projects]
    )
    kpis = KPI.objects.bulk_create(
        [
            KPI(
                project=project,
                name=f"p95 latency {n} of {project.code}",
                unit="ms",
                comparator="lt",
                target_value=150,
                warning_value=130,
                critical=n == 0,
            )
            for project in projects
            for n in range(KPIS_PER_PROJECT)
        ]
    )
    MetricSource.objects.bulk_create(
        [
            MetricSource(
                kpi=kpi,
                kind="http_json",
                config={"url": source_url, "json_path": "data.p95_ms"},
                interval=SOURCE_INTERVAL,
            )
            for kpi in kpis
        ]
    )
    gates = Gate.objects.bulk_create(
        [
            Gate(
                project=projects[n % PROJECTS],
                phase=phases[(n % PROJECTS) * PHASES_PER_PROJECT],
                order=n // PROJECTS + 1,
                name=f"Gate {n}",
                kind="phase_exit",
                due_date=today + timedelta(days=7),
            )
            for n in range(gate_count)
        ]
    )
    first_kpi = {kpi.project_id: kpi for kpi in reversed(kpis)}
    GateCriterion.objects.bulk_create(
        [
            criterion
            for gate in gates
            for criterion in (
                GateCriterion(
                    gate=gate,
                    order=1,
                    text="p95 latency under 150 ms",
                    kind="kpi",
                    kpi=first_kpi[gate.project_id],
                    comparator="lt",
                    threshold=150,
                    critical=True,
                ),
                GateCriterion(gate=gate, order=2, text="Runbook rehearsed", kind="manual"),
            )
        ]
    )
    approvers = users["approver"]
    slots = {}
    rows = []
    for n, gate in enumerate(gates):
        chosen = [approvers[(n + k) % len(approvers)] for k in range(APPROVERS_PER_GATE)]
        slots[str(gate.pk)] = [user.username for user in chosen]
        rows += [
            GateApprover(gate=gate, title=f"Approver {k}", user=u) for k, u in enumerate(chosen)
        ]
    GateApprover.objects.bulk_create(rows)
    return programme, projects, phases, risks, gates, slots


def seed(*, people: dict[str, int], duration: float, source_url: str) -> Plan:
    """Write the load run's programme for `people` (see `people_for`) into the (empty,
    migrated) database."""
    counts = accounts_for(people)
    accounts = _accounts(counts)
    programme, projects, phases, risks, gates, slots = _structure(
        users=accounts,
        gate_count=gates_for(counts["approver"], duration),
        source_url=source_url,
    )
    for gate in gates:  # through the service, so that every gate's trail starts as it should
        gate_services.gate_open(gate=gate, by=accounts["manager"][0])
    tokens = {
        user.username: api_token_create(user=user, name="Load run")[1]
        for role in ("manager", "approver")
        for user in accounts[role]
    }
    hot = projects[:HOT_PROJECTS]
    hot_ids = {project.pk for project in hot}
    return Plan(
        programme=programme.slug,
        password=PASSWORD,
        people=people,
        accounts={role: [user.username for user in people] for role, people in accounts.items()},
        tokens=tokens,
        projects=[project.pk for project in projects],
        hot_projects=sorted(hot_ids),
        hot_risks=[risk.pk for risk in risks if risk.project_id in hot_ids],
        hot_phases=[phase.pk for phase in phases if phase.project_id in hot_ids][:4],
        gates=slots,
        initial={
            "budget_spent": {str(project.pk): str(project.budget_spent) for project in projects},
            "sign_offs": 0,
        },
    )
