"""Settings come from the environment and refuse an unsafe production configuration."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# The project's own packages: config and the installed apps that are folders of this repository.
OWN_PACKAGES = (
    "config",
    *(app for app in settings.INSTALLED_APPS if (ROOT / app / "__init__.py").exists()),
)
GOOD_KEY = "k" * 20 + "9f$Qz!x@2Lr#8Vm%4Tn^6Wp&1Ys*3Bd(5Hc)7Jg"
GOOD_AUDIT_KEY = "a" * 8 + "3c$Rw!e@7Kt#1Pq%9Zn^5Xv&2Ub"

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "broker": settings.CELERY_BROKER_URL,
    "broker_transport": getattr(settings, "CELERY_BROKER_TRANSPORT", None),
    "email_host": settings.EMAIL_HOST,
    "email_port": settings.EMAIL_PORT,
    "email_tls": settings.EMAIL_USE_TLS,
}))
"""


def load_settings(tmp_path, *, code: str = PROBE, args=(), **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "AUDIT_SIGNING_KEY",
            "AUDIT_CHECKPOINT_FILE",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "EMAIL_URL",
            # The browser tests allow sync database calls in their event loop: not a deployment
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", WAYMARK_VAR_DIR=str(tmp_path))
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "SECRET_KEY is not set"),
        (
            {"SECRET_KEY": "waymark-development-only-secret-key-never-use-in-production"},
            "SECRET_KEY is the development key",
        ),
        ({"SECRET_KEY": "django-insecure-" + "x" * 50}, "SECRET_KEY is the development key"),
        ({"SECRET_KEY": "short"}, "too short"),
        ({"SECRET_KEY": GOOD_KEY}, "AUDIT_SIGNING_KEY is not set"),
        ({"AUDIT_SIGNING_KEY": "short"}, "AUDIT_SIGNING_KEY is too short"),
        ({"SECRET_KEY": GOOD_KEY, "AUDIT_SIGNING_KEY": GOOD_KEY}, "must not be the SECRET_KEY"),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS is empty"),
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "*"}, "not '*'"),
    ],
)
def test_production_settings_refuse_to_start_unsafely(tmp_path, env, complaint):
    result = load_settings(tmp_path, DEBUG="0", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_production_settings_are_secure_when_configured(tmp_path):
    result = load_settings(
        tmp_path,
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        AUDIT_SIGNING_KEY=GOOD_AUDIT_KEY,
        ALLOWED_HOSTS="waymark.example.com",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is False
    assert loaded["session_secure"] and loaded["csrf_secure"] and loaded["ssl_redirect"]
    assert loaded["hsts"] >= 31_536_000
    assert (loaded["email_host"], loaded["email_port"], loaded["email_tls"]) == (
        "smtp.example.com",
        587,
        True,
    )


def test_defaults_are_embedded_sqlite_and_a_filesystem_broker_under_var(tmp_path):
    result = load_settings(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["db_name"] == str(tmp_path / "waymark.sqlite3")
    assert loaded["broker"] == "filesystem://"
    assert loaded["broker_transport"] == "core.broker:Transport"  # files written whole
    assert (tmp_path / "celery-broker" / "queue").is_dir()


MAIL_PROBE = """
import django
from django.conf import settings
from django.core.mail import send_mail
django.setup()
send_mail("Gate decided", "Plan sign-off: GO", None, ["pm@waymark.localhost"])
print(settings.EMAIL_BACKEND)
"""


def test_development_writes_e_mails_into_files_under_var_not_into_the_log(tmp_path):
    result = load_settings(tmp_path, code=MAIL_PROBE, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.mail.backends.filebased.EmailBackend"
    assert "Plan sign-off" not in result.stdout + result.stderr
    [written] = (tmp_path / "mail").iterdir()
    text = written.read_text()
    assert "Subject: Gate decided" in text and "To: pm@waymark.localhost" in text


AUDIT_KEY_PROBE = "from django.conf import settings; print(settings.AUDIT_SIGNING_KEY)"


def test_development_makes_its_audit_signing_key_once_readable_by_its_owner_only(tmp_path):
    first = load_settings(tmp_path, code=AUDIT_KEY_PROBE, DEBUG="1")
    again = load_settings(tmp_path, code=AUDIT_KEY_PROBE, DEBUG="1")
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    key_file = tmp_path / "audit-signing.key"
    assert first.stdout == again.stdout == key_file.read_text() + "\n"
    assert len(key_file.read_text()) == 64
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in tmp_path.iterdir() if "audit" in path.name] == [key_file.name]


def test_an_audit_signing_key_from_the_environment_is_used_as_it_is(tmp_path):
    given = load_settings(tmp_path, code=AUDIT_KEY_PROBE, DEBUG="1", AUDIT_SIGNING_KEY="given")
    assert given.stdout == "given\n"
    assert not (tmp_path / "audit-signing.key").exists()


def test_database_and_broker_come_from_the_environment(tmp_path):
    result = load_settings(
        tmp_path,
        DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/waymark",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["db_name"] == "waymark"
    assert loaded["broker"] == "redis://127.0.0.1:6379/0"
    assert loaded["broker_transport"] is None


IMPORT_FIRST = """
import sys, django
from django.conf import settings
from django.utils.module_loading import import_string
django.setup()
import_string(sys.argv[1])
"""


def _dotted_paths_in_settings():
    from django.conf import settings

    rest = settings.REST_FRAMEWORK
    paths = [path for key, value in rest.items() if key.endswith("_CLASSES") for path in value]
    paths.append(rest["EXCEPTION_HANDLER"])
    paths.append(settings.AXES_LOCKOUT_CALLABLE)
    paths.extend(settings.SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])
    return paths


@pytest.mark.parametrize("dotted_path", _dotted_paths_in_settings())
def test_every_dotted_path_in_settings_imports_as_the_first_thing_loaded(tmp_path, dotted_path):
    """Checks and libraries import these paths in no fixed order: each must import on its own,
    with no import cycle through the library that names it."""
    result = load_settings(tmp_path, DEBUG="1", code=IMPORT_FIRST, args=[dotted_path])
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_wsgi_application_starts_with_its_views_imported_and_frozen(tmp_path):
    """Served, the portal keeps start-up's objects out of the garbage collector's full
    collections (gc.freeze), which otherwise pause a request for tens of milliseconds."""
    probe = (
        "import gc, sys; import config.wsgi; "
        "print(gc.get_freeze_count(), 'projects.views' in sys.modules)"
    )
    result = load_settings(tmp_path, DEBUG="1", code=probe)
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, views_imported = result.stdout.split()
    assert int(frozen) > 10_000 and views_imported == "True"
