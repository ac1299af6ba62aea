"""Sprint 8's implementation plan (../shared/plans/sprint8-three-tracks.md): three tracks run
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


def _sub_phase(section, day, owner, tasks, tests):
    return [(section, "task", task, owner, day, False) for task in tasks] + [
        (section, "deliverable", f"Tests: {tests}", owner, day, False)
    ]


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
        "items": [
            *_sub_phase(
                "D1: Observability Infrastructure (Day 1)",
                0,
                "Backend developer",
                [
                    "Structured logging interface (LogEntry, domain_action_status event names, 9 critical events)",
                    "Logger service enhancement (logStructured, JSON output in production)",
                    "Slow query detection (Prisma query logging at 100ms, warnings at 500ms)",
                ],
                "unit tests for logger formatting; manual verification of log output",
            ),
            *_sub_phase(
                "D2: Error Handling (Day 2)",
                1,
                "Backend developer",
                [
                    "BusinessRuleException class with error codes for common violations",
                    "Global exception filter (HttpException, Prisma P2002/P2003/P2025, unexpected errors)",
                    "Register the filter globally in main.ts and test with existing endpoints",
                ],
                "unit tests for filter logic; integration tests for 404, 409, 500",
            ),
            *_sub_phase(
                "D3: Database Indexing (Day 2-3)",
                2,
                "Backend developer + DBA",
                [
                    "Create Prisma migration add_sprint8_indexes",
                    "Add 8 composite indexes (ledger entries, shipping assignments, delivery agents, webhooks)",
                    "Verify index usage with EXPLAIN ANALYZE",
                ],
                "migration runs in the test environment; query benchmarks before/after",
            ),
            *_sub_phase(
                "D4: Concurrency Safeguards (Day 3)",
                2,
                "Backend developer",
                [
                    "Agent assignment row lock (SELECT FOR UPDATE, 5s lock timeout)",
                    "Order status optimistic lock (updateMany with status check, 3 retries with backoff)",
                ],
                "unit tests for lock acquisition; integration tests for concurrent updates",
            ),
            *_sub_phase(
                "D5: Health Checks (Day 4)",
                3,
                "Backend developer",
                [
                    "Add /health/db and /health/pool endpoints",
                    "Document health check endpoints and example monitoring configuration",
                ],
                "manual verification of health endpoints; load testing with health checks enabled",
            ),
            *_sub_phase(
                "D6: Load Testing & Documentation (Day 4)",
                3,
                "Backend developer + QA",
                [
                    "Load test suite: 50 orders/hour sustained, 200 orders/hour peak, 10 concurrent agents, 5 concurrent status updates",
                    "Update SPRINT_8_TRACK_D_HARDENING.md with load assumptions, results and runbook",
                ],
                "P95 < 500ms; no connection pool exhaustion; no lock timeouts",
            ),
        ],
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
        "items": [
            *_sub_phase(
                "B1: Service & Repository (Day 5)",
                4,
                "Backend developer",
                [
                    "AgentMetricsService with 5 SQL aggregation queries returning DTOs",
                    "Caching with TTLs: 30min leaderboard, 10min SLA, 15min geographic",
                ],
                "unit tests for each metric method; integration tests with test database",
            ),
            *_sub_phase(
                "B2: Controller & DTOs (Day 5-6)",
                5,
                "Backend developer",
                [
                    "AgentMetricsController: 5 endpoints under /api/admin/agents with RBAC guards and pagination",
                    "Request and response DTOs",
                ],
                "E2E tests per endpoint; RBAC tests; pagination tests",
            ),
            *_sub_phase(
                "B3: Integration & Documentation (Day 6)",
                5,
                "Backend developer",
                [
                    "Register AgentMetricsModule; verify no circular dependencies",
                    "Update SPRINT_8_TRACK_B_AGENT_METRICS.md with API examples and caching behaviour",
                ],
                "full integration suite; manual testing; response times < 500ms",
            ),
        ],
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
        "items": [
            *_sub_phase(
                "C1: Schema & Migration (Day 7)",
                6,
                "Backend developer + DBA",
                [
                    "WebhookSubscription and WebhookDelivery models with their enums",
                    "Prisma migration add_webhook_tables",
                ],
                "migration runs; foreign keys validated",
            ),
            *_sub_phase(
                "C2: Event Emission (Day 7)",
                6,
                "Backend developer",
                [
                    "Configure @nestjs/event-emitter",
                    "Emit order, payment, refund and shipment events AFTER the transaction commits",
                    "WebhookEvent<T> payload with eventId, eventType, timestamp, idempotencyKey, data",
                ],
                "unit tests for emission; integration tests verifying events emitted",
            ),
            *_sub_phase(
                "C3: WebhookService Listener (Day 8)",
                7,
                "Backend developer",
                [
                    "@OnEvent handlers for 10 event types writing to webhook_deliveries (outbox)",
                ],
                "unit tests for listeners; emit event → outbox entry created",
            ),
            *_sub_phase(
                "C4: Dispatcher Worker (Day 8-9)",
                8,
                "Backend developer",
                [
                    "Dispatcher every 30s: 50 pending deliveries, HMAC signature, POST with 10s timeout",
                    "Retry schedule +30s, +60s, +120s, +300s, +900s; FAILED after 5 retries",
                ],
                "signature unit tests; retry integration tests; E2E webhook received",
            ),
            *_sub_phase(
                "C5: Subscription Management API (Day 9)",
                8,
                "Backend developer",
                [
                    "Admin endpoints to create, list, update and disable subscriptions and list deliveries",
                ],
                "E2E tests for subscription CRUD; RBAC tests",
            ),
            *_sub_phase(
                "C6: Documentation & Testing (Day 10)",
                9,
                "Backend developer + QA",
                [
                    "Update SPRINT_8_TRACK_C_WEBHOOKS.md with payload examples and HMAC verification",
                    "End-to-end flow for all 10 event types including retry scenarios",
                ],
                "full E2E suite; load test with 100 webhook events/min",
            ),
        ],
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
        "items": [
            *[
                ("Pre-deployment checklist", "task", title, "Tech Lead", 10, False)
                for title in [
                    "All approval gates passed",
                    "Unit tests pass (80%+ coverage)",
                    "Integration tests pass",
                    "E2E tests pass",
                    "Load tests pass (P95 < 500ms)",
                    "Documentation updated",
                    "Rollback plan documented",
                    "Monitoring configured (health checks, slow queries)",
                    "Team trained on new features",
                ]
            ],
            (
                "Track D deployment (off-hours window)",
                "task",
                "Deploy code and run the index migration",
                "Ops",
                10,
                False,
            ),
            (
                "Track D deployment (off-hours window)",
                "task",
                "Verify /health/db and /health/pool; watch structured logs and slow queries",
                "Ops",
                10,
                False,
            ),
            (
                "Track D deployment (off-hours window)",
                "task",
                "Soak period: 24 hours",
                "Ops",
                11,
                False,
            ),
            (
                "Track B deployment (business hours)",
                "task",
                "Deploy code; verify and test each admin metrics endpoint",
                "Ops",
                12,
                False,
            ),
            (
                "Track B deployment (business hours)",
                "task",
                "Monitor cache hit rates; soak period: 24 hours",
                "Ops",
                12,
                False,
            ),
            (
                "Track C deployment (off-hours window)",
                "task",
                "Deploy code and run the webhook tables migration",
                "Ops",
                13,
                False,
            ),
            (
                "Track C deployment (off-hours window)",
                "task",
                "Verify event emission and outbox writes; enable the dispatcher cron job",
                "Ops",
                13,
                False,
            ),
            (
                "Track C deployment (off-hours window)",
                "task",
                "Monitor webhook delivery success rate; soak period: 48 hours",
                "Ops",
                14,
                False,
            ),
        ],
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

# (name, approvers, timing, criteria text, phase order, due working day, kind)
APPROVAL_GATES = [
    (
        "Design Documents",
        ["Product Owner"],
        "Before any code",
        "All three design docs approved",
        None,
        -1,
        "go_no_go",
    ),
    (
        "Track D: Logging Format",
        ["Tech Lead"],
        "After D1",
        "Structured format finalized",
        1,
        0,
        "phase_exit",
    ),
    (
        "Track D: Error Handling",
        ["Tech Lead"],
        "After D2",
        "Error response format approved",
        1,
        1,
        "phase_exit",
    ),
    (
        "Track D: Indexes",
        ["DBA", "Tech Lead"],
        "After D3",
        "Migration plan + rollback strategy",
        1,
        2,
        "phase_exit",
    ),
    (
        "Track D: Concurrency",
        ["Tech Lead"],
        "After D4",
        "Lock strategy validated",
        1,
        2,
        "phase_exit",
    ),
    (
        "Track D: Load Tests",
        ["Tech Lead", "Ops"],
        "After D6",
        "P95 < 500ms, no pool exhaustion",
        1,
        3,
        "go_no_go",
    ),
    (
        "Track B: SQL Queries",
        ["DBA"],
        "After B1",
        "Query performance acceptable",
        2,
        4,
        "phase_exit",
    ),
    (
        "Track B: API Contract",
        ["Product Owner"],
        "After B2",
        "Endpoints match requirements",
        2,
        5,
        "phase_exit",
    ),
    (
        "Track B: Production Deploy",
        ["Tech Lead", "Ops"],
        "After B3",
        "Deployment plan finalized",
        2,
        5,
        "go_no_go",
    ),
    (
        "Track C: Schema",
        ["DBA", "Product Owner"],
        "Before C1",
        "Schema approved, migration plan ready",
        3,
        5,
        "phase_exit",
    ),
    (
        "Track C: Event Emission",
        ["Tech Lead"],
        "After C2",
        "Post-commit guarantee verified",
        3,
        6,
        "phase_exit",
    ),
    (
        "Track C: Outbox Logic",
        ["Tech Lead"],
        "After C3",
        "Append-only pattern validated",
        3,
        7,
        "phase_exit",
    ),
    (
        "Track C: Dispatcher",
        ["Tech Lead", "Ops"],
        "After C4",
        "Retry logic + cron setup approved",
        3,
        8,
        "phase_exit",
    ),
    (
        "Track C: Subscription API",
        ["Product Owner"],
        "After C5",
        "API contract approved",
        3,
        8,
        "phase_exit",
    ),
    (
        "Track C: Production Readiness",
        ["Tech Lead", "Ops", "Product Owner"],
        "After C6",
        "E2E tests pass, load tests pass",
        3,
        9,
        "go_no_go",
    ),
]

# Extra KPI-bound criteria, by gate name.
GATE_KPI_CRITERIA = {
    "Track D: Load Tests": [
        ("P95 < 500ms", "Load test P95 latency", "lt", 500),
        ("No connection pool exhaustion", "Connection pool utilization", "lt", 80),
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

PLAN = {
    "start_weeks_ago": START_WEEKS_AGO,
    "project": PROJECT,
    "phases": PHASES,
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
            "criteria": [
                (criteria, "manual", True, None, None, None),
                *[
                    (text, "kpi", True, kpi, comparator, threshold)
                    for text, kpi, comparator, threshold in GATE_KPI_CRITERIA.get(name, [])
                ],
            ],
        }
        for order, (name, approvers, timing, criteria, phase, due_day, kind) in enumerate(
            APPROVAL_GATES, start=1
        )
    ],
}
