"""A programme office at scale factor S, written straight into PostgreSQL.

At S=1: 200 projects, 1,500 phases, 10,000 checklist items, 3,000 risks with three assessments
each, 2,000 KPIs, 5,000,000 measurements (one KPI holds a year of minute data, the others the
last week or so at five-minute steps), 400 gates with criteria, approvers and sign-offs given
through the gate services (so their audit chains verify). Rows go in with bulk inserts, the
measurements with COPY."""

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from gates import services as gate_services
from gates.evidence import current_token
from gates.models import Gate, GateApprover, GateCriterion
from metrics.models import KPI, Measurement
from projects.models import ChecklistItem, Membership, Phase, Programme, Project
from risks.models import Risk, RiskAssessment, RiskKeySequence

PASSWORD = "bench-password"  # the benchmark's users only, in its own database
BASE = {
    "projects": 200,
    "phases": 1_500,
    "checklist_items": 10_000,
    "risks": 3_000,
    "kpis": 2_000,
    "measurements": 5_000_000,
    "gates": 400,
}
MINUTES_IN_A_YEAR = 365 * 24 * 60
APPROVERS = 10
COPY_ROWS_PER_CHUNK = 100_000


@dataclass(frozen=True)
class Scale:
    factor: float

    def count(self, kind: str) -> int:
        return max(1, round(BASE[kind] * self.factor))

    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in BASE}


@dataclass
class Generated:
    programme: Programme
    manager: object
    executive: object
    approver: object
    year_kpi: KPI
    counts: dict


def _spread(total: int, among: int) -> list[int]:
    """`total` split as evenly as can be into `among` whole parts."""
    each, extra = divmod(total, among)
    return [each + (1 if n < extra else 0) for n in range(among)]


def _users():
    User = get_user_model()
    made = {}
    for username, first, last in [
        ("bench-pm", "Priya", "Manager"),
        ("bench-exec", "Eli", "Executive"),
        *[(f"bench-approver-{n}", "Ana", f"Approver {n}") for n in range(APPROVERS)],
    ]:
        user = User(username=username, first_name=first, last_name=last, is_staff=True)
        user.set_password(PASSWORD)
        made[username] = user
    User.objects.bulk_create(made.values())
    return {user.username: user for user in User.objects.filter(username__in=made)}


def _copy_measurements(kpi_counts: list[tuple[int, int, timedelta]], now: datetime) -> int:
    """COPY (kpi, count, step) series ending at `now` into the measurements table."""
    rows = 0
    columns = "kpi_id, at, value, partial, note, recorded_at"
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY metrics_measurement ({columns}) FROM STDIN") as copy:
            for kpi_id, count, step in kpi_counts:
                start = now - step * count
                phase = (kpi_id % 17) / 17
                for n in range(count):
                    at = start + step * (n + 1)
                    value = 100 + 40 * math.sin(n / 288 * math.tau + phase) + (n * 7919 % 13)
                    copy.write_row((kpi_id, at, round(value, 3), False, "", now))
                rows += count
    return rows


