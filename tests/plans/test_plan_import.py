"""Importing migration plans written in Markdown: what is recognised in each sample plan, item
by item; a real import in one transaction; robustness to the shapes real documents take."""

import contextlib
import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.models import Gate, GateCriterion
from metrics.models import KPI
from plans.markdown import reader
from plans.markdown.build import (
    ImportOptions,
    PlanNotImported,
    plan_import,
    plan_read,
)
from projects.models import ChecklistItem, Phase, Project
from risks.models import Risk

PLANS = Path(__file__).resolve().parents[2] / "demo" / "data" / "plans"
AAD = PLANS / "aad-analytics-dashboard.md"
PROVIDER = PLANS / "redis-to-postgresql-provider-api.md"
SPRINT8 = PLANS / "sprint8-three-tracks.md"


def read(path: Path):
    return plan_read(path.read_bytes())


# -- the AAD plan, as a careful reader finds it ----------------------------------------------


def test_aad_overview_and_phases():
    plan = read(AAD)
    assert plan.overview["name"] == "Advanced Analytics Dashboard (AAD)"
    assert plan.overview["manager"] == "Nguyen Thanh Phuong"
    assert plan.overview["target_delivery"] == "July 29, 2025"
    assert plan.overview["stakeholders"].startswith("CTO, Head of Product")
    assert [(p.name, p.timing, p.span.start_day, p.span.end_day) for p in plan.phases] == [
        ("Foundation and Optimization", "Week 1–2", 0, 13),
        ("Microservice Development and Integration", "Week 3–4", 14, 27),
        ("QA, Deployment, and Monitoring", "Week 5–6", 28, 41),
    ]
    assert plan.phases[0].resources == "2 backend developers, 1 DevOps engineer"
    assert plan.phases[2].success_criteria == [
        "Zero P1 bugs",
        "system stable for 5 consecutive days in production",
    ]


def test_aad_checklist_is_the_deliverables_and_external_dependencies():
    items = [(i.section, i.title) for i in read(AAD).checklist_items]
    assert items == [
        ("Deliverables", "Redis cache setup"),
        ("Deliverables", "query optimization scripts"),
        ("Deliverables", "benchmark report"),
        ("External dependencies", "Redis cluster provisioning"),
        ("External dependencies", "Microservice infrastructure setup on cloud platform"),
        ("External dependencies", "Buy-in from customer success for phased rollout"),
        ("Deliverables", "Analytics microservice (v1)"),
        ("Deliverables", "data pipeline integration"),
        ("Deliverables", "API contracts"),
        ("Deliverables", "Full system testing"),
        ("Deliverables", "monitoring dashboards"),
        ("Deliverables", "production release"),
    ]


def test_aad_risks_from_the_matrix_and_the_assessment_merged():
    """The plan lists its risks twice: three with mitigations under Chosen Solution, three with
    probability and impact in the Risk Matrix. 'Frontend integration issues' and 'Integration
    bugs with existing frontend' are one risk: five in all."""
    risks = [(r.title, r.likelihood, r.impact, r.levels_stated) for r in read(AAD).risks]
    assert risks == [
        ("Data sync issues between monolith and microservice", 3, 3, False),
        ("Deployment delays due to CI/CD complexity", 3, 3, False),
        ("Integration bugs with existing frontend", 4, 3, True),
        ("Microservice latency issues", 3, 4, True),
        ("Resource availability conflicts", 3, 3, True),
    ]
    merged = read(AAD).risks[2]
    assert merged.mitigation == "Use feature flags and phased rollout"


def test_aad_kpis_parsed_into_comparator_value_and_unit():
    kpis = [
        (k.category, k.name, k.target and (k.target.comparator, k.target.value, k.target.unit))
        for k in read(AAD).kpis
    ]
    assert kpis == [
        ("technical", "Avg. response time", ("lt", 2.0, "s")),
        ("technical", "Availability post-deployment", ("gte", 99.9, "%")),
        ("technical", "Error rate on dashboard endpoints", ("lt", 1.0, "%")),
        ("business", "Reduction in support tickets", ("gte", 30.0, "%")),
        ("business", "Improved customer satisfaction score (CSAT)", ("gte", 15.0, "%")),
        ("business", "Prevention of at-risk customer churn (3 key accounts)", None),
        ("project", "Delivery timeline", ("lte", 6.0, "weeks")),
        ("project", "Resource burn variance from estimate", ("lt", 10.0, "%")),
        ("project", "Completion of all milestones without major blockers", None),
    ]


