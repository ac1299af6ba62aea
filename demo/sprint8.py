"""Sprint 8's implementation plan (demo/data/plans/sprint8-three-tracks.md): three tracks run
in the order D → B → C, with an approval gate after each sub-phase.

Days are working days from the sprint's start; the loader starts the sprint next Monday, as
the plan is awaiting approval.
"""

START_WEEKS_AGO = -1

PROJECT = {
    "code": "SPRINT-8",
    "name": "Sprint 8: Hardening, Agent Metrics and Webhooks",
    "status": "planning",
    "summary": (
        "Three parallel tracks: Track B, Agent Operations & Metrics (read-only analytics); "
        "Track C, Webhooks & External Integrations (outbound event delivery); Track D, "
        "Hardening & Scale (concurrency, observability, performance). Key principle: layered "
        "implementation with approval gates to ensure production stability. Estimated duration "
        "8-10 working days, plus 2 days' buffer for approval gates, code reviews and unexpected "
        "issues.\n"
        "Open questions: caching in memory or Redis (start in memory); dispatcher as separate "
        "worker or in-app cron (start in-app); k6 or Artillery for load tests (k6); partial or "
        "full indexes (partial for shipping_assignments_delivered_sla); manual retry of FAILED "
        "deliveries (yes, via an admin endpoint)."
    ),
    "approach": "Recommended sequence D → B → C: hardening first, then agent metrics, then webhooks.",
    "approach_rationale": (
        "Track D provides the foundational infrastructure (logging, error handling, indexes) used "
        "by Tracks B and C; Track B benefits from Track D's structured logging and indexes; Track "
        "C is the most complex and requires Track D observability and Track B stability "
        "validation."
    ),
    "manager_name": "Tech Lead",
    "stakeholders": "Product Owner\nTech Lead\nDBA\nQA Lead\nOps",
    "budget_planned": 0,
    "budget_spent": 0,
    "currency": "USD",
    "baseline_days": (0, 9),
    "forecast_end_day": 9,
    "working_days": True,
}


PHASES = [
    {
        "order": 1,
        "name": "Track D: Hardening & Scale",
        "timing": "Days 1-4",
        "goal": (
            "Implement concurrency safeguards (row locks, optimistic locking); establish a "
            "structured logging standard; add a global exception filter; create database "
            "indexes; add health check endpoints. Low risk: purely additive, no business logic "
            "changes."
        ),
        "baseline_days": (0, 3),
        "forecast_days": (0, 3),
        "status": "not_started",
        "resource_needs": "1 backend developer; DBA for D3; QA for D6",
        "success_criteria": (
            "Structured logging format implemented and verified\n"
            "Global exception filter handles all error types (Prisma, HTTP, unexpected)\n"
            "8 database indexes created and used by queries\n"
            "Concurrency safeguards prevent race conditions (agent assignment, order status)\n"
            "Health checks operational (/health/db, /health/pool)\n"
            "Load tests pass: P95 < 500ms, no pool exhaustion, no lock timeouts\n"
            "Documentation updated with implementation notes"
        ),
    },
    {
        "order": 2,
        "name": "Track B: Agent Operations & Metrics",
        "timing": "Days 5-6",
        "goal": (
            "Create a read-only AgentMetricsService; implement 5 metrics endpoints; add a "
            "caching layer; enforce admin-only RBAC. Low risk: read-only operations."
        ),
        "baseline_days": (4, 5),
        "forecast_days": (4, 5),
        "status": "not_started",
        "resource_needs": "1 backend developer",
        "success_criteria": (
            "AgentMetricsService implemented (read-only, no writes to core tables)\n"
            "5 metrics endpoints operational\nCaching reduces database queries (70%+ hit rate)\n"
            "RBAC enforced (admin-only access)\nResponse times < 500ms for all endpoints\n"
            "Documentation includes API examples"
        ),
    },
    {
        "order": 3,
        "name": "Track C: Webhooks & External Integrations",
        "timing": "Days 7-10",
        "goal": (
            "Create the webhook schema (outbox pattern); emit events from existing services after "
            "commit; implement the WebhookService listener, the dispatcher worker and the "
            "subscription management API. Medium risk: new schema, external integrations, async "
            "workers."
        ),
        "baseline_days": (6, 9),
        "forecast_days": (6, 9),
        "status": "not_started",
        "resource_needs": "1 backend developer; DBA for C1; QA for C6",
        "success_criteria": (
            "Webhook schema created (subscriptions + deliveries)\n"
            "10 event types emitted post-commit\nWebhookService writes to outbox (append-only)\n"
            "Dispatcher runs every 30s, processes deliveries with retries\n"
            "HMAC signatures generated and included in requests\n"
            "Subscription management API operational (admin-only)\n"
            "Webhook delivery success rate > 95%\n"
            "Documentation includes external webhook receiver example"
        ),
    },
    {
        "order": 4,
        "name": "Production deployment",
        "timing": "After Day 10",
        "goal": (
            "Deploy Track D in an off-hours window, Track B in business hours and Track C "
            "off-hours, each followed by a soak period (24, 24 and 48 hours)."
        ),
        "baseline_days": (10, 14),
        "forecast_days": (10, 14),
        "status": "not_started",
        "resource_needs": "Backend developer, DBA and Ops for the deployment windows",
        "success_criteria": (
            "All approval gates passed\nSoak periods complete without rollback\n"
            "Webhook delivery success rate > 95%; dispatcher backlog < 100 pending"
        ),
    },
]

