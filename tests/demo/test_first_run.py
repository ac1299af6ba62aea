"""`make run` is calm: the worker and the scheduler log warnings unless asked, and the address
with the demo logins comes last, once the web server answers."""

import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from demo.loader import DEMO_PASSWORD, USERS, demo_load

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile.dev").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def as_the_shell_runs_it(command: str, **env) -> str:
    """`command` with its variables expanded as honcho's shell expands them."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"WORKER_LOG_LEVEL", "ACCESS_LOG_LEVEL", "WAYMARK_PORT"}
    }
    result = subprocess.run(
        ["/bin/sh", "-c", f"printf '%s\\n' {command}"],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(result.stdout.split())


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_worker_and_scheduler_log_warnings_unless_asked(process):
    command = procfile()[process]
    assert " --quiet " in command  # no banner below the logins
    assert "--loglevel=WARNING" in as_the_shell_runs_it(command)
    assert "--loglevel=INFO" in as_the_shell_runs_it(command, WORKER_LOG_LEVEL="INFO")


def test_the_web_server_logs_failed_requests_only_unless_asked():
    command = procfile()["web"]
    assert as_the_shell_runs_it(command).startswith("ACCESS_LOG_LEVEL=WARNING ")
    assert as_the_shell_runs_it(command, ACCESS_LOG_LEVEL="INFO").startswith(
        "ACCESS_LOG_LEVEL=INFO "
    )


def test_the_last_process_waits_for_the_web_servers_port_and_stays():
    processes = procfile()
    assert list(processes)[-1] == "ready"
    ready = as_the_shell_runs_it(processes["ready"], WAYMARK_PORT="8021")
    assert "manage.py demo_ready --url http://127.0.0.1:8021/ --worker --stay" in ready
    assert "127.0.0.1:8021" in as_the_shell_runs_it(processes["web"], WAYMARK_PORT="8021")


@pytest.fixture
def web_server():
    """A server answering every request, as the portal's runserver does once it is up."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", "/login/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_once_the_portal_answers_its_address_and_the_demo_logins_are_printed(settings, web_server):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = "/srv/waymark/var/mail"
    demo_load()
    out = StringIO()
    call_command("demo_ready", url=web_server, timeout=10, stdout=out)
    printed = out.getvalue()
    assert f"Waymark is ready on {web_server} (Ctrl-C stops it)." in printed
    assert "E-mails are not sent: they are written to /srv/waymark/var/mail/." in printed
    assert f"Demo logins, all with the password {DEMO_PASSWORD}:" in printed
    for username, (*_, title, _staff, _superuser, _role) in USERS.items():
        assert f"  {username:<12} {title}" in printed
    assert printed.rstrip().endswith(USERS["admin"][2])


@pytest.mark.django_db
def test_a_portal_that_never_answers_is_reported_not_announced(settings):
    settings.DEBUG = True
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    out, err = StringIO(), StringIO()
    call_command("demo_ready", url=f"http://127.0.0.1:{port}/", timeout=0.5, stdout=out, stderr=err)
    assert "ready" not in out.getvalue()
    assert f"The portal did not answer at http://127.0.0.1:{port}/ within 0.5 seconds" in (
        err.getvalue()
    )


@pytest.mark.django_db
def test_with_worker_the_logins_wait_for_a_worker_to_answer(
    settings, web_server, celery_worker_process
):
    settings.DEBUG = True
    demo_load()
    out, err = StringIO(), StringIO()
    call_command("demo_ready", url=web_server, worker=True, timeout=90, stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert f"Waymark is ready on {web_server}" in out.getvalue()


@pytest.mark.django_db
def test_a_worker_that_never_answers_is_reported_above_the_logins(settings, web_server):
    settings.DEBUG = True
    out, err = StringIO(), StringIO()
    call_command("demo_ready", url=web_server, worker=True, timeout=0.5, stdout=out, stderr=err)
    assert "No worker answered within 0.5 seconds" in err.getvalue()
    assert f"Waymark is ready on {web_server}" in out.getvalue()
