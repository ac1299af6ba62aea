"""The Redis to PostgreSQL migration of the provider API
(demo/data/plans/redis-to-postgresql-provider-api.md).

Days count from the project's start; the loader places the project in week 11, with the
foundation phase closed and dual-write running.
"""

START_WEEKS_AGO = 10

PROJECT = {
    "code": "PROVIDER-API",
    "name": "Provider API: Redis to PostgreSQL",
    "status": "in_progress",
    "summary": (
        "Migrate the Provider/Location/Care Team API from Redis as its primary data store to "
        "PostgreSQL, so that complex relational queries run in the database and API response "
        "times fall from 10+ seconds to milliseconds. Scope: 500K providers, 1.2M locations and "
        "200K care teams (30 GB); 15 API endpoints refactored; nested JSON redesigned as a "
        "normalized relational schema; ingestion pipeline writing to PostgreSQL.\n"
        "Out of scope: rewriting API contracts; real-time streaming ingestion; multi-region "
        "replication; GraphQL; data archival; authentication/authorization changes."
    ),
    "approach": (
        "Dual-write strategy with zero-downtime deployment: backfill PostgreSQL, write to both "
        "stores, move the API to PostgreSQL-backed endpoints, then cut over behind a feature "
        "flag (5% → 25% → 50% → 100%) and decommission Redis."
    ),
    "approach_rationale": (
        "The data evolved over 7 years into relational shapes that in-memory queries on nested "
        "objects cannot serve: 10+ second responses, memory limits on growth, no joins or "
        "indices on nested fields. Success criteria: API p95 latency < 500ms; API p99 latency "
        "< 1 second; zero data loss during migration; 100% feature parity with the existing API."
    ),
    "manager_name": "Backend Lead",
    "stakeholders": (
        "Engineering team (3 engineers)\nProduct\nInternal services that depend on the API\n"
        "QA team\nDevOps\nFinance"
    ),
    "budget_planned": 0,
    "budget_spent": 0,
    "currency": "USD",
    "baseline_days": (0, 167),
    "forecast_end_day": 167,
}