def test_aad_gates_are_phase_exits_and_the_release_decision():
    gates = [(g.kind, g.name, [c.text for c in g.criteria]) for g in read(AAD).gates]
    assert gates == [
        (
            "phase_exit",
            "Phase 1 exit: Foundation and Optimization",
            ["Reduce query time by 50%", "Redis integration tested in staging"],
        ),
        (
            "phase_exit",
            "Phase 2 exit: Microservice Development and Integration",
            ["Microservice deployed in staging", "API response time <500ms"],
        ),
        (
            "phase_exit",
            "Phase 3 exit: QA, Deployment, and Monitoring",
            ["Zero P1 bugs", "system stable for 5 consecutive days in production"],
        ),
        (
            "go_no_go",
            "Release go/no-go",
            [
                "<2-second average dashboard response time",
                "100% uptime during rollout",
                "no major regressions",
                "positive customer feedback post-release.",
            ],
        ),
    ]


def test_aad_sections_not_understood_are_kept_as_notes():
    titles = [note.title for note in read(AAD).notes]
    assert titles == [
        "Team Structure:",
        "Skills Required:",
        "Budget Requirements:",
        "Mitigation Strategies:",
        "Contingency Plans:",
        "Escalation Procedures:",
        "Monitoring Plan:",
    ]


# -- the Redis → PostgreSQL plan ---------------------------------------------------------------


def test_provider_plan_counts_item_by_item():
    plan = read(PROVIDER)
    # "**Document Owner:** Backend Lead" with "**Last Updated:** …" on the next line.
    assert plan.overview["manager"] == "Backend Lead"
    assert [(p.name, p.timing, len(p.items)) for p in plan.phases] == [
        # Execution checklist leaves (4 weeks × 4) + instrumentation plan (2)
        ("Foundation", "Months 1-2", 16 + 2),
        # 2 weeks × 4 + instrumentation 2
        ("Dual-Write", "Month 3", 8 + 2),
        # 4 + 4 + 4 + 3 + instrumentation 3
        ("API Migration", "Months 4-5", 15 + 3),
        # 4 + 6 + instrumentation 3
        ("Cutover & Decommission", "Month 6", 10 + 3),
    ]
    instrumentation, first = plan.phases[0].items[:2], plan.phases[0].items[2]
    assert [i.section for i in instrumentation] == ["Instrumentation Plan"] * 2
    assert (first.section, first.title, first.done) == (
        "Week 1-2: Schema design and review",
        "Map all 15 API endpoints to required tables/queries",
        False,
    )
    # The numbered steps of the migration approach describe the phase; they are not tasks.
    assert plan.phases[1].goal.startswith("1. Update ingestion pipeline to write to BOTH")


def test_provider_risk_register_table():
    risks = [(r.key, r.likelihood, r.impact, r.category, r.owner) for r in read(PROVIDER).risks]
    assert len(risks) == 12
    assert risks[0] == ("R1", 3, 4, "Technical", "Backend Lead")
    assert risks[4] == ("R5", 3, 5, "Operational", "DevOps Lead")
    assert risks[5] == ("R6", 2, 4, "Organizational", "Product Manager")
    assert risks[10] == ("R11", 3, 2, "Operational", "Finance/DevOps")
    r2 = read(PROVIDER).risks[1]
    assert r2.title == "PostgreSQL queries slower than expected"
    assert r2.description.startswith("Missing indices")
    assert r2.mitigation.splitlines()[0] == "1) Run EXPLAIN ANALYZE on all queries"


def test_provider_kpis_from_the_metric_tables():
    kpis = read(PROVIDER).kpis
    assert [k.kind for k in kpis].count("leading") == 7
    assert [k.kind for k in kpis].count("lagging") == 9
    assert [k.kind for k in kpis].count("counter") == 5
    p95 = next(k for k in kpis if k.name == "API p95 latency")
    assert (p95.baseline_text, p95.target.comparator, p95.target.value, p95.target.unit) == (
        "~10-15 seconds",
        "lt",
        500.0,
        "ms",
    )
    assert p95.method == "APM tool (Datadog, New Relic)"
    drift = next(k for k in kpis if k.name == "Dual-write data drift rate")
    assert (drift.target.comparator, drift.target.value, drift.target.unit) == ("lt", 0.01, "%")


