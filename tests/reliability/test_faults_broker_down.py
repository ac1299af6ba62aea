"""The broker down when a request asks for work: the request answers at once and keeps the
task in the outbox; once the broker is back the periodic resend sends it, and it runs once."""

import time
from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxTask
from notifications.models import Notification
from risks import services
from risks.models import RiskEscalation
from tests.reliability.processes import (
    RedisServer,
    app_env,
    database_url_of_test,
    start_web,
    start_worker,
    wait_for,
)

TASK = "risks.tasks.risk_escalate_overdue"


@pytest.fixture
def private_broker(tmp_path):
    broker = RedisServer(log_dir=tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.mark.django_db(transaction=True)
def test_work_asked_for_while_the_broker_is_down_is_kept_and_runs_once_it_is_back(
    tmp_path, isolated_cache, private_broker, project_a, alice
):
    project_a.manager = alice
    project_a.save()
    risk = services.risk_create(
        project=project_a,
        by=alice,
        title="Production outage during cutover",
        likelihood=3,
        impact=5,
        assessed_at=timezone.now() - timedelta(hours=30),
    )
    env = app_env(
        log_dir=tmp_path,
        cache_url=isolated_cache,
        database_url=database_url_of_test(),
        CELERY_BROKER_URL=private_broker.url,
        OUTBOX_RESEND_SECONDS="0.5",
    )
    web, url = start_web(log_dir=tmp_path, env=env)
    browser = Client()
    browser.force_login(alice)
    register = f"{url}{reverse('risk-register', args=[project_a.pk])}"
    with httpx.Client(cookies={"sessionid": browser.cookies["sessionid"].value}) as user:
        assert user.get(register).status_code == 200  # and a CSRF cookie
        private_broker.kill()

        started = time.monotonic()
        answer = user.post(
            f"{url}{reverse('risk-escalation-check', args=[project_a.pk])}",
            headers={"X-CSRFToken": user.cookies["csrftoken"]},
        )
        answered_in = time.monotonic() - started
        assert answer.status_code == 302, web.output()[-3000:]
        assert answered_in < 2.0
        page = user.get(register)
        assert page.status_code == 200
        assert "Escalation check queued" in page.text
    web.stop()

    (kept,) = OutboxTask.objects.all()
    assert (kept.task, kept.args) == (TASK, [project_a.pk])
    assert "127.0.0.1" in kept.last_error  # the broker's refusal, for the operator
    assert not RiskEscalation.objects.exists()

    private_broker.start()  # on the same port, empty: nothing reached the old one
    worker = start_worker("worker", queue="celery", log_dir=tmp_path, env=env, beat=True)
    try:
        wait_for(RiskEscalation.objects.exists, timeout=30, what="the kept task running")
        resent_after = time.monotonic() - started
        time.sleep(2)  # several more resend rounds: none may send it again
        runs = worker.output().count(f"Task {TASK}[")
        succeeded = worker.output().count("succeeded")
    finally:
        worker.kill()
    assert not OutboxTask.objects.exists()
    assert RiskEscalation.objects.filter(risk=risk).count() == 1
    assert Notification.objects.filter(user=alice, kind="risk_escalated").count() == 1
    assert runs == 2  # "received" and "succeeded", of one run
    assert succeeded >= 2  # the escalation and the resend itself, at least
    print(
        f"\nbroker down: request answered in {answered_in * 1000:.0f} ms; task kept, resent and "
        f"run once, {resent_after:.1f} s after the request"
    )
