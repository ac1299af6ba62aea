"""Load the demo programme: the three plans in demo/data/plans, imported from their Markdown
as a project manager would, then brought to where the team stands today, as demo/data/*.yaml
records it.

Loading is idempotent: a project already there is not imported again, and of the team's state
only what is missing is created, so a second run adds nothing and never overwrites what users
have changed since.
The plans' calendars are placed around the day of the first load so that the programme is
under way: AAD in its fifth week, the provider API in its eleventh, Sprint 8 starting next
Monday.
"""

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Profile
from demo import demo_databases
from demo.models import DemoLogin
from gates import services as gate_services
from gates.evidence import current_token
from gates.models import ApproverGroup, Gate, GateApprover, GateCriterion, GateState
from gates.staleness import gate_approvals_watch
from metrics.models import KPI, MetricSource, SourceKind
from plans.markdown.build import ImportOptions, plan_import, plan_read
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
DATA = Path(__file__).resolve().parent / "data"
PLAN_FILES = DATA / "plans"
# The team's state on each plan, in the order the projects are loaded.
PLAN_STATES = ("aad.yaml", "provider-api.yaml", "sprint8.yaml")
# What the team fills in where the plan says nothing; everything else of theirs is state
# (dates, progress, assessments, thresholds) that the plan cannot hold.
FILLED_IF_BLANK = {
    "project": ("summary", "approach", "approach_rationale", "manager_name", "stakeholders"),
    "phase": ("timing", "goal", "resource_needs", "success_criteria"),
    "kpi": ("baseline_text", "target_text", "method", "owner_title"),
}

# username: (first name, last name, title, staff, superuser, role on the programme)
USERS = {
    # Family name first, as the plan writes it: Nguyen Thanh Phuong.
    "pm": ("Nguyen Thanh", "Phuong", "Project Manager", True, False, Role.MANAGER),
    "contributor": ("Chris", "Lee", "Backend Engineer", True, False, None),
    "approver": ("Alex", "Morgan", "Engineering Manager", False, False, Role.APPROVER),
    # A second approver: a gate with two approver slots needs two different people.
    "product": ("Jordan", "Reyes", "Head of Product", False, False, Role.APPROVER),
    "exec": ("Sam", "Whitfield", "CTO", False, False, Role.EXECUTIVE),
    "viewer": ("Robin", "Park", "Account Manager", False, False, None),
    "admin": ("Ada", "Admin", "Portal administrator", True, True, None),
}
# Demo users who read dates and times in a zone of their own (the others: the portal's).
TIME_ZONES = {"approver": "Europe/Berlin"}
# The one password of every demo user, documented in README.md and shown on the login page of
# a portal running the demo with DEBUG on. Set only with DEBUG on (or when explicitly asked):
# anyone who has read the README can use it.
DEMO_PASSWORD = "follow-the-signposts"  # noqa: S105
# What marks a user as the demo's: the address the loader gives it (.localhost reaches nobody).
DEMO_EMAIL_DOMAIN = "waymark.localhost"
# Roles held on one project only: (username, project code, role).
PROJECT_MEMBERSHIPS = [
    ("contributor", "PROVIDER-API", Role.CONTRIBUTOR),
    ("contributor", "SPRINT-8", Role.CONTRIBUTOR),
    ("viewer", "AAD", Role.VIEWER),
]


def _plans() -> list[dict]:
    return [yaml.safe_load((DATA / name).read_text(encoding="utf-8")) for name in PLAN_STATES]


@dataclass
class DemoLoadResult:
    created: Counter = field(default_factory=Counter)
    passwords: dict[str, str] = field(default_factory=dict)
    # Users of a demo username that the demo did not make: their passwords are left alone.
    not_demo_users: list[str] = field(default_factory=list)
    # Whether the passwords set are the documented DEMO_PASSWORD (else random ones).
    demo_password: bool = False


def demo_logins() -> list[tuple[str, str]]:
    """(username, role) of the demo users whose password is DEMO_PASSWORD, in USERS' order."""
    holders = set(
        DemoLogin.objects.filter(user__username__in=USERS).values_list("user__username", flat=True)
    )
    return [(username, USERS[username][2]) for username in USERS if username in holders]