HIGH = (3, 4)
MEDIUM = (3, 3)
LOW = (2, 2)

# (key, title, level, mitigation, contingency, owner title)
RISKS = [
    (
        "R1",
        "Database migration failure (Track C)",
        HIGH,
        "Test migration in staging, DBA review, rollback plan",
        "Do not roll back the schema (outbox data preserved for later retry); revert code",
        "DBA + Tech Lead",
    ),
    (
        "R2",
        "Webhook dispatcher overwhelms outbox",
        HIGH,
        "Batch size limit (50), cron interval (30s), backlog alerting",
        "Disable the dispatcher cron job; pending deliveries retry once it is re-enabled",
        "Tech Lead",
    ),
    (
        "R3",
        "Concurrency locks cause deadlocks",
        HIGH,
        "Lock timeout (5s), row-level only, load testing",
        "Disable new endpoints and revert code; indexes remain (safe, read-only)",
        "Tech Lead",
    ),
    (
        "R4",
        "Metrics queries slow down database",
        MEDIUM,
        "Composite indexes, caching, query review",
        "Disable metrics endpoints (remove routes) and revert code",
        "DBA + Tech Lead",
    ),
    (
        "R5",
        "External webhooks fail repeatedly",
        MEDIUM,
        "Exponential backoff, max retries (5), status monitoring",
        "FAILED deliveries can be retried manually from the admin endpoint",
        "Tech Lead",
    ),
    (
        "R6",
        "RBAC misconfiguration",
        MEDIUM,
        "E2E tests, manual verification, audit logs",
        "",
        "Tech Lead",
    ),
    (
        "R7",
        "Structured logging format issues",
        LOW,
        "Unit tests, manual verification",
        "",
        "Tech Lead",
    ),
    (
        "R8",
        "Error filter breaks existing endpoints",
        LOW,
        "Integration tests for common errors",
        "Revert code to previous commit",
        "Tech Lead",
    ),
    (
        "R9",
        "Health checks fail under load",
        LOW,
        "Load testing, simple query design",
        "",
        "Tech Lead",
    ),
]

# name: (category, kind, unit, comparator, target, warning, target text, method, owner, phase)
KPIS = {
    "Load test P95 latency": (
        "technical",
        "leading",
        "ms",
        "lt",
        500,
        400,
        "P95 < 500ms",
        "k6 load tests: 50 orders/hour sustained, 200 orders/hour peak",
        "Backend developer",
        1,
    ),
    "Connection pool utilization": (
        "technical",
        "lagging",
        "%",
        "lt",
        80,
        70,
        "< 80%",
        "Database metrics",
        "Ops",
        1,
    ),
    "Lock timeout errors": (
        "technical",
        "counter",
        "errors",
        "eq",
        0,
        None,
        "Should be 0",
        "Application logs",
        "Tech Lead",
        1,
    ),
    "Unit test coverage": (
        "project",
        "leading",
        "%",
        "gte",
        80,
        None,
        "80% minimum",
        "Coverage report",
        "Tech Lead",
        None,
    ),
    "Metrics endpoint response time": (
        "technical",
        "lagging",
        "ms",
        "lt",
        500,
        400,
        "< 500ms",
        "API monitoring",
        "Backend developer",
        2,
    ),
    "Metrics cache hit rate": (
        "technical",
        "lagging",
        "%",
        "gte",
        70,
        None,
        "Target: 70%+",
        "Structured cache hit/miss logs",
        "Backend developer",
        2,
    ),
    "RBAC violations": (
        "technical",
        "counter",
        "violations",
        "eq",
        0,
        None,
        "Should be 0",
        "Audit logs",
        "Tech Lead",
        2,
    ),
    "Webhook delivery success rate": (
        "technical",
        "lagging",
        "%",
        "gt",
        95,
        97,
        "Target: 95%+",
        "webhook_deliveries status counts",
        "Tech Lead",
        3,
    ),
    "Dispatcher backlog": (
        "technical",
        "lagging",
        "pending entries",
        "lt",
        100,
        80,
        "< 100 pending",
        "webhook_deliveries PENDING count",
        "Ops",
        3,
    ),
    "Webhook retry rate": (
        "technical",
        "lagging",
        "%",
        "lt",
        10,
        8,
        "< 10%",
        "webhook_deliveries retry counts",
        "Tech Lead",
        3,
    ),
    "External endpoint response time": (
        "technical",
        "lagging",
        "s",
        "lt",
        10,
        8,
        "< 10s",
        "Dispatcher logs",
        "Tech Lead",
        3,
    ),
    "Sprint duration": (
        "project",
        "lagging",
        "working days",
        "lte",
        10,
        9,
        "8-10 working days (+2 days buffer)",
        "Sprint board",
        "Tech Lead",
        None,
    ),
}