PHASES = [
    {
        "order": 1,
        "name": "Foundation",
        "timing": "Months 1-2",
        "goal": (
            "Design the normalized PostgreSQL schema; set up PostgreSQL; create migration scripts "
            "to transform Redis JSON into PostgreSQL tables; perform the initial bulk data "
            "migration (backfill); validate data integrity (row counts, spot checks, foreign keys)."
        ),
        "baseline_days": (0, 55),
        "forecast_days": (0, 55),
        "status": "done",
        "actual_end_day": 55,
        "resource_needs": "3 engineers; DevOps for infrastructure provisioning (PostgreSQL RDS, PgBouncer)",
        "success_criteria": (
            "Schema design 100% complete by Week 4\n"
            "Data migration validation pass rate 99.99%\n"
            "Row counts, spot checks and foreign keys validated after the production backfill"
        ),
        "sections": [
            (
                "Week 1-2: Schema design and review",
                11,
                "Backend Lead",
                [
                    "Map all 15 API endpoints to required tables/queries",
                    "Design normalized schema (providers, locations, care_teams, relationships)",
                    "Define indices for common access patterns",
                    "Review schema with team and stakeholders",
                ],
            ),
            (
                "Week 3-4: Infrastructure setup",
                25,
                "DevOps Lead",
                [
                    "Provision PostgreSQL RDS instance (or self-hosted)",
                    "Set up PgBouncer connection pooler",
                    "Configure backups and replication",
                    "Create staging environment",
                ],
            ),
            (
                "Week 5-6: Initial data migration",
                39,
                "Backend Lead",
                [
                    "Write migration scripts (Redis JSON → PostgreSQL tables)",
                    "Run migration on staging data",
                    "Validate data integrity (automated tests)",
                    "Optimize migration performance (parallel loads)",
                ],
            ),
            (
                "Week 7-8: Production backfill",
                53,
                "Backend Lead",
                [
                    "Schedule maintenance window (if needed)",
                    "Run production data migration",
                    "Validate row counts, spot checks, foreign keys",
                    "Document data mapping and transformation logic",
                ],
            ),
            (
                "Instrumentation",
                53,
                "DevOps Lead",
                [
                    "Set up PostgreSQL monitoring (CloudWatch RDS metrics or pg_stat_statements)",
                    "Create data validation dashboard (row counts by table, foreign key violations)",
                ],
            ),
        ],
        "done_through_day": 55,
    },
    {
        "order": 2,
        "name": "Dual-Write Implementation",
        "timing": "Month 3",
        "goal": (
            "Update the ingestion pipeline to write to both Redis and PostgreSQL; add a "
            "reconciliation process to detect data drift; monitor dual-write for consistency; fix "
            "any data model mismatches discovered."
        ),
        "baseline_days": (56, 83),
        "forecast_days": (56, 83),
        "status": "in_progress",
        "resource_needs": "3 engineers; Data Engineer leads the ingestion refactor",
        "success_criteria": (
            "Dual-write data drift < 0.01% divergence\n"
            "Ingestion pipeline success rate 99%+ to PostgreSQL"
        ),
        "sections": [
            (
                "Week 9-10: Ingestion pipeline refactor",
                67,
                "Data Engineer",
                [
                    "Update pipeline to write to both Redis AND PostgreSQL",
                    "Add transaction management",
                    "Implement upsert logic (INSERT ON CONFLICT)",
                    "Test with sample data files",
                ],
            ),
            (
                "Week 11-12: Dual-write validation",
                81,
                "Data Engineer",
                [
                    "Deploy dual-write to production",
                    "Run reconciliation job (hourly comparison)",
                    "Monitor for data drift",
                    "Fix any inconsistencies discovered",
                ],
            ),
            (
                "Instrumentation",
                81,
                "Data Engineer",
                [
                    "Add reconciliation job with Slack/email alerts on divergence",
                    "Track dual-write latency (time to write to both Redis and PostgreSQL)",
                ],
            ),
        ],
        # Week 9-10 done; of week 11-12, the deployment and the reconciliation job are.
        "done_through_day": 67,
        "also_done": [
            "Deploy dual-write to production",
            "Run reconciliation job (hourly comparison)",
        ],
    },
    {
        "order": 3,
        "name": "API Migration",
        "timing": "Months 4-5",
        "goal": (
            "Create new API endpoints backed by PostgreSQL (e.g. /v2/providers); optimize queries "
            "(indices, EXPLAIN ANALYZE); add a query result caching layer; load test; gradually "
            "migrate internal services; run shadow traffic and compare results."
        ),
        "baseline_days": (84, 139),
        "forecast_days": (84, 139),
        "status": "not_started",
        "resource_needs": "3 engineers; QA team for integration testing",
        "success_criteria": (
            "Load test: 10 req/s sustained with p95 < 500ms, p99 < 1s\n"
            "API integration test pass rate 100%\n"
            "Shadow traffic responses match between old and new endpoints"
        ),
        "sections": [
            (
                "Week 13-14: New endpoint implementation",
                95,
                "Backend Lead",
                [
                    "Create PostgreSQL-backed versions of 15 endpoints",
                    "Implement optimized SQL queries with JOINs",
                    "Add connection pooling and error handling",
                    "Unit tests and integration tests",
                ],
            ),
            (
                "Week 15-16: Query optimization",
                109,
                "Backend Lead",
                [
                    "Run EXPLAIN ANALYZE on all queries",
                    "Add missing indices",
                    "Optimize slow queries (subqueries → joins, pagination)",
                    "Add query result caching layer",
                ],
            ),
            (
                "Week 17-18: Load testing",
                123,
                "Backend Lead",
                [
                    "Load test with production traffic patterns (10 req/s peak)",
                    "Identify bottlenecks (slow queries, connection limits)",
                    "Tune database configuration (work_mem, shared_buffers)",
                    "Achieve target: p95 < 500ms, p99 < 1s",
                ],
            ),
            (
                "Week 19-20: Internal migration",
                137,
                "Product Manager",
                [
                    "Update internal services to use new endpoints (gradual)",
                    "Run shadow traffic (send to both, compare results)",
                    "Fix any discrepancies in response format",
                ],
            ),
            (
                "Instrumentation",
                137,
                "Backend Lead",
                [
                    "Add APM instrumentation to new PostgreSQL-backed endpoints",
                    "Create comparison dashboard (old vs new endpoint latency, error rates)",
                    "Shadow traffic analysis (% of responses matching between old/new)",
                ],
            ),
        ],
    },
    {
        "order": 4,
        "name": "Cutover & Decommission",
        "timing": "Month 6",
        "goal": (
            "Switch traffic from Redis to PostgreSQL behind a feature flag in a gradual rollout "
            "(5% → 25% → 50% → 100%); deprecate the old endpoints; stop dual-write; decommission "
            "the Redis cache and old API code; ingestion writes only to PostgreSQL."
        ),
        "baseline_days": (140, 167),
        "forecast_days": (140, 167),
        "status": "not_started",
        "resource_needs": "3 engineers; on-call engineer during cutover; DevOps",
        "success_criteria": (
            "100% of traffic on PostgreSQL, rolled back automatically if the error rate passes 1%\n"
            "Redis cache decommissioned\nPost-migration retrospective held"
        ),
        "sections": [
            (
                "Week 21-22: Feature flag rollout",
                151,
                "DevOps Lead",
                [
                    "Deploy feature flag (5% → 25% → 50% → 100%)",
                    "Monitor error rates, latency, database load",
                    "Rollback if error rate > 1%",
                    "Achieve 100% traffic on PostgreSQL",
                ],
            ),
            (
                "Week 23-24: Cleanup and decommission",
                165,
                "Backend Lead",
                [
                    "Deprecate old Redis-backed endpoints",
                    "Stop dual-write to Redis",
                    "Archive Redis data (backup)",
                    "Decommission Redis cache",
                    "Update documentation",
                    "Post-migration retrospective",
                ],
            ),
            (
                "Instrumentation",
                151,
                "DevOps Lead",
                [
                    "Real-time dashboard for feature flag rollout (% traffic on PostgreSQL)",
                    "Alert on error rate > 1% or p95 latency > 2 seconds",
                    "Database load metrics (CPU, connections, disk I/O)",
                ],
            ),
        ],
    },
]