def test_provider_gates_release_rollout_and_sign_off():
    gates = read(PROVIDER).gates
    assert [(g.kind, g.name, len(g.criteria)) for g in gates] == [
        ("go_no_go", "Release go/no-go", 4),
        ("go_no_go", "Plan sign-off", 17),
        ("rollout_stage", "Rollout stage: 5% of traffic", 1),
        ("rollout_stage", "Rollout stage: 25% of traffic", 1),
        ("rollout_stage", "Rollout stage: 50% of traffic", 1),
        ("rollout_stage", "Rollout stage: 100% of traffic", 1),
    ]
    assert [g.rollout_percent for g in gates[2:]] == [5, 25, 50, 100]
    assert gates[2].criteria[0].text == "Rollback if error rate > 1%"
    assert all(c.done for c in gates[1].criteria)  # the plan's own [x] checks


# -- Sprint 8: three tracks ------------------------------------------------------------------


def test_sprint8_phases_are_the_three_tracks_and_the_production_deployment():
    plan = read(SPRINT8)
    assert [
        (p.name, p.timing, p.span and (p.span.start_day, p.span.end_day)) for p in plan.phases
    ] == [
        ("Track D (Hardening & Scale)", "Days 1-4", (0, 3)),  # D1 (Day 1) … D6 (Day 4)
        ("Track B (Agent Metrics)", "Days 5-6", (4, 5)),
        ("Track C (Webhooks)", "Days 7-10", (6, 9)),
        # The pre-deployment checklist and the deployment order make a stage of their own.
        ("Production Deployment Strategy", "", None),
    ]
    assert {k: plan.overview[k] for k in ("name", "stage", "status", "timeline")} == {
        "name": "Sprint 8",
        "stage": "Design & Specification",
        "status": "AWAITING APPROVAL",
        "timeline": "8-10 working days",
    }
    track_d = plan.phases[0]
    assert track_d.goal.startswith("1. Implement concurrency safeguards")  # its Objectives
    assert "Why first: Provides foundational infrastructure" in track_d.goal


def test_sprint8_checklists_item_by_item():
    """Per sub-phase: its numbered **Tasks:** and its **Tests:** bullets; per track: what it
    requires from Track D (B and C) and its deployment steps; then the pre-deployment checklist."""
    phases = read(SPRINT8).phases
    by_section = [
        {
            section: sum(1 for i in phase.items if i.section == section)
            for section in dict.fromkeys(i.section for i in phase.items)
        }
        for phase in phases
    ]
    assert by_section[0] == {
        "D1: Observability Infrastructure (Day 1)": 3,
        "D1: Observability Infrastructure (Day 1): Tests": 2,
        "D2: Error Handling (Day 2)": 3,
        "D2: Error Handling (Day 2): Tests": 2,
        "D3: Database Indexing (Day 2-3)": 3,
        "D3: Database Indexing (Day 2-3): Tests": 2,
        "D4: Concurrency Safeguards (Day 3)": 2,
        "D4: Concurrency Safeguards (Day 3): Tests": 2,
        "D5: Health Checks (Day 4)": 2,
        "D5: Health Checks (Day 4): Tests": 2,
        "D6: Load Testing & Documentation (Day 4)": 2,
        "D6: Load Testing & Documentation (Day 4): Tests": 3,
        "Deployment Order (Off-Hours Window)": 6,
    }
    assert by_section[1] == {
        "B1: Service & Repository (Day 5)": 2,
        "B1: Service & Repository (Day 5): Tests": 2,
        "B2: Controller & DTOs (Day 5-6)": 2,
        "B2: Controller & DTOs (Day 5-6): Tests": 3,
        "B3: Integration & Documentation (Day 6)": 2,
        "B3: Integration & Documentation (Day 6): Tests": 3,
        "Track B Dependencies": 3,
        "Deployment Order (Business Hours OK)": 5,
    }
    assert by_section[2] == {
        "C1: Schema & Migration (Day 7)": 3,
        "C1: Schema & Migration (Day 7): Tests": 2,
        "C2: Event Emission (Day 7)": 3,
        "C2: Event Emission (Day 7): Tests": 2,
        "C3: WebhookService Listener (Day 8)": 1,
        "C3: WebhookService Listener (Day 8): Tests": 2,
        "C4: Dispatcher Worker (Day 8-9)": 2,
        "C4: Dispatcher Worker (Day 8-9): Tests": 3,
        "C5: Subscription Management API (Day 9)": 1,
        "C5: Subscription Management API (Day 9): Tests": 2,
        "C6: Documentation & Testing (Day 10)": 2,
        "C6: Documentation & Testing (Day 10): Tests": 2,
        "Track C Dependencies": 3,
        "Deployment Order (Off-Hours Window)": 7,
    }
    assert by_section[3] == {"Pre-Deployment Checklist": 9}
    assert [len(p.items) for p in phases] == [28 + 6, 14 + 3 + 5, 25 + 3 + 7, 9]
    # A task keeps what it involves: its sub-items and code, as written.
    first = phases[0].items[0]
    assert first.title == "Structured Logging Interface"
    assert first.detail.splitlines()[0] == (
        "- Create `LogEntry` interface in `backend/src/common/interfaces/log-entry.interface.ts`"
    )
    migration = next(i for i in phases[2].items if i.title == "Database Migration")
    assert "npm run prisma:migrate:dev -- --name add_webhook_tables" in migration.detail
    # "Requires from Track D: ✅ …" lists what is needed; the marks do not make it done.
    assert not any(i.done for phase in phases for i in phase.items)