@transaction.atomic
def _structure(scale: Scale, users: dict, today: date, rng: random.Random):
    programme = Programme.objects.create(name="Programme office", slug="programme-office")
    manager, executive = users["bench-pm"], users["bench-exec"]
    approvers = [users[f"bench-approver-{n}"] for n in range(APPROVERS)]
    Membership.objects.bulk_create(
        [
            Membership(user=manager, programme=programme, role="manager"),
            Membership(user=executive, programme=programme, role="executive"),
            *[Membership(user=a, programme=programme, role="approver") for a in approvers],
        ]
    )
    n_projects = scale.count("projects")
    projects = Project.objects.bulk_create(
        [
            Project(
                programme=programme,
                code=f"P{n:03d}",
                name=f"Migration {n:03d}: {rng.choice(['cache', 'ledger', 'search', 'auth'])}",
                status=rng.choice(["planning", "in_progress", "in_progress", "at_risk"]),
                baseline_start=today - timedelta(days=60 + n % 30),
                baseline_end=today + timedelta(days=60 + n % 45),
                forecast_end=today + timedelta(days=60 + n % 45 + rng.randint(-5, 30)),
                budget_planned=100_000 + 1_000 * (n % 50),
                budget_spent=40_000 + 1_500 * (n % 40),
                manager_name="Priya Manager",
            )
            for n in range(n_projects)
        ]
    )

    phases = []
    for project, count in zip(projects, _spread(scale.count("phases"), n_projects), strict=True):
        start = project.baseline_start
        for order in range(1, count + 1):
            end = start + timedelta(days=13)
            phases.append(
                Phase(
                    project=project,
                    order=order,
                    name=f"Phase {order}",
                    timing=f"Week {2 * order - 1}–{2 * order}",
                    baseline_start=start,
                    baseline_end=end,
                    forecast_start=start,
                    forecast_end=end + timedelta(days=rng.randint(0, 6)),
                    status="done" if end < today else "in_progress",
                    actual_end=end if end < today else None,
                )
            )
            start = end + timedelta(days=1)
    phases = Phase.objects.bulk_create(phases)

    items = []
    for phase, count in zip(
        phases, _spread(scale.count("checklist_items"), len(phases)), strict=True
    ):
        for order in range(1, count + 1):
            done = phase.status == "done" or rng.random() < 0.3
            items.append(
                ChecklistItem(
                    phase=phase,
                    order=order,
                    title=f"Task {order} of {phase.name}",
                    done=done,
                    done_at=timezone.now() if done else None,
                )
            )
    ChecklistItem.objects.bulk_create(items, batch_size=2_000)

    risks, assessments = [], []
    risk_counts = _spread(scale.count("risks"), n_projects)
    for project, count in zip(projects, risk_counts, strict=True):
        for number in range(1, count + 1):
            risks.append(
                Risk(
                    project=project,
                    key=f"R{number}",
                    title=f"Risk {number} of {project.code}",
                    category=rng.choice(["technical", "operational", "schedule", "financial"]),
                    likelihood=rng.randint(1, 5),
                    impact=rng.randint(1, 5),
                    status=rng.choice(["open", "open", "mitigating", "accepted", "closed"]),
                    review_by=today + timedelta(days=rng.randint(-10, 30)),
                    mitigation="Rehearse in staging; roll back by feature flag.",
                )
            )
    risks = Risk.objects.bulk_create(risks, batch_size=2_000)
    RiskKeySequence.objects.bulk_create(
        [
            RiskKeySequence(project=project, last_number=count)
            for project, count in zip(projects, risk_counts, strict=True)
        ]
    )
    now = timezone.now()
    for risk in risks:
        for weeks_ago, delta in ((8, 1), (4, 0), (0, 0)):
            assessments.append(
                RiskAssessment(
                    risk=risk,
                    assessed_at=now - timedelta(weeks=weeks_ago),
                    assessed_by=manager,
                    likelihood=min(5, risk.likelihood + delta),
                    impact=risk.impact,
                    status=risk.status,
                    reason="Weekly review",
                )
            )
    RiskAssessment.objects.bulk_create(assessments, batch_size=5_000)

    kpis = []
    for project, count in zip(projects, _spread(scale.count("kpis"), n_projects), strict=True):
        for n in range(count):
            kpis.append(
                KPI(
                    project=project,
                    name=f"KPI {n + 1} of {project.code}",
                    unit="ms",
                    comparator="lt",
                    target_value=150,
                    warning_value=130,
                    critical=n == 0,
                )
            )
    kpis = KPI.objects.bulk_create(kpis, batch_size=2_000)

    gates, criteria, gate_approvers = [], [], []
    gate_counts = _spread(scale.count("gates"), n_projects)
    first_phase = {}
    for phase in phases:
        first_phase.setdefault(phase.project_id, phase)
    for project, count in zip(projects, gate_counts, strict=True):
        for order in range(1, count + 1):
            gates.append(
                Gate(
                    project=project,
                    phase=first_phase.get(project.pk),
                    order=order,
                    name=f"Gate {order} of {project.code}",
                    kind="phase_exit" if order == 1 else "rollout_stage",
                    rollout_percent=None if order == 1 else min(100, 5 * order * order),
                    due_date=today + timedelta(days=7 * order),
                )
            )
    gates = Gate.objects.bulk_create(gates)
    kpi_of = {}
    for kpi in kpis:
        kpi_of.setdefault(kpi.project_id, kpi)
    for n, gate in enumerate(gates):
        criteria += [
            GateCriterion(
                gate=gate,
                order=1,
                text="p95 latency under 150 ms",
                kind="kpi",
                kpi=kpi_of[gate.project_id],
                comparator="lt",
                threshold=150,
                critical=True,
            ),
            GateCriterion(
                gate=gate,
                order=2,
                text="Phase checklist complete",
                kind="checklist",
                phase=gate.phase,
            ),
            GateCriterion(gate=gate, order=3, text="Runbook rehearsed", kind="manual"),
        ]
        gate_approvers.append(
            GateApprover(gate=gate, title="Engineering manager", user=approvers[n % APPROVERS])
        )
    GateCriterion.objects.bulk_create(criteria, batch_size=2_000)
    GateApprover.objects.bulk_create(gate_approvers)
    return programme, kpis, gates, approvers