LOW, MEDIUM, HIGH, CRITICAL = 2, 3, 4, 5

# (key, title, description, category, likelihood, impact, mitigation lines, owner title, status)
RISKS = [
    (
        "R1",
        "Data loss during bulk migration",
        "Migration script drops records, foreign keys violated",
        "technical",
        MEDIUM,
        HIGH,
        [
            "Dry-run migration on staging data first",
            "Compare row counts before/after",
            "Automated data validation scripts",
            "Keep Redis as backup during dual-write phase",
        ],
        "Backend Lead",
        "mitigating",
    ),
    (
        "R2",
        "PostgreSQL queries slower than expected",
        "Missing indices, unoptimized queries, N+1 problems",
        "technical",
        HIGH,
        HIGH,
        [
            "Run EXPLAIN ANALYZE on all queries",
            "Create indices for common access patterns",
            "Load test with production-like data",
            "Add query result caching layer",
            "Set query timeout limits",
        ],
        "Backend Lead",
        "open",
    ),
    (
        "R3",
        "Data inconsistency between Redis and PostgreSQL during dual-write",
        "Race conditions, timing issues",
        "technical",
        MEDIUM,
        HIGH,
        [
            "Implement idempotent writes",
            "Add reconciliation job (hourly comparison)",
            "Alert on divergence > 0.1%",
            "Transaction logs for debugging",
            "Make PostgreSQL source of truth",
        ],
        "Backend Lead",
        "mitigating",
    ),
    (
        "R4",
        "Ingestion pipeline breaks",
        "Custom code doesn't write to PostgreSQL correctly",
        "operational",
        MEDIUM,
        HIGH,
        [
            "Refactor ingestion in Phase 2 (dual-write)",
            "Test with sample data files",
            "Add retry logic and dead-letter queue",
            "Monitor ingestion lag/errors",
            "Rollback plan to Redis-only writes",
        ],
        "Data Engineer",
        "mitigating",
    ),
    (
        "R5",
        "Production outage during cutover",
        "Feature flag misconfiguration, cascading failures",
        "operational",
        MEDIUM,
        CRITICAL,
        [
            "Gradual rollout (5% → 25% → 50% → 100%)",
            "Automated rollback if error rate > 1%",
            "Dry-run cutover in staging",
            "On-call engineer during cutover",
            "Runbook for common issues",
        ],
        "DevOps Lead",
        "open",
    ),
    (
        "R6",
        "API contract changes break internal services",
        "Response format different, missing fields",
        "organizational",
        LOW,
        HIGH,
        [
            "Maintain exact same JSON schema",
            "Integration tests comparing old vs new",
            "Shadow traffic validation",
            "Early communication to dependent teams",
            "Deprecation timeline with 3-month notice",
        ],
        "Product Manager",
        "open",
    ),
    (
        "R7",
        "Database connection pool exhaustion",
        "Concurrent queries exceed pool size, timeouts",
        "technical",
        MEDIUM,
        MEDIUM,
        [
            "Set connection pool size based on load tests",
            "Implement PgBouncer for connection pooling",
            "Add connection timeout and retry logic",
            "Monitor active connections",
            "Query timeout limits (5 seconds max)",
        ],
        "Backend Lead",
        "open",
    ),
    (
        "R8",
        "Long-running queries lock tables",
        "Ingestion updates conflict with API reads",
        "technical",
        MEDIUM,
        MEDIUM,
        [
            "Use row-level locking (SELECT FOR UPDATE SKIP LOCKED)",
            "Ingestion runs in batched transactions",
            "Schedule ingestion during low-traffic hours",
            "Add read replicas for API queries",
            "Monitor lock waits",
        ],
        "Backend Lead",
        "open",
    ),
    (
        "R9",
        "Timeline slips to 9-12 months",
        "Underestimated complexity, 3 engineers not enough",
        "organizational",
        HIGH,
        MEDIUM,
        [
            "Weekly progress reviews",
            "Cut scope if falling behind (delay query caching, keep phase 1-3 only)",
            "Bring in contractor for 2-3 months if needed",
            "Prioritize P0 features (basic queries) over P1 (complex joins)",
        ],
        "Engineering Manager",
        "open",
    ),
    (
        "R10",
        "Team burnout",
        "6-month high-intensity project with only 3 people",
        "organizational",
        MEDIUM,
        MEDIUM,
        [
            "Rotate on-call responsibilities",
            "Timebox work (no weekends)",
            "Celebrate milestones (Phase completions)",
            "Provide training budget for PostgreSQL skills",
            "Plan post-migration recovery time",
        ],
        "Engineering Manager",
        "open",
    ),
    (
        "R11",
        "Infrastructure costs exceed budget",
        "PostgreSQL RDS more expensive than expected",
        "financial",
        MEDIUM,
        LOW,
        [
            "Right-size instance based on load tests (don't over-provision)",
            "Use reserved instances for 1-year commit",
            "Monitor query costs with pg_stat_statements",
            "Decommission Redis after cutover to offset costs",
            "Consider Aurora Serverless for variable load",
        ],
        "Finance/DevOps",
        "open",
    ),
    (
        "R12",
        "Schema design flaws discovered mid-migration",
        "Normalized schema missing fields, join patterns wrong",
        "technical",
        LOW,
        HIGH,
        [
            "Thorough schema review in Phase 1",
            "Map ALL existing queries to new schema",
            "Prototype complex queries early",
            "Schema migration tool for changes (Alembic)",
            "Budget 2 weeks in Phase 1 for iteration",
        ],
        "Backend Lead",
        "mitigating",
    ),
]

