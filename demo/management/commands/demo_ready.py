"""`make run`'s last word: once the web server answers (and the worker, when asked to wait
for it), the portal's address and the demo's logins, below the start-up lines of the web
server, the worker and the scheduler."""

import signal
import time

import httpx
from celery import current_app as app
from django.conf import settings
from django.core.management.base import BaseCommand

from demo.loader import DEMO_PASSWORD, demo_logins

POLL_SECONDS = 0.25
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


class Command(BaseCommand):
    help = (
        "Wait until the portal answers at --url, then print its address and the demo logins. "
        "With --stay, keep running afterwards (honcho stops every process when one ends)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default=f"{settings.SITE_URL}/", help="The portal's address.")
        parser.add_argument(
            "--timeout", type=float, default=120.0, help="Seconds to wait for an answer."
        )
        parser.add_argument(
            "--worker",
            action="store_true",
            help="Wait for a Celery worker to answer too (within the same --timeout).",
        )
        parser.add_argument("--stay", action="store_true", help="Keep running once printed.")

    def handle(self, *args, url: str, timeout: float, worker: bool, stay: bool, **options):
        deadline = time.monotonic() + timeout
        if not self._answers_by(url, deadline):
            self.stderr.write(
                f"The portal did not answer at {url} within {timeout:g} seconds: "
                "the web server's lines above say why."
            )
        else:
            if worker and not self._worker_answers_by(deadline):
                self.stderr.write(
                    f"No worker answered within {timeout:g} seconds: pages work, but KPIs are "
                    "not collected and e-mails wait until it runs (its lines above say why)."
                )
            self.stdout.write(self._welcome(url))
        self.stdout.flush()
        if stay:
            try:
                while True:
                    signal.pause()  # until honcho's SIGTERM or Ctrl-C ends it
            except KeyboardInterrupt:
                pass

    def _answers_by(self, url: str, deadline: float) -> bool:
        while True:
            try:
                httpx.get(url, timeout=2.0)
                return True  # any answer, a redirect to the login page included
            except httpx.TransportError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_SECONDS)

    def _worker_answers_by(self, deadline: float) -> bool:
        while True:
            if app.control.ping(timeout=1.0):  # waits a second for the answers
                return True
            if time.monotonic() >= deadline:
                return False

    def _welcome(self, url: str) -> str:
        lines = ["", f"Waymark is ready on {url} (Ctrl-C stops it)."]
        if settings.EMAIL_BACKEND == FILE_BACKEND:
            lines.append(f"E-mails are not sent: they are written to {settings.EMAIL_FILE_PATH}/.")
        logins = demo_logins() if settings.DEBUG else []
        if logins:
            lines.append(f"Demo logins, all with the password {DEMO_PASSWORD}:")
            lines += [f"  {username:<12} {role}" for username, role in logins]
        else:
            lines.append("Log in with the demo passwords load_demo printed, or your own account.")
        return "\n".join(lines) + "\n"