# (name, approvers, timing, phase order, due working day, kind): the table's gates, with the
# phase each closes and its due day; their criteria come from the plan.
APPROVAL_GATES = [
    ("Design Documents", ["Product Owner"], "Before any code", None, -1, "go_no_go"),
    ("Track D: Logging Format", ["Tech Lead"], "After D1", 1, 0, "phase_exit"),
    ("Track D: Error Handling", ["Tech Lead"], "After D2", 1, 1, "phase_exit"),
    ("Track D: Indexes", ["DBA", "Tech Lead"], "After D3", 1, 2, "phase_exit"),
    ("Track D: Concurrency", ["Tech Lead"], "After D4", 1, 2, "phase_exit"),
    ("Track D: Load Tests", ["Tech Lead", "Ops"], "After D6", 1, 3, "go_no_go"),
    ("Track B: SQL Queries", ["DBA"], "After B1", 2, 4, "phase_exit"),
    ("Track B: API Contract", ["Product Owner"], "After B2", 2, 5, "phase_exit"),
    ("Track B: Production Deploy", ["Tech Lead", "Ops"], "After B3", 2, 5, "go_no_go"),
    ("Track C: Schema", ["DBA", "Product Owner"], "Before C1", 3, 5, "phase_exit"),
    ("Track C: Event Emission", ["Tech Lead"], "After C2", 3, 6, "phase_exit"),
    ("Track C: Outbox Logic", ["Tech Lead"], "After C3", 3, 7, "phase_exit"),
    ("Track C: Dispatcher", ["Tech Lead", "Ops"], "After C4", 3, 8, "phase_exit"),
    ("Track C: Subscription API", ["Product Owner"], "After C5", 3, 8, "phase_exit"),
    (
        "Track C: Production Readiness",
        ["Tech Lead", "Ops", "PO"],
        "After C6",
        3,
        9,
        "go_no_go",
    ),
]

# Extra KPI-bound criteria, by gate name.
GATE_KPI_CRITERIA = {
    "Track D: Load Tests": [
        ("P95 < 500ms", "Load test P95 latency", "lt", 500),
        ("no pool exhaustion", "Connection pool utilization", "lt", 80),
    ],
    "Track C: Production Readiness": [
        ("Webhook delivery success rate > 95%", "Webhook delivery success rate", "gt", 95),
    ],
}

LEVEL_NAMES = {HIGH: "High", MEDIUM: "Medium", LOW: "Low"}
KPI_FIELDS = (
    "category",
    "kind",
    "unit",
    "comparator",
    "target_value",
    "warning_value",
    "target_text",
    "method",
    "owner_title",
    "phase",
)

# The team's names for what the plan calls otherwise: {name in Waymark: name in the plan}.
KPIS_FROM_PLAN = {
    "Metrics endpoint response time": "Metrics endpoint response times",
    "Metrics cache hit rate": "Cache hit rates",
    "Dispatcher backlog": "Dispatcher backlog size",
    "Webhook retry rate": "Retry rate",
    "External endpoint response time": "External endpoint response times",
}

PLAN = {
    "file": "sprint8-three-tracks.md",
    "start_weeks_ago": START_WEEKS_AGO,
    "kpis_from_plan": KPIS_FROM_PLAN,
    "gates_from_plan": {},
    "project": PROJECT,
    "phases": [{**phase, "items": []} for phase in PHASES],  # the plan's own checklists
    "risks": [
        {
            "key": key,
            "title": title,
            "description": f"Rated {LEVEL_NAMES[level]} risk in the plan's risk assessment.",
            "category": "technical",
            "likelihood": level[0],
            "impact": level[1],
            "mitigation": mitigation,
            "contingency": contingency,
            "owner_title": owner,
            "status": "open",
        }
        for key, title, level, mitigation, contingency, owner in RISKS
    ],
    "kpis": [
        {"name": name, "cadence_days": 1, **dict(zip(KPI_FIELDS, values, strict=True))}
        for name, values in KPIS.items()
    ],
    "gates": [
        {
            "order": order,
            "name": name,
            "kind": kind,
            "phase": phase,
            "timing": timing,
            "due_day": due_day,
            "approvers": [(title, "approver") for title in approvers],
            # The table's criteria come with the import; the team wired some to KPIs.
            "criteria": [
                (text, "kpi", True, kpi, comparator, threshold)
                for text, kpi, comparator, threshold in GATE_KPI_CRITERIA.get(name, [])
            ],
        }
        for order, (name, approvers, timing, phase, due_day, kind) in enumerate(
            APPROVAL_GATES, start=1
        )
    ],
}