DAILY, WEEKLY, MONTHLY, REALTIME = 1, 7, 30, 5 / (24 * 60)

# name: (category, kind, unit, baseline text, baseline value, comparator, target, warning,
#        target text, method, cadence in days, owner title, phase order, description)
KPIS = {
    "Schema design completion": (
        "project",
        "leading",
        "%",
        "0%",
        0,
        "gte",
        100,
        None,
        "100% by Week 4",
        "Checklist: all tables, indices, foreign keys defined",
        WEEKLY,
        "Backend Lead",
        1,
        "",
    ),
    "Data migration validation pass rate": (
        "technical",
        "leading",
        "%",
        "N/A",
        None,
        "gte",
        99.99,
        None,
        "99.99% match",
        "Automated comparison script (row counts, sample records)",
        DAILY,
        "Backend Lead",
        1,
        "Measured per migration run.",
    ),
    "PostgreSQL query performance in staging (p95)": (
        "technical",
        "leading",
        "ms",
        "N/A",
        None,
        "lt",
        500,
        400,
        "p95 < 500ms",
        "Load test results with production-like data",
        WEEKLY,
        "Backend Lead",
        3,
        "Weekly during Phase 3.",
    ),
    "Dual-write data drift rate": (
        "technical",
        "leading",
        "%",
        "N/A",
        None,
        "lt",
        0.01,
        0.005,
        "< 0.01% divergence",
        "Hourly reconciliation job comparing Redis vs PostgreSQL",
        DAILY,
        "Data Engineer",
        2,
        "Daily during Phase 2-3.",
    ),
    "API integration test pass rate": (
        "technical",
        "leading",
        "%",
        "100% (baseline)",
        100,
        "eq",
        100,
        None,
        "100% (maintain)",
        "CI/CD test suite comparing old vs new endpoints",
        DAILY,
        "QA Lead",
        3,
        "Measured per commit.",
    ),
    "Ingestion pipeline success rate": (
        "technical",
        "leading",
        "%",
        "95% (current)",
        95,
        "gte",
        99,
        None,
        "99%+ to PostgreSQL",
        "Pipeline monitoring logs, success/failure counts",
        DAILY,
        "Data Engineer",
        2,
        "",
    ),
    "Load test p95 latency at 10 req/s": (
        "technical",
        "leading",
        "ms",
        "N/A",
        None,
        "lt",
        500,
        400,
        "10 req/s sustained with p95 < 500ms",
        "k6/Locust load tests against PostgreSQL-backed API",
        WEEKLY,
        "Backend Lead",
        3,
        "Weekly during Phase 3.",
    ),
    "API p95 latency": (
        "technical",
        "lagging",
        "ms",
        "~10-15 seconds",
        12500,
        "lt",
        500,
        400,
        "< 500ms",
        "APM tool (Datadog, New Relic)",
        REALTIME,
        "Backend Lead",
        None,
        "",
    ),
    "API p99 latency": (
        "technical",
        "lagging",
        "ms",
        "15-20 seconds",
        17500,
        "lt",
        1000,
        800,
        "< 1 second",
        "APM tool",
        REALTIME,
        "Backend Lead",
        None,
        "",
    ),
    "API error rate": (
        "technical",
        "lagging",
        "%",
        "0.5%",
        0.5,
        "lte",
        0.5,
        None,
        "< 0.5% (maintain or improve)",
        "Error logs, HTTP 5xx rate",
        REALTIME,
        "Backend Lead",
        None,
        "",
    ),
    "Database query time (avg)": (
        "technical",
        "lagging",
        "ms",
        "N/A",
        None,
        "lt",
        100,
        80,
        "< 100ms average",
        "PostgreSQL pg_stat_statements",
        DAILY,
        "Backend Lead",
        None,
        "",
    ),
    "Database connection pool usage": (
        "technical",
        "lagging",
        "%",
        "N/A",
        None,
        "lt",
        70,
        60,
        "< 70% of pool size",
        "PostgreSQL metrics",
        REALTIME,
        "DevOps",
        None,
        "",
    ),
    "Ingestion pipeline duration": (
        "technical",
        "lagging",
        "min",
        "~2 hours per run",
        120,
        "lt",
        60,
        50,
        "< 1 hour per run",
        "Pipeline job logs",
        DAILY,
        "Data Engineer",
        None,
        "Measured per ingestion run.",
    ),
    "Data freshness": (
        "technical",
        "lagging",
        "h",
        "Updated thrice daily",
        8,
        "lte",
        8,
        None,
        "Updated thrice daily (maintain)",
        "Max(updated_at) timestamp",
        DAILY,
        "Data Engineer",
        None,
        "Hours since the newest update; thrice daily means at most 8.",
    ),
    "Infrastructure cost (monthly)": (
        "business",
        "lagging",
        "USD/month",
        "Redis: ~$500/mo",
        500,
        "lt",
        1500,
        1200,
        "PostgreSQL RDS: < $1500/mo",
        "AWS billing",
        MONTHLY,
        "Finance",
        None,
        "",
    ),
    "Dependent service uptime": (
        "business",
        "lagging",
        "%",
        "99.9%",
        99.9,
        "gte",
        99.9,
        None,
        "99.9% (maintain during migration)",
        "Service health checks",
        REALTIME,
        "Product Manager",
        None,
        "",
    ),
    "Data integrity: records lost or corrupted": (
        "technical",
        "counter",
        "records",
        "",
        None,
        "eq",
        0,
        None,
        "Zero tolerance for data loss or corruption",
        "Automated data validation scripts",
        DAILY,
        "Backend Lead",
        None,
        "Patient safety depends on accurate provider/location data.",
    ),
    "API availability during migration": (
        "technical",
        "counter",
        "%",
        "",
        None,
        "gte",
        99.5,
        99.7,
        "Must maintain 99.5%+ uptime during migration",
        "Service health checks",
        REALTIME,
        "DevOps",
        None,
        "Internal services cannot tolerate prolonged outages.",
    ),
    "Feature parity": (
        "technical",
        "counter",
        "%",
        "",
        None,
        "eq",
        100,
        None,
        "100% of existing queries must work",
        "Integration tests comparing old vs new",
        DAILY,
        "QA Lead",
        None,
        "Cannot break existing integrations with internal services.",
    ),
    "Team morale: forced weekend work days": (
        "project",
        "counter",
        "days",
        "",
        None,
        "eq",
        0,
        None,
        "No forced weekend work, reasonable hours",
        "Weekly progress reviews",
        WEEKLY,
        "Engineering Manager",
        None,
        "Sustainable pace needed for quality and long-term retention.",
    ),
    "Security posture": (
        "technical",
        "counter",
        "",
        "",
        None,
        None,
        None,
        None,
        "No relaxation of access controls or encryption",
        "Security review",
        MONTHLY,
        "Engineering Manager",
        None,
        "Healthcare data requires strict compliance (HIPAA if applicable).",
    ),
}