def test_sprint8_risks_take_their_level_from_the_table_they_stand_in():
    risks = [(r.title, r.likelihood, r.impact, r.owner) for r in read(SPRINT8).risks]
    assert len(risks) == 9  # 3 high, 3 medium, 3 low
    assert risks[0] == ("Database migration failure (Track C)", 3, 4, "DBA + Tech Lead")
    assert [r[1] * r[2] for r in risks] == [12] * 3 + [9] * 3 + [4] * 3


def test_sprint8_kpis_are_the_post_deployment_monitoring_targets():
    plan = read(SPRINT8)
    kpis = [(k.name, k.target.comparator, k.target.value, k.target.unit) for k in plan.kpis]
    assert kpis == [
        ("Connection pool utilization", "lt", 80.0, "%"),
        ("Lock timeout errors", "eq", 0.0, ""),
        ("Metrics endpoint response times", "lt", 500.0, "ms"),
        ("Cache hit rates", "gte", 70.0, "%"),
        ("RBAC violations", "eq", 0.0, ""),
        ("Webhook delivery success rate", "gte", 95.0, "%"),
        ("Dispatcher backlog size", "lt", 100.0, "pending"),
        ("Retry rate", "lt", 10.0, "%"),
        ("External endpoint response times", "lt", 10.0, "s"),
    ]
    # Two Track D lines are logs to watch: reported, and kept in the notes.
    assert [(u.line, u.why) for u in plan.unrecognised] == [
        (651, "a log to watch, not a metric with a target"),
        (654, "a log to watch, not a metric with a target"),
    ]
    note = next(n for n in plan.notes if n.title == "Monitoring Post-Deployment: Track D")
    assert note.text == (
        "- Slow query logs (> 100ms)\n- Structured log format (verify JSON output)"
    )


def test_sprint8_gates_are_the_summary_table_and_the_sign_off():
    gates = read(SPRINT8).gates
    table, sign_off = gates[:15], gates[15]
    assert [len(g.criteria) for g in table] == [1, 1, 1, 2, 1, 2, 1, 1, 1, 2, 1, 1, 2, 1, 2]
    assert (table[3].name, table[3].approvers, table[3].timing) == (
        "Track D: Indexes",
        ["DBA", "Tech Lead"],
        "After D3",
    )
    assert [c.text for c in table[3].criteria] == ["Migration plan", "rollback strategy"]
    # The "**Approval Gate:**" line at the end of D3 says what the reviewers look at.
    assert table[3].description == "DBA review of migration + production migration plan"
    assert table[9].description == "Schema review + production migration plan"  # "Before C1"
    assert table[14].approvers == ["Tech Lead", "Ops", "PO"]
    assert (sign_off.name, sign_off.approvers) == (
        "Plan sign-off",
        ["Product Owner", "Tech Lead", "DBA", "QA Lead"],
    )
    assert sign_off.criteria[0].text == "Implementation plan is clear and feasible"
    assert len(sign_off.criteria) == 5  # "Approval Signifies:"


