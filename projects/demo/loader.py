"""Load the demo programme: the three plans in ../shared/plans as Waymark projects.

Loading is idempotent: every object is looked up by its natural key and only created when
missing, so a second run adds nothing and never overwrites what users have changed since.
The plans' calendars are placed around the day of the first load so that the programme is
under way: AAD in its fifth week, the provider API in its eleventh, Sprint 8 starting next
Monday.
"""

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from gates import services as gate_services
from gates.models import Gate, GateApprover, GateCriterion, GateState
from metrics.models import KPI, MetricSource, SourceKind
from projects.demo import aad, demo_databases, provider_api, sprint8
from projects.models import ChecklistItem, Membership, Phase, Programme, Project, Role
from risks import services as risk_services
from risks.models import MitigationAction, Risk

PROGRAMME = {
    "slug": "platform-migrations",
    "name": "Platform Migrations",
    "description": (
        "The migrations under way this year: the analytics dashboard's move to a dedicated "
        "service, the provider API's move off Redis onto PostgreSQL, and Sprint 8's hardening, "
        "agent metrics and webhooks tracks."
    ),
}
PLANS = (aad.PLAN, provider_api.PLAN, sprint8.PLAN)

# username: (first name, last name, title, staff, superuser, role on the programme)
USERS = {
    # Family name first, as the plan writes it: Nguyen Thanh Phuong.
    "pm": ("Nguyen Thanh", "Phuong", "Project Manager", True, False, Role.MANAGER),
    "contributor": ("Chris", "Lee", "Backend Engineer", True, False, None),
    "approver": ("Alex", "Morgan", "Engineering Manager", False, False, Role.APPROVER),
    "exec": ("Sam", "Whitfield", "CTO", False, False, Role.EXECUTIVE),
    "viewer": ("Robin", "Park", "Account Manager", False, False, None),
    "admin": ("Ada", "Admin", "Portal administrator", True, True, None),
}
# Roles held on one project only: (username, project code, role).
PROJECT_MEMBERSHIPS = [
    ("contributor", "PROVIDER-API", Role.CONTRIBUTOR),
    ("contributor", "SPRINT-8", Role.CONTRIBUTOR),
    ("viewer", "AAD", Role.VIEWER),
]


@dataclass
class DemoLoadResult:
    created: Counter = field(default_factory=Counter)
    passwords: dict[str, str] = field(default_factory=dict)