ROLLOUT_CRITERIA = [
    ("Rollback if error rate > 1%", "kpi", True, "API error rate", "lte", 1),
    ("p95 latency under the 2-second alert threshold", "kpi", True, "API p95 latency", "lt", 2000),
    ("Dual-write drift < 0.01%", "kpi", True, "Dual-write data drift rate", "lt", 0.01),
    ("Database connection pool < 70%", "kpi", False, "Database connection pool usage", "lt", 70),
    ("On-call engineer present for the stage", "manual", True, None, None, None),
]

GATES = [
    {
        "order": 1,
        "name": "Phase 1 exit: Foundation",
        "kind": "phase_exit",
        "phase": 1,
        "timing": "End of Phase 1 (Month 2)",
        "due_day": 55,
        "state": "open",
        "approvers": [("Engineering Manager", "approver")],
        "criteria": [
            ("Schema design 100% complete", "kpi", True, "Schema design completion", "gte", 100),
            (
                "Data migration validation 99.99% match",
                "kpi",
                True,
                "Data migration validation pass rate",
                "gte",
                99.99,
            ),
            (
                "Row counts, spot checks and foreign keys validated",
                "manual",
                True,
                None,
                None,
                None,
            ),
            ("Phase 1 checklist complete", "checklist", False, 1, None, None),
        ],
    },
    {
        "order": 2,
        "name": "Phase 2 exit: Dual-write",
        "kind": "phase_exit",
        "phase": 2,
        "timing": "End of Month 3",
        "due_day": 83,
        "approvers": [("Engineering Manager", "approver")],
        "criteria": [
            (
                "Dual-write data drift < 0.01%",
                "kpi",
                True,
                "Dual-write data drift rate",
                "lt",
                0.01,
            ),
            (
                "Ingestion pipeline success 99%+",
                "kpi",
                True,
                "Ingestion pipeline success rate",
                "gte",
                99,
            ),
            ("Phase 2 checklist complete", "checklist", True, 2, None, None),
        ],
    },
    {
        "order": 3,
        "name": "Cutover go/no-go",
        "kind": "go_no_go",
        "phase": 4,
        "timing": "End of Month 5, before the feature flag rollout",
        "due_day": 139,
        "description": "Decide whether to start moving traffic from Redis to PostgreSQL.",
        "approvers": [("Engineering Manager", "approver"), ("Product Manager", "approver")],
        "criteria": [
            (
                "API p95 latency < 500ms (from 10+ seconds)",
                "kpi",
                True,
                "API p95 latency",
                "lt",
                500,
            ),
            ("API p99 latency < 1 second", "kpi", True, "API p99 latency", "lt", 1000),
            (
                "Zero data loss during migration",
                "kpi",
                True,
                "Data integrity: records lost or corrupted",
                "eq",
                0,
            ),
            ("100% feature parity with existing API", "manual", True, None, None, None),
            (
                "Load test: 10 req/s sustained with p95 < 500ms",
                "kpi",
                True,
                "Load test p95 latency at 10 req/s",
                "lt",
                500,
            ),
            (
                "Staging p95 < 500ms",
                "kpi",
                True,
                "PostgreSQL query performance in staging (p95)",
                "lt",
                500,
            ),
            (
                "API integration tests 100% pass",
                "kpi",
                True,
                "API integration test pass rate",
                "eq",
                100,
            ),
            (
                "Phase 3 checklist complete (shadow traffic compared, discrepancies fixed)",
                "checklist",
                True,
                3,
                None,
                None,
            ),
            ("Dry-run cutover in staging done", "manual", True, None, None, None),
            ("Runbook for common issues written", "manual", True, None, None, None),
            (
                "Dependent teams given the deprecation timeline (3-month notice)",
                "manual",
                False,
                None,
                None,
                None,
            ),
        ],
    },
    *[
        {
            "order": 3 + index,
            "name": f"Rollout stage: {percent}% of traffic on PostgreSQL",
            "kind": "rollout_stage",
            "rollout_percent": percent,
            "phase": 4,
            "timing": "Weeks 21-22",
            "due_day": 140 + 3 * (index - 1),
            "approvers": [("DevOps Lead", "approver")],
            "criteria": ROLLOUT_CRITERIA,
        }
        for index, percent in enumerate((5, 25, 50, 100), start=1)
    ],
    {
        "order": 8,
        "name": "Phase 4 exit: Decommission",
        "kind": "phase_exit",
        "phase": 4,
        "timing": "End of Month 6",
        "due_day": 167,
        "approvers": [("Engineering Manager", "approver")],
        "criteria": [
            ("100% of traffic on PostgreSQL", "manual", True, None, None, None),
            (
                "Phase 4 checklist complete (Redis archived and decommissioned)",
                "checklist",
                True,
                4,
                None,
                None,
            ),
            (
                "Feature parity: 100% of existing queries work",
                "kpi",
                True,
                "Feature parity",
                "eq",
                100,
            ),
            ("Zero data loss", "kpi", True, "Data integrity: records lost or corrupted", "eq", 0),
        ],
    },
]