def test_sprint8_sections_not_understood_are_kept_as_notes():
    titles = [note.title for note in read(SPRINT8).notes]
    assert titles == [
        "Monitoring Post-Deployment: Track D",
        "Executive Summary",
        "Track B Dependencies",  # "Blocked by: Track D completion"
        "Track C Dependencies",
        "Track D Dependencies",
        "Unit Tests",
        "Integration Tests",
        "E2E Tests",
        "Load Tests",  # its scope and success criteria (the table names the gates)
        "Track D Rollback",
        "Track B Rollback",
        "Track C Rollback",
        "Timeline & Effort Estimation",
        "Open Questions",
        "Next Steps",
    ]


@pytest.mark.parametrize(
    ("path", "counts"),
    [
        (
            AAD,
            {
                "phases": 3,
                "checklist_items": 12,
                "risks": 5,
                "kpis": 9,
                "gates": 4,
                "gate_criteria": 2 + 2 + 2 + 4,
            },
        ),
        (
            PROVIDER,
            {
                "phases": 4,
                "checklist_items": 59,
                "risks": 12,
                "kpis": 21,
                "gates": 6,
                "gate_criteria": 4 + 17 + 4,
            },
        ),
        (
            SPRINT8,
            {
                "phases": 4,
                "checklist_items": 34 + 22 + 35 + 9,
                "risks": 9,
                "kpis": 9,
                "gates": 15 + 1,
                "gate_criteria": 20 + 5,
            },
        ),
    ],
    ids=lambda value: getattr(value, "stem", ""),
)
def test_the_counts_a_careful_reader_finds(path, counts):
    assert read(path).counts() == counts


# -- importing for real ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", [AAD, PROVIDER, SPRINT8], ids=lambda p: p.stem)
def test_each_plan_imports_whole(path, programme):
    plan = read(path)
    project = plan_import(
        plan=plan, options=ImportOptions(programme=programme, start_date=date(2027, 1, 4))
    )
    counts = plan.counts()
    assert Phase.objects.filter(project=project).count() == counts["phases"]
    assert ChecklistItem.objects.filter(phase__project=project).count() == counts["checklist_items"]
    assert Risk.objects.filter(project=project).count() == counts["risks"]
    assert KPI.objects.filter(project=project).count() == counts["kpis"]
    assert Gate.objects.filter(project=project).count() == counts["gates"]
    assert GateCriterion.objects.filter(gate__project=project).count() == counts["gate_criteria"]
    assert project.notes  # the sections it did not understand


@pytest.mark.django_db
def test_aad_import_dates_and_code(programme):
    project = plan_import(
        plan=read(AAD), options=ImportOptions(programme=programme, start_date=date(2027, 1, 4))
    )
    assert (project.code, project.name, project.budget_planned) == (
        "AAD",
        "Advanced Analytics Dashboard",
        15000,
    )
    phase = project.phases.get(order=2)
    assert (phase.baseline_start, phase.baseline_end) == (date(2027, 1, 18), date(2027, 1, 31))
    assert project.baseline_end == date(2027, 2, 14)


@pytest.mark.django_db
def test_a_failed_import_leaves_nothing(programme):
    plan_import(
        plan=read(AAD), options=ImportOptions(programme=programme, start_date=date(2027, 1, 4))
    )
    before = (Project.objects.count(), Phase.objects.count(), Risk.objects.count())
    with pytest.raises(PlanNotImported, match="already has a project AAD"):
        plan_import(
            plan=read(AAD), options=ImportOptions(programme=programme, start_date=date(2027, 1, 4))
        )
    plan = read(PROVIDER)
    plan.kpis[-1].name = ""  # invalid: fails after the phases and risks were written
    with pytest.raises(PlanNotImported, match="Nothing was imported: name: This field"):
        plan_import(
            plan=plan, options=ImportOptions(programme=programme, start_date=date(2027, 1, 4))
        )
    assert (Project.objects.count(), Phase.objects.count(), Risk.objects.count()) == before


