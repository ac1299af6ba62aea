"""The Redis broker's visibility timeout outlasts everything a task holds its message for.

With late acknowledgement a task's message stays unacknowledged while it runs, and a retry or
countdown is a message a worker holds until its time comes: past the visibility timeout Redis
hands it to another worker as well. The delays are read from the task objects themselves and
from every countdown=/eta= the code passes, so a new one cannot slip past this check."""

import ast
import json
from pathlib import Path

import pytest

from tests.config.test_settings import OWN_PACKAGES, ROOT, load_settings

PROBE = """
import json, sys, django
django.setup()
from config.celery import app
app.loader.import_default_modules()
holds = {}
for name, task in sorted(app.tasks.items()):
    if not name.startswith(tuple(f"{a}." for a in sys.argv[1:])):
        continue
    limit = task.time_limit or app.conf.task_time_limit
    holds[name] = {
        "runs at most": limit,
        "waits before a retry at most": (
            # autoretry_for's backoff, set on the tasks that have one
            task.retry_backoff_max if getattr(task, "retry_backoff", False)
            else task.default_retry_delay
        ),
    }
print(json.dumps({
    "transport_options": app.conf.broker_transport_options,
    "publish_retry_policy": app.conf.task_publish_retry_policy,
    "holds": holds,
}))
"""


@pytest.fixture(scope="module")
def redis_settings(tmp_path_factory) -> dict:
    return _redis_settings(tmp_path_factory.mktemp("settings"))


def _redis_settings(tmp_path, **env) -> dict:
    result = load_settings(
        tmp_path,
        code=PROBE,
        args=OWN_PACKAGES,
        DEBUG="1",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _countdowns_in(folders: list[Path]) -> list[tuple[str, str]]:
    """Every countdown= or eta= the code in `folders` passes, as (where, source text)."""
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.keyword) and node.arg in ("countdown", "eta"):
                    found.append((f"{path.name}:{node.value.lineno}", ast.unparse(node.value)))
    return found


def test_the_visibility_timeout_outlasts_every_task_run_and_retry_delay(redis_settings):
    loaded = redis_settings
    visibility = loaded["transport_options"]["visibility_timeout"]
    holds = loaded["holds"]
    assert "metrics.tasks.metric_source_poll" in holds  # the tasks were found
    too_long = {
        (task, what, seconds)
        for task, limits in holds.items()
        for what, seconds in limits.items()
        if seconds is None or seconds >= visibility
    }
    assert not too_long, f"visibility timeout {visibility} s; unbounded or longer: {too_long}"


def test_countdowns_in_the_code_are_literal_and_shorter_than_the_visibility_timeout(
    redis_settings,
):
    visibility = redis_settings["transport_options"]["visibility_timeout"]
    for where, text in _countdowns_in([ROOT / app for app in OWN_PACKAGES]):
        try:
            seconds = float(ast.literal_eval(text))
        except ValueError:
            raise AssertionError(
                f"{where}: countdown/eta {text} is not a number of seconds this test can check "
                "against the visibility timeout"
            ) from None
        assert seconds < visibility, f"{where}: countdown {seconds:g} s ≥ {visibility} s"


def test_the_visibility_timeout_is_set_explicitly_and_can_be_shortened(redis_settings, tmp_path):
    assert redis_settings["transport_options"]["visibility_timeout"] == 3600
    shortened = _redis_settings(tmp_path, CELERY_BROKER_VISIBILITY_TIMEOUT="2")
    assert shortened["transport_options"]["visibility_timeout"] == 2


def test_publishing_to_a_broker_that_is_away_gives_up_within_seconds(redis_settings):
    loaded = redis_settings
    options, policy = loaded["transport_options"], loaded["publish_retry_policy"]
    attempts = policy["max_retries"] + 1
    waits = sum(
        min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"])
        for n in range(policy["max_retries"])
    )
    assert attempts * options["socket_connect_timeout"] + waits <= 5


def test_the_countdown_scan_finds_literal_and_computed_countdowns(tmp_path):
    (tmp_path / "tasks.py").write_text(
        "task.apply_async(args=[1], countdown=7200)\nself.retry(eta=settings.LATER)\n"
    )
    assert _countdowns_in([tmp_path]) == [("tasks.py:1", "7200"), ("tasks.py:2", "settings.LATER")]


def test_every_periodic_task_names_a_task_the_worker_knows(settings):
    from config.celery import app

    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them
    unknown = {
        name: entry["task"]
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] not in app.tasks
    }
    assert not unknown