def _items(phase: dict) -> list[tuple]:
    done_through = phase.get("done_through_day", -1)
    also_done = set(phase.get("also_done", ()))
    return [
        (section, "task", title, owner, due, due <= done_through or title in also_done)
        for section, due, owner, titles in phase["sections"]
        for title in titles
    ]


KPI_FIELDS = (
    "category",
    "kind",
    "unit",
    "baseline_text",
    "baseline_value",
    "comparator",
    "target_value",
    "warning_value",
    "target_text",
    "method",
    "cadence_days",
    "owner_title",
    "phase",
    "description",
)

# The team's names for what the plan calls otherwise: {name in Waymark: name in the plan}.
KPIS_FROM_PLAN = {
    "PostgreSQL query performance in staging (p95)": "PostgreSQL query performance in staging",
    "Load test p95 latency at 10 req/s": "Load test results",
    "Data integrity: records lost or corrupted": "Data integrity",
    "API availability during migration": "API availability",
    "Team morale: forced weekend work days": "Team morale",
}
GATES_FROM_PLAN = {
    "Cutover go/no-go": "Release go/no-go",
    **{
        f"Rollout stage: {percent}% of traffic on PostgreSQL": f"Rollout stage: {percent}% of traffic"
        for percent in (5, 25, 50, 100)
    },
}

PLAN = {
    "file": "redis-to-postgresql-provider-api.md",
    "start_weeks_ago": START_WEEKS_AGO,
    "kpis_from_plan": KPIS_FROM_PLAN,
    "gates_from_plan": GATES_FROM_PLAN,
    "project": PROJECT,
    "phases": [{**phase, "items": _items(phase)} for phase in PHASES],
    "risks": [
        {
            "key": key,
            "title": title,
            "description": description,
            "category": category,
            "likelihood": likelihood,
            "impact": impact,
            "mitigation": "\n".join(f"{n}) {line}" for n, line in enumerate(mitigation, 1)),
            "owner_title": owner,
            "status": status,
            "actions": mitigation,
        }
        for key, title, description, category, likelihood, impact, mitigation, owner, status in RISKS
    ],
    "kpis": [
        {"name": name, **dict(zip(KPI_FIELDS, values, strict=True))}
        for name, values in KPIS.items()
    ],
    "gates": GATES,
}