# -- the command --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_json_dry_run_saves_nothing():
    out = StringIO()
    call_command("import_plan", str(PROVIDER), "--dry-run", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert {
        k: report[k]
        for k in ("phases", "checklist_items", "risks", "kpis", "gates", "gate_criteria")
    } == {
        "phases": 4,
        "checklist_items": 59,
        "risks": 12,
        "kpis": 21,
        "gates": 6,
        "gate_criteria": 25,
    }
    assert isinstance(report["unrecognised"], list)
    assert report["items"]["risks"][0]["line"] == 318
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_command_imports_into_a_programme(programme):
    out = StringIO()
    call_command(
        "import_plan",
        str(AAD),
        "--programme",
        programme.slug,
        "--start-date",
        "2027-01-04",
        stdout=out,
    )
    assert "Imported as project AAD" in out.getvalue()
    assert Project.objects.get(code="AAD").phases.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/plan.md", "--dry-run"], "Cannot read"),
        ([str(AAD), "--start-date", "4 Jan", "--dry-run"], "YYYY-MM-DD"),
        ([str(AAD)], "Say which programme"),
        ([str(AAD), "--programme", "nope"], "No programme"),
    ],
)
def test_command_errors_are_clear(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_plan", *args, stdout=StringIO())


# -- robustness ---------------------------------------------------------------------------------


def test_mojibake_crlf_tabs_and_emoji_are_repaired():
    text = (
        "# Plan\r\n\r\n## Phase 1 (Week 1â€“2): Start ðŸŽ¯\r\n\r\n"
        "- [x] Done thing âœ…\r\n-\t[ ] Open thing\r\n"
    ).encode()
    plan = plan_read(text)
    assert plan.phases[0].timing == "Week 1–2"
    assert plan.phases[0].name == "Start 🎯"
    assert [(i.title, i.done) for i in plan.checklist_items] == [
        ("Done thing ✅", True),
        ("Open thing", False),
    ]


def test_ragged_tables_and_empty_cells():
    text = (
        "## Risk Register\n\n| ID | Risk | Likelihood | Impact |\n|---|---|---|---|\n"
        "| R1 | Data loss | High |\n| R2 | | Low | Low |\n"
        "| R3 | Slow queries | Medium | High | extra |\n"
    )
    plan = plan_read(text)
    assert [(r.key, r.title, r.levels_stated) for r in plan.risks] == [
        ("R1", "Data loss", False),
        ("R3", "Slow queries", True),
    ]
    assert plan.unrecognised[0].why == "a risk row without a description"


def test_a_megabyte_plan_is_read():
    block = AAD.read_text()
    text = block * (1_000_000 // len(block))
    assert len(text.encode()) > 900_000
    plan = plan_read(text)
    assert len(plan.phases) >= 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"   \n\n ", "empty"),
        (b"x" * 2_000_001, "plans up to"),
    ],
)
def test_what_is_not_a_plan_is_refused_with_a_reason(data, message):
    with pytest.raises(reader.NotAPlan, match=message):
        plan_read(data)


def test_cp1252_bytes_are_read():
    plan = plan_read("## Phase 1 (Week 1–2): Café\n\n- [ ] Résumé\n".encode("cp1252"))
    assert plan.phases[0].name == "Café"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=2000))
def test_any_text_gives_a_report_or_a_clear_refusal(text):
    try:
        plan = plan_read(text)
    except reader.NotAPlan:
        return
    assert set(plan.counts()) == {
        "phases",
        "checklist_items",
        "risks",
        "kpis",
        "gates",
        "gate_criteria",
    }


MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            "# ",
            "## Phase 1 (Week 1-2): ",
            "### Risk Matrix",
            "- [ ] ",
            "- [x] ",
            "| a | b |",
            "|---|---|",
            "**Owner:** ",
            "1. ",
            "```",
            "✅ ",
            "Medium probability, High impact",
            "< 500ms",
            "5% → 25% → 50% → 100%",
            "\n",
            "\t",
            "text ",
            "**Tasks:**",
            "- ",
        ]
    ),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKDOWNISH)
def test_plan_shaped_text_never_crashes(text):
    with contextlib.suppress(reader.NotAPlan):
        plan_read(text)