class _Loader:
    def __init__(self, *, today: date, reset_passwords: bool) -> None:
        self.today = today
        self.monday = today - timedelta(days=today.weekday())
        self.reset_passwords = reset_passwords
        self.result = DemoLoadResult()

    def _get_or_create(self, model, defaults=None, **lookup):
        obj, created = model.objects.get_or_create(defaults=defaults or {}, **lookup)
        if created:
            self.result.created[model._meta.verbose_name_plural] += 1
        return obj, created

    def load(self) -> DemoLoadResult:
        users = self._users()
        programme, _ = self._get_or_create(
            Programme,
            slug=PROGRAMME["slug"],
            defaults={"name": PROGRAMME["name"], "description": PROGRAMME["description"]},
        )
        for username, (*_, role) in USERS.items():
            if role:
                self._get_or_create(
                    Membership, user=users[username], programme=programme, role=role
                )
        projects = {}
        for plan in PLANS:
            project = self._project(programme, plan, manager=users["pm"], pm=users["pm"])
            projects[project.code] = project
        for username, code, role in PROJECT_MEMBERSHIPS:
            self._get_or_create(Membership, user=users[username], project=projects[code], role=role)
        self._live_sources(projects)
        return self.result

    def _live_sources(self, projects: dict) -> None:
        """Sources that collect with nothing else running: probes of the portal's own health
        endpoint, and a row-count reconciliation between two demo databases."""
        demo_databases.ensure_created()
        health = f"{settings.SITE_URL}/health/"
        provider_api, aad = projects["PROVIDER-API"], projects["AAD"]
        legacy_count = self._input_kpi(
            provider_api, "Row count: providers in the Redis export", "demo-legacy"
        )
        migrated_count = self._input_kpi(
            provider_api, "Row count: providers in PostgreSQL", "demo-new"
        )
        inputs = {"legacy": legacy_count.pk, "migrated": migrated_count.pk}
        wiring = [
            (
                aad,
                "Analytics API response time",
                SourceKind.HTTP_PROBE,
                {"url": health, "requests": 5, "measure": "p95_ms"},
                30,
            ),
            (
                provider_api,
                "API availability during migration",
                SourceKind.HTTP_PROBE,
                {"url": health, "requests": 5, "measure": "success_rate"},
                30,
            ),
            (
                provider_api,
                "Data migration validation pass rate",
                SourceKind.DERIVED,
                {"expression": "migrated / legacy * 100", "inputs": inputs},
                60,
            ),
            (
                provider_api,
                "Dual-write data drift rate",
                SourceKind.DERIVED,
                {"expression": "abs(legacy - migrated) / legacy * 100", "inputs": inputs},
                60,
            ),
        ]
        for project, name, kind, config, seconds in wiring:
            kpi = KPI.objects.get(project=project, name=name)
            self._source(kpi, kind, config, seconds)

    def _input_kpi(self, project: Project, name: str, database: str) -> KPI:
        kpi, _ = self._get_or_create(
            KPI,
            project=project,
            name=name,
            defaults={
                "kind": "leading",
                "category": "technical",
                "unit": "rows",
                "method": f"Counts the rows of the providers table on the '{database}' database",
                "description": "Input of the reconciliation: the row counts the plan compares "
                "before and after the migration.",
                "cadence": timedelta(minutes=5),
                "owner_title": "Backend Lead",
            },
        )
        self._source(
            kpi,
            SourceKind.SQL,
            {"database": database, "query": "SELECT count(*) FROM providers"},
            60,
        )
        return kpi

    def _source(self, kpi: KPI, kind: str, config: dict, seconds: int) -> None:
        if kpi.sources.filter(is_active=True).exists():
            return
        source = MetricSource(
            kpi=kpi,
            kind=kind,
            config=config,
            interval=timedelta(seconds=seconds),
            next_due_at=timezone.now(),
        )
        source.full_clean()
        source.save()
        self.result.created[MetricSource._meta.verbose_name_plural] += 1

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        for username, (first, last, _title, staff, superuser, _role) in USERS.items():
            user, created = self._get_or_create(
                User,
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@waymark.localhost",
                    "is_staff": staff,
                    "is_superuser": superuser,
                },
            )
            if created or self.reset_passwords:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save(update_fields=["password"])
                self.result.passwords[username] = password
            users[username] = user
        return users

    def _day(self, start: date, offset: int, working_days: bool) -> date:
        if not working_days:
            return start + timedelta(days=offset)
        if offset < 0:
            return start - timedelta(days=3)  # the Friday before a Monday start
        weeks, days = divmod(offset, 5)
        return start + timedelta(weeks=weeks, days=days)

    def _project(self, programme: Programme, plan: dict, *, manager, pm) -> Project:
        data = plan["project"]
        start = self.monday - timedelta(weeks=plan["start_weeks_ago"])
        working = data.get("working_days", False)

        def day(offset):
            return self._day(start, offset, working)

        fields = {
            key: value
            for key, value in data.items()
            if key not in {"code", "baseline_days", "forecast_end_day", "working_days"}
        }
        project, created = self._get_or_create(
            Project,
            programme=programme,
            code=data["code"],
            defaults={
                **fields,
                "manager": manager,
                "baseline_start": day(data["baseline_days"][0]),
                "baseline_end": day(data["baseline_days"][1]),
                "target_delivery": day(data["baseline_days"][1]),
                "forecast_end": day(data["forecast_end_day"]),
            },
        )
        if created:
            project.full_clean()
        phases = {phase["order"]: self._phase(project, phase, day, pm) for phase in plan["phases"]}
        for risk in plan["risks"]:
            self._risk(project, risk, start, pm)
        # The KPIs a critical go / no-go criterion judges are the plan's critical KPIs.
        critical = {
            ref
            for gate in plan["gates"]
            for (_text, kind, is_critical, ref, _comparator, _threshold) in gate["criteria"]
            if kind == "kpi" and is_critical
        }
        kpis = {
            kpi["name"]: self._kpi(project, kpi, phases, critical=kpi["name"] in critical)
            for kpi in plan["kpis"]
        }
        for gate in plan["gates"]:
            self._gate(project, gate, day, phases, kpis, pm)
        return project

    def _phase(self, project: Project, data: dict, day, pm) -> Phase:
        phase, _ = self._get_or_create(
            Phase,
            project=project,
            order=data["order"],
            defaults={
                "name": data["name"],
                "timing": data["timing"],
                "goal": data["goal"],
                "status": data["status"],
                "resource_needs": data["resource_needs"],
                "success_criteria": data["success_criteria"],
                "baseline_start": day(data["baseline_days"][0]),
                "baseline_end": day(data["baseline_days"][1]),
                "forecast_start": day(data["forecast_days"][0]),
                "forecast_end": day(data["forecast_days"][1]),
                "actual_end": day(data["actual_end_day"]) if "actual_end_day" in data else None,
            },
        )
        for order, (section, kind, title, owner_title, due_day, done) in enumerate(
            data["items"], start=1
        ):
            due = day(due_day)
            self._get_or_create(
                ChecklistItem,
                phase=phase,
                section=section,
                title=title,
                defaults={
                    "order": order,
                    "kind": kind,
                    "owner_title": owner_title,
                    "due": due,
                    "done": done,
                    "done_at": self._at(min(due, self.today)) if done else None,
                    "done_by": pm if done else None,
                },
            )
        return phase

    def _at(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(16, 30)))

    def _risk(self, project: Project, data: dict, start: date, pm) -> None:
        risk = Risk.objects.filter(project=project, key=data["key"]).first()
        if risk is None:
            fields = {key: value for key, value in data.items() if key not in {"key", "actions"}}
            risk = risk_services.risk_create(
                project=project,
                key=data["key"],
                by=pm,
                reason="Assessed in the plan.",
                assessed_at=self._at(start),
                # Reviewed weekly, as the plans' escalation procedures have it.
                review_by=self.monday + timedelta(days=4 + 7),
                **fields,
            )
            self.result.created[Risk._meta.verbose_name_plural] += 1
        for order, title in enumerate(data.get("actions", ()), start=1):
            self._get_or_create(
                MitigationAction,
                risk=risk,
                title=title,
                defaults={"order": order, "owner_title": risk.owner_title},
            )

    def _kpi(self, project: Project, data: dict, phases: dict, *, critical: bool) -> KPI:
        fields = {
            key: value
            for key, value in data.items()
            if key not in {"name", "phase", "cadence_days"}
        }
        kpi, created = self._get_or_create(
            KPI,
            project=project,
            name=data["name"],
            defaults={
                **fields,
                "phase": phases.get(data.get("phase")),
                "cadence": timedelta(days=data["cadence_days"]),
                "critical": critical,
            },
        )
        if created:
            kpi.full_clean()
        return kpi

    def _gate(self, project: Project, data: dict, day, phases: dict, kpis: dict, pm) -> None:
        gate, created = self._get_or_create(
            Gate,
            project=project,
            name=data["name"],
            defaults={
                "order": data["order"],
                "kind": data["kind"],
                "rollout_percent": data.get("rollout_percent"),
                "phase": phases.get(data.get("phase")),
                "timing": data.get("timing", ""),
                "due_date": day(data["due_day"]),
                "state": GateState.DRAFT,
                "description": data.get("description", ""),
            },
        )
        for title, role in data["approvers"]:
            self._get_or_create(GateApprover, gate=gate, title=title, defaults={"role": role})
        for order, (text, kind, critical, ref, comparator, threshold) in enumerate(
            data["criteria"], start=1
        ):
            self._get_or_create(
                GateCriterion,
                gate=gate,
                text=text,
                defaults={
                    "order": order,
                    "kind": kind,
                    "critical": critical,
                    "kpi": kpis[ref] if kind == "kpi" else None,
                    "phase": phases[ref] if kind == "checklist" else None,
                    "comparator": comparator,
                    "threshold": threshold,
                    # A rollout stage's KPI criteria are its rollback triggers once it is live.
                    "rollback": data["kind"] == "rollout_stage" and kind == "kpi",
                },
            )
        if created and data.get("state") == GateState.OPEN:
            gate_services.gate_open(gate=gate, by=pm)  # opened as its trail records


@transaction.atomic
def demo_load(*, today: date | None = None, reset_passwords: bool = False) -> DemoLoadResult:
    """Create whatever of the demo programme is missing; report what was created and the
    passwords set (for new users, or all demo users with `reset_passwords`)."""
    loader = _Loader(today=today or timezone.localdate(), reset_passwords=reset_passwords)
    return loader.load()
