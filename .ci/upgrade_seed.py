"""The upgrade check's (.ci/upgrade-check) database, filled by the old code: `migrate`,
`load_demo`, the benchmark's data at S=0.01 (bench.generate, as `make bench SCALE=0.01` seeds
it), then rows for the tables those leave empty, so that the upgrade migrates them too:
notification mutes, status snapshots, report subscriptions and deliveries, API tokens, outbox
tasks, risk escalations, a delegated signature, a refused one and a rejection. Last,
`verify_gate_audit`'s report is written to the file named by the first argument.

It runs in the tree of the check's OLD_COMMIT, read from standard input, in one process (each
start of Django costs seconds), and is written against that commit's code: when OLD_COMMIT moves
on, this file follows it. Rows go through that code's services where it has one, as the portal
would have written them."""

import io
import os
import socket
import sys
from datetime import timedelta


def _unreachable_broker() -> str:
    """A broker URL on a loopback port nothing listens on: every task sent is refused there and
    kept as an outbox task, as when the broker is away."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def main(audit_report: str) -> None:
    os.environ["CELERY_BROKER_URL"] = _unreachable_broker()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    from django.core.management import CommandError, call_command

    from bench.generate import Scale, generate

    call_command("migrate", interactive=False, verbosity=0)
    print("migrated")
    demo = io.StringIO()  # it lists the demo users' passwords, of no use here
    call_command("load_demo", stdout=demo)
    print(demo.getvalue().splitlines()[0])
    print(f"benchmark's data: {generate(Scale(0.01)).counts}")
    _rows_for_empty_tables()
    with open(audit_report, "w") as report:
        try:
            call_command("verify_gate_audit", verbosity=2, stdout=report, stderr=report)
        except CommandError as error:
            sys.exit(f"verify_gate_audit fails on the old code already: {error}")


def _rows_for_empty_tables() -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.utils import timezone
    from projects.outbox import enqueue

    from bench.generate import PASSWORD
    from gates import services as gate_services
    from gates.models import Gate, GateDelegation, GateState
    from metrics import tasks as metric_tasks
    from metrics.models import KPI, MetricSource
    from metrics.services import measurement_enter
    from projects import reports, services, tokens
    from projects.models import (
        ApiToken,
        Notification,
        NotificationKind,
        NotificationMute,
        OutboxTask,
        Programme,
        Project,
        StatusReportDelivery,
        StatusReportSubscription,
        StatusSnapshot,
    )
    from risks import tasks as risk_tasks
    from risks.models import RiskEscalation
    from risks.services import risk_escalate_overdue

    users = {user.username: user for user in get_user_model().objects.all()}
    now = timezone.now()
    today = timezone.localdate()
    demo = Programme.objects.get(slug="platform-migrations")
    bench_project = Project.objects.get(programme__slug="programme-office", code="P000")

    services.notification_mute_set(
        user=users["exec"], kind=NotificationKind.KPI_BREACHED, muted=True
    )
    services.notification_mute_set(
        user=users["bench-exec"], kind=NotificationKind.RISK_REVIEW_OVERDUE, muted=True
    )
    risk_escalate_overdue(now=now)
    services.notification_mark_read(user=users["pm"])

    reports.status_snapshot_record(today=today - timedelta(days=7))
    reports.status_snapshot_record(today=today)
    reports.report_subscription_set(user=users["exec"], subscribed=True, programme=demo)
    reports.report_subscription_set(user=users["pm"], subscribed=True, project=bench_project)
    last_week = reports.week_of(today - timedelta(days=7))
    for subscription in StatusReportSubscription.objects.order_by("pk"):
        # What status_reports_send leaves once a week's report went out (it mails PDFs).
        StatusReportDelivery.objects.create(
            subscription=subscription, week=last_week, claimed_at=now, sent_at=now
        )

    tokens.api_token_create(user=users["pm"], name="CI pipeline")
    revoked, _ = tokens.api_token_create(user=users["bench-pm"], name="Nightly export")
    tokens.api_token_revoke(token=revoked)

    enqueue(risk_tasks.risk_escalate_overdue, bench_project.pk)
    source = MetricSource.objects.order_by("pk").first()
    slot = now.replace(second=0, microsecond=0).isoformat()
    enqueue(metric_tasks.metric_source_poll, source.pk, slot, queue=settings.METRIC_POLL_QUEUE)

    kpi = KPI.objects.filter(project=bench_project).order_by("pk").first()
    measurement_enter(
        kpi=kpi, at=now.replace(microsecond=0), value=120.5, by=users["bench-pm"], note="By hand"
    )

    # The benchmark signed every other gate; of those left open, one is signed by a delegate
    # and one refuses someone's wrong password (the lockout keeps it), then its approver
    # rejects it.
    request = RequestFactory().post("/upgrade-check/", REMOTE_ADDR="127.0.0.1")
    open_gates = Gate.objects.filter(
        project__programme__slug="programme-office", state=GateState.OPEN
    ).order_by("pk")
    delegated, refused = open_gates[0], open_gates[1]
    delegator = delegated.approvers.get().user
    gate_services.gate_delegate(
        gate=delegated,
        delegator=delegator,
        delegate=users["bench-pm"],
        until=now + timedelta(days=7),
        by=delegator,
    )
    gate_services.gate_sign(
        gate=delegated,
        signer=users["bench-pm"],
        decision="approve_with_conditions",
        conditions="Rollback rehearsed again before the next stage.",
        password=PASSWORD,
        seen_hash=gate_services.gate_current_hash(delegated),
        request=request,
    )
    try:
        gate_services.gate_sign(
            gate=refused,
            signer=users["bench-exec"],
            decision="approve",
            password="not-the-password",  # noqa: S106
            seen_hash=gate_services.gate_current_hash(refused),
            request=request,
        )
    except gate_services.PasswordRefused:
        pass
    else:
        raise SystemExit("upgrade_seed: a wrong password signed a gate")
    gate_services.gate_sign(
        gate=refused,
        signer=refused.approvers.get().user,
        decision="reject",
        password=PASSWORD,
        seen_hash=gate_services.gate_current_hash(refused),
        request=request,
        comment="Error budget spent this week.",
    )

    seeded = {
        "projects_notification": Notification.objects.count(),
        "projects_notificationmute": NotificationMute.objects.count(),
        "projects_statussnapshot": StatusSnapshot.objects.count(),
        "projects_statusreportsubscription": StatusReportSubscription.objects.count(),
        "projects_statusreportdelivery": StatusReportDelivery.objects.count(),
        "projects_apitoken": ApiToken.objects.count(),
        "projects_outboxtask": OutboxTask.objects.count(),
        "risks_riskescalation": RiskEscalation.objects.count(),
        "gates_gatedelegation": GateDelegation.objects.count(),
    }
    empty = [table for table, count in seeded.items() if not count]
    if empty:
        raise SystemExit(f"upgrade_seed: still empty after seeding: {', '.join(empty)}")
    print("seeded: " + ", ".join(f"{table} {count}" for table, count in seeded.items()))


if __name__ == "__main__":
    main(sys.argv[1])