def _sign_gates(gates: list[Gate], approvers: list, manager) -> int:
    """Open every gate through the gate services; the first half signed (decided GO) by
    their approver with a password, as on the gate page: their trails verify."""
    request = RequestFactory().post("/bench/", REMOTE_ADDR="127.0.0.1")
    signed = 0
    for n, gate in enumerate(gates):
        gate_services.gate_open(gate=gate, by=manager)
        if n % 2 == 0:
            gate_services.gate_sign(
                gate=gate,
                signer=approvers[n % APPROVERS],
                decision="approve",
                password=PASSWORD,
                evidence_token=current_token(gate),
                request=request,
                comment="Evidence reviewed.",
                # The runbook is not attested: the advice is INCONCLUSIVE, approved regardless.
                override_reason="Runbook rehearsal witnessed in the change meeting.",
            )
            signed += 1
    return signed


def generate(scale: Scale, *, seed: int = 8) -> Generated:
    """Write the programme office at `scale` into the (empty, migrated) database."""
    rng = random.Random(seed)
    today = timezone.localdate()
    users = _users()
    programme, kpis, gates, approvers = _structure(scale, users, today, rng)

    now = timezone.now().replace(second=0, microsecond=0).astimezone(UTC)
    total = scale.count("measurements")
    year_points = min(total, round(MINUTES_IN_A_YEAR * min(scale.factor, 1.0)))
    year_kpi = kpis[0]
    series = [(year_kpi.pk, year_points, timedelta(days=365) / year_points)]
    if len(kpis) > 1:
        rest = _spread(total - year_points, len(kpis) - 1)
        series += [
            (kpi.pk, count, timedelta(minutes=5)) for kpi, count in zip(kpis[1:], rest, strict=True)
        ]
    with transaction.atomic():
        rows = _copy_measurements(series, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    signed = _sign_gates(gates, approvers, users["bench-pm"])
    counts = {
        "projects": Project.objects.count(),
        "phases": Phase.objects.count(),
        "checklist_items": ChecklistItem.objects.count(),
        "risks": Risk.objects.count(),
        "risk_assessments": RiskAssessment.objects.count(),
        "kpis": KPI.objects.count(),
        "measurements": rows,
        "gates": Gate.objects.count(),
        "sign_offs": signed,
        "year_kpi_points": year_points,
    }
    if Measurement.objects.filter(kpi=year_kpi).count() != year_points:
        raise RuntimeError("the year of minute data was not written whole")
    return Generated(
        programme=programme,
        manager=users["bench-pm"],
        executive=users["bench-exec"],
        approver=approvers[1],
        year_kpi=year_kpi,
        counts=counts,
    )
