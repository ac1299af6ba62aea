"""Work is sent through one function, and what the broker cannot take is kept and resent."""

import ast
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from config.celery import app
from core.models import OutboxTask
from core.outbox import enqueue, outbox_resend
from risks.tasks import risk_escalate_overdue
from tests.config.test_settings import OWN_PACKAGES, ROOT

SENDING = {"delay", "apply_async", "delay_on_commit", "apply_async_on_commit", "send_task"}

# Enqueue with no broker listening, then try to resend: both kept, quickly.
UNREACHABLE = """
import json, time, django
django.setup()
from core.outbox import enqueue, outbox_resend
from core.models import OutboxTask
from risks.tasks import risk_escalate_overdue
started = time.monotonic()
enqueue(risk_escalate_overdue, 42)
enqueued_in = time.monotonic() - started
resent = outbox_resend()
print(json.dumps({"enqueued_in": enqueued_in, "resent": resent}))
"""


def _sending_calls(folders: list[Path]) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SENDING
                ):
                    found.append(f"{path.relative_to(folder.parent)}:{node.lineno}")
    return found


def test_nothing_sends_a_task_around_the_outbox():
    calls = _sending_calls([ROOT / app for app in OWN_PACKAGES])
    assert [call for call in calls if not call.startswith("core/outbox.py:")] == []
    assert calls  # the outbox's own send is found


def test_the_scan_finds_each_way_of_sending(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(
        "task.delay(1)\ntask.apply_async(args=[1])\ntask.delay_on_commit(1)\napp.send_task('x')\n"
    )
    assert _sending_calls([tmp_path / "app"]) == [f"app/views.py:{n}" for n in (1, 2, 3, 4)]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.mark.django_db(transaction=True)
def test_a_task_the_broker_cannot_take_is_kept_without_making_the_caller_wait(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", UNREACHABLE],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "WAYMARK_VAR_DIR": str(tmp_path),
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{_closed_port()}/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    # A refused connection is given up after one quick retry (some 0.2 s when the machine is
    # idle): well inside a page's patience even on a loaded machine, where a sender that kept
    # retrying would hang the request for good.
    assert answer["enqueued_in"] < 10.0
    assert answer["resent"] == 0
    (kept,) = OutboxTask.objects.all()
    assert (kept.task, kept.args, kept.queue) == ("risks.tasks.risk_escalate_overdue", [42], "")
    assert kept.attempts == 1  # the resend was refused too, and counted
    assert "Connection refused" in kept.last_error


@pytest.mark.django_db(transaction=True)
def test_kept_tasks_are_sent_once_and_leave_the_outbox(test_queue):
    OutboxTask.objects.create(task="risks.tasks.risk_escalate_overdue", args=[7], queue=test_queue)
    assert outbox_resend() == 1
    assert outbox_resend() == 0
    assert not OutboxTask.objects.exists()
    with app.connection_for_read() as broker:
        queue = broker.SimpleQueue(test_queue)
        message = queue.get(timeout=10)
        message.ack()
        assert message.headers["task"] == "risks.tasks.risk_escalate_overdue"
        assert message.decode()[0] == [7]
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.5)  # sent once
        queue.close()


@pytest.mark.django_db
def test_enqueue_waits_for_the_commit(django_capture_on_commit_callbacks, test_queue):
    with django_capture_on_commit_callbacks() as callbacks:
        enqueue(risk_escalate_overdue, 1, queue=test_queue)
    assert len(callbacks) == 1  # nothing sent before the transaction commits
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_administrator_resends_only_the_tasks_selected(client, superuser, test_queue):
    chosen, left = (
        OutboxTask.objects.create(
            task="risks.tasks.risk_escalate_overdue", args=[n], queue=test_queue
        )
        for n in (1, 2)
    )
    client.force_login(superuser)
    response = client.post(
        reverse("admin:core_outboxtask_changelist"),
        {"action": "resend", "_selected_action": [chosen.pk]},
        follow=True,
    )
    assert "1 task(s) sent" in response.content.decode()
    assert list(OutboxTask.objects.values_list("pk", flat=True)) == [left.pk]
    with app.connection_for_read() as broker:
        queue = broker.SimpleQueue(test_queue)
        message = queue.get(timeout=10)
        message.ack()
        assert message.decode()[0] == [1]
        queue.close()