class _Loader:
    def __init__(self, *, today: date, reset_passwords: bool, demo_password: bool) -> None:
        self.today = today
        self.monday = today - timedelta(days=today.weekday())
        self.reset_passwords = reset_passwords
        self.result = DemoLoadResult(demo_password=demo_password)

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
        for plan in _plans():
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
                    "email": f"{username}@{DEMO_EMAIL_DOMAIN}",
                    "is_staff": staff,
                    "is_superuser": superuser,
                },
            )
            if user.email != f"{username}@{DEMO_EMAIL_DOMAIN}":
                self.result.not_demo_users.append(username)
            else:
                if created or self.reset_passwords:
                    self._set_password(user)
                if username in TIME_ZONES:
                    self._get_or_create(
                        Profile, user=user, defaults={"time_zone": TIME_ZONES[username]}
                    )
            users[username] = user
        return users

    def _set_password(self, user) -> None:
        """The demo password (recorded, for the login page), or a random one when it may not
        be used."""
        password = DEMO_PASSWORD if self.result.demo_password else secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        if self.result.demo_password:
            DemoLogin.objects.update_or_create(
                user=user, defaults={"password_set_at": timezone.now()}
            )
        else:
            DemoLogin.objects.filter(user=user).delete()
        self.result.passwords[user.get_username()] = password

    def _day(self, start: date, offset: int, working_days: bool) -> date:
        if not working_days:
            return start + timedelta(days=offset)
        if offset < 0:
            return start - timedelta(days=3)  # the Friday before a Monday start
        weeks, days = divmod(offset, 5)
        return start + timedelta(weeks=weeks, days=days)

    def _project(self, programme: Programme, plan: dict, *, manager, pm) -> Project:
        """The plan imported from its Markdown document, then the team's work on it since:
        the calendar, progress, assessments, the KPIs and criteria they wired up. A project
        already there is left as its users have it; only what is missing is added back."""
        data = plan["project"]
        start = self.monday - timedelta(weeks=plan["start_weeks_ago"])
        working = data.get("working_days", False)

        def day(offset):
            return self._day(start, offset, working)

        project = Project.objects.filter(programme=programme, code=data["code"]).first()
        fresh = project is None
        if fresh:
            project = self._import(programme, plan, start, pm)
            self._project_state(project, data, day, manager)
        phases = {phase.order: phase for phase in project.phases.all()}
        for phase in plan["phases"]:
            if phase["order"] in phases and fresh:
                self._phase_state(phases[phase["order"]], phase, day)
            for item in phase["items"]:
                self._item(project, phases.get(phase["order"]), item, day, pm, fresh=fresh)
        for risk in plan["risks"]:
            self._risk(project, risk, start, pm, fresh=fresh)
        if fresh:
            self._name_as_the_team_does(KPI, project, plan["kpis_from_plan"])
            self._name_as_the_team_does(Gate, project, plan["gates_from_plan"])
        # The KPIs a critical go / no-go criterion judges are the plan's critical KPIs.
        critical = {
            ref
            for gate in plan["gates"]
            for (_text, kind, is_critical, ref, _comparator, _threshold) in gate["criteria"]
            if kind == "kpi" and is_critical
        }
        kpis = {
            kpi["name"]: self._kpi(
                project, kpi, phases, critical=kpi["name"] in critical, fresh=fresh
            )
            for kpi in plan["kpis"]
        }
        for gate in plan["gates"]:
            self._gate(project, gate, day, phases, kpis, pm, fresh=fresh)
        if fresh:
            self._gate_order(project, plan["gates"])
        return project

    def _import(self, programme: Programme, plan: dict, start: date, pm) -> Project:
        document = plan_read((PLAN_FILES / plan["file"]).read_bytes())
        project = plan_import(
            plan=document,
            options=ImportOptions(
                programme=programme, start_date=start, code=plan["project"]["code"], by=pm
            ),
        )
        labels = {
            "phases": Phase,
            "checklist_items": ChecklistItem,
            "risks": Risk,
            "kpis": KPI,
            "gates": Gate,
            "gate_criteria": GateCriterion,
        }
        self.result.created[Project._meta.verbose_name_plural] += 1
        for kind, count in document.counts().items():
            self.result.created[labels[kind]._meta.verbose_name_plural] += count
        return project

    def _project_state(self, project: Project, data: dict, day, manager) -> None:
        """Where the project stands: its calendar, status and budget as the team keeps them;
        what the plan left blank, filled in."""
        project.manager = manager
        project.baseline_start = day(data["baseline_days"][0])
        project.baseline_end = project.target_delivery = day(data["baseline_days"][1])
        project.forecast_end = day(data["forecast_end_day"])
        for field_name in ("name", "status", "budget_planned", "budget_spent", "currency"):
            setattr(project, field_name, data[field_name])
        for field_name in FILLED_IF_BLANK["project"]:
            if not getattr(project, field_name) and data.get(field_name):
                setattr(project, field_name, data[field_name])
        project.full_clean()
        project.save()

    def _phase_state(self, phase: Phase, data: dict, day) -> None:
        phase.status = data["status"]
        phase.baseline_start, phase.baseline_end = map(day, data["baseline_days"])
        phase.forecast_start, phase.forecast_end = map(day, data["forecast_days"])
        phase.actual_end = day(data["actual_end_day"]) if "actual_end_day" in data else None
        for field_name in FILLED_IF_BLANK["phase"]:
            if not getattr(phase, field_name) and data.get(field_name):
                setattr(phase, field_name, data[field_name])
        phase.full_clean()
        phase.save()

    def _item(self, project: Project, phase: Phase | None, data: tuple, day, pm, *, fresh) -> None:
        """An item of the plan, with its owner, due date and done state; one the plan does
        not list (the team added it) is created."""
        section, kind, title, owner_title, due_day, done = data
        if phase is None:  # the phase was removed from the plan since
            return
        due = day(due_day)
        state = {
            "phase": phase,
            "kind": kind,
            "owner_title": owner_title,
            "due": due,
            "done": done,
            "done_at": self._at(min(due, self.today)) if done else None,
            "done_by": pm if done else None,
        }
        item = ChecklistItem.objects.filter(
            phase__project=project, title__iexact=title, deleted_at__isnull=True
        ).first()
        if item is None:
            self._get_or_create(
                ChecklistItem,
                phase=phase,
                section=section,
                title=title,
                defaults={**state, "order": phase.checklist_items.count() + 1},
            )
        elif fresh:
            for field_name, value in state.items():
                setattr(item, field_name, value)
            item.save()

    def _name_as_the_team_does(self, model, project: Project, names: dict[str, str]) -> None:
        for ours, the_plans in names.items():
            model.objects.filter(project=project, name=the_plans).update(name=ours)

    def _gate_order(self, project: Project, gates: list[dict]) -> None:
        """The gates in the team's order; the plan's others after them, as the plan has them."""
        order = {gate["name"]: gate["order"] for gate in gates}
        rest = len(order)
        for gate in Gate.objects.filter(project=project).order_by("order", "pk"):
            if gate.name not in order:
                rest += 1
            Gate.objects.filter(pk=gate.pk).update(order=order.get(gate.name, rest))

    def _at(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(16, 30)))

    def _risk(self, project: Project, data: dict, start: date, pm, *, fresh: bool) -> None:
        """A risk of the plan as the team assessed it (under the key the team gave it); one
        missing from the register is entered again."""
        fields = {key: value for key, value in data.items() if key not in {"key", "actions"}}
        review_by = self.monday + timedelta(days=4 + 7)  # reviewed weekly, as the plans say
        risk = Risk.objects.filter(project=project, title__iexact=data["title"]).first()
        if risk is None:
            risk = risk_services.risk_create(
                project=project,
                key=data["key"],
                by=pm,
                reason="Assessed in the plan.",
                assessed_at=self._at(start),
                review_by=review_by,
                **fields,
            )
            self.result.created[Risk._meta.verbose_name_plural] += 1
        elif fresh:
            if risk.key != data["key"]:
                # Keys are unique per project: the one holding the team's key moves aside.
                Risk.objects.filter(project=project, key=data["key"]).update(key=f"~{risk.pk}")
                Risk.objects.filter(pk=risk.pk).update(key=data["key"])
                risk.refresh_from_db()
            description = fields.pop("description", "")
            risk = risk_services.risk_update(
                risk=risk,
                by=pm,
                reason="Assessed by the team.",
                review_by=review_by,
                description=risk.description or description,
                **fields,
            )
        for order, title in enumerate(data.get("actions", ()), start=1):
            self._get_or_create(
                MitigationAction,
                risk=risk,
                title=title,
                defaults={"order": order, "owner_title": risk.owner_title},
            )

    def _kpi(self, project: Project, data: dict, phases: dict, *, critical: bool, fresh: bool):
        """A KPI of the plan with what the team set up to measure it (unit, thresholds,
        cadence, the phase it judges); one the team added is created."""
        fields = {
            key: value
            for key, value in data.items()
            if key not in {"name", "phase", "cadence_days"}
        }
        state = {
            **fields,
            "phase": phases.get(data.get("phase")),
            "cadence": timedelta(days=data["cadence_days"]),
            "critical": critical,
        }
        kpi, created = self._get_or_create(KPI, project=project, name=data["name"], defaults=state)
        if fresh and not created:
            for field_name, value in state.items():
                if field_name in FILLED_IF_BLANK["kpi"] and getattr(kpi, field_name):
                    continue
                setattr(kpi, field_name, value)
            kpi.full_clean()
            kpi.save()
        elif created:
            kpi.full_clean()
        return kpi

    def _gate(self, project, data: dict, day, phases: dict, kpis: dict, pm, *, fresh) -> None:
        """A gate of the plan with its approvers, due date and criteria wired to the KPIs and
        checklists that judge them; a criterion the plan states is kept as it reads."""
        state = {
            "order": data["order"],
            "kind": data["kind"],
            "rollout_percent": data.get("rollout_percent"),
            "phase": phases.get(data.get("phase")),
            "timing": data.get("timing", ""),
            "due_date": day(data["due_day"]),
            "description": data.get("description", ""),
        }
        gate, created = self._get_or_create(
            Gate,
            project=project,
            name=data["name"],
            defaults={**state, "state": GateState.DRAFT},
        )
        if fresh and not created:
            state["description"] = gate.description or state["description"]
            for field_name, value in state.items():
                setattr(gate, field_name, value)
            gate.full_clean()
            gate.save()
        groups = {}
        for order, (name, rule, quorum, veto) in enumerate(data.get("groups", []), start=1):
            groups[name], _ = self._get_or_create(
                ApproverGroup,
                gate=gate,
                name=name,
                defaults={"order": order, "rule": rule, "quorum": quorum, "veto": veto},
            )
        for title, role, *group in data["approvers"]:
            self._get_or_create(
                GateApprover,
                gate=gate,
                title=title,
                defaults={"role": role, "group": groups.get(group[0]) if group else None},
            )
        for text, kind, critical, ref, comparator, threshold in data["criteria"]:
            wiring = {
                "kind": kind,
                "critical": critical,
                "kpi": kpis[ref] if kind == "kpi" else None,
                "phase": phases[ref] if kind == "checklist" else None,
                "comparator": comparator,
                "threshold": threshold,
                # A rollout stage's KPI criteria are its rollback triggers once it is live.
                "rollback": data["kind"] == "rollout_stage" and kind == "kpi",
            }
            criterion = GateCriterion.objects.filter(gate=gate, text__iexact=text).first()
            if criterion is None:
                last = gate.criteria.aggregate(last=Max("order"))["last"] or 0
                self._get_or_create(
                    GateCriterion, gate=gate, text=text, defaults={"order": last + 1, **wiring}
                )
            elif fresh:
                for field_name, value in wiring.items():
                    setattr(criterion, field_name, value)
                criterion.full_clean()
                criterion.save()
        if fresh and data.get("risks"):
            gate.risks.set(project.risks.filter(key__in=data["risks"]))
        if fresh and data.get("state") == GateState.OPEN:
            gate_services.gate_open(gate=gate, by=pm)  # opened as its trail records
            self._signatures(gate, data.get("signatures", []))
            self._since_the_decision(project, data.get("since_the_decision", []), pm)

    def _since_the_decision(self, project: Project, reassessments: list, pm) -> None:
        """Risks the team reassessed after the gate was decided ([key, likelihood, impact,
        why]); the watch over decided gates then judges whether their approval still holds."""
        for key, likelihood, impact, why in reassessments:
            risk = project.risks.get(key=key)
            risk_services.risk_update(
                risk=risk, by=pm, reason=why, likelihood=likelihood, impact=impact
            )
        if reassessments:
            gate_approvals_watch()

    def _signatures(self, gate: Gate, signatures: list) -> None:
        """The signatures the team gave, each as its signer gives one: with their password
        (known here only when the load created them), on the evidence as it stands."""
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        for username, decision, reason, *conditions in signatures:
            password = self.result.passwords.get(username)
            if password is None:
                continue  # an existing user: their signature is theirs to give
            gate_services.gate_sign(
                gate=gate,
                signer=get_user_model().objects.get(username=username),
                decision=decision,
                password=password,
                request=request,
                evidence_token=current_token(gate),
                override_reason=reason or "",
                conditions="\n".join(conditions),
                comment="" if reason else "Evidence reviewed.",
            )


@transaction.atomic
def demo_load(
    *,
    today: date | None = None,
    reset_passwords: bool = False,
    demo_password_without_debug: bool = False,
) -> DemoLoadResult:
    """Create whatever of the demo programme is missing; report what was created and the
    passwords set (for new users, or all demo users with `reset_passwords`): DEMO_PASSWORD
    with DEBUG on (or when `demo_password_without_debug` asks for it), else random ones. A
    user of a demo username that the demo did not make keeps its password."""
    loader = _Loader(
        today=today or timezone.localdate(),
        reset_passwords=reset_passwords,
        demo_password=settings.DEBUG or demo_password_without_debug,
    )
    return loader.load()
