"""Waymark settings: one module, read from the environment.

Unset, every setting falls back to an embedded default (SQLite and a filesystem broker under
`var/`), so a fresh clone runs with nothing else installed. With DEBUG off the settings are
production-safe and refuse to start without a real SECRET_KEY, AUDIT_SIGNING_KEY and
ALLOWED_HOSTS.
"""

import os
import secrets
from pathlib import Path

import environ
import plotly
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("WAYMARK_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

# Only ever accepted with DEBUG on; production must bring its own key.
DEVELOPMENT_SECRET_KEY = "waymark-development-only-secret-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _development_audit_signing_key(path: Path) -> str:
    """Development only: a random key made by the first process that needs it and kept in
    `path`, readable by its owner alone, so that the web, worker and tests share it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # whole or not at all; the first process to link it wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


# The key that authenticates the checkpoints of the gates' audit trails (gates/integrity.py).
# The database never holds it: whoever can rewrite the database cannot forge a checkpoint.
# Checkpoints are lines appended to AUDIT_CHECKPOINT_FILE and logged to `waymark.audit`; keep
# the file where the database's owner cannot write. A new key needs a new file: the old lines
# no longer authenticate.
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="") or (
    _development_audit_signing_key(VAR_DIR / "audit-signing.key") if DEBUG else ""
)
AUDIT_CHECKPOINT_FILE = Path(
    env.str("AUDIT_CHECKPOINT_FILE", default=str(VAR_DIR / "audit-checkpoints.jsonl"))
)


def _refuse_unsafe_production_config() -> None:
    problems = []
    if not SECRET_KEY:
        problems.append("SECRET_KEY is not set")
    elif SECRET_KEY == DEVELOPMENT_SECRET_KEY or SECRET_KEY.startswith("django-insecure"):
        problems.append("SECRET_KEY is the development key")
    elif len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        problems.append("SECRET_KEY is too short or too simple (use 50+ random characters)")
    if not AUDIT_SIGNING_KEY:
        problems.append("AUDIT_SIGNING_KEY is not set (it authenticates the audit checkpoints)")
    elif len(AUDIT_SIGNING_KEY) < 32 or len(set(AUDIT_SIGNING_KEY)) < 5:
        problems.append("AUDIT_SIGNING_KEY is too short or too simple (use 32+ random characters)")
    elif AUDIT_SIGNING_KEY == SECRET_KEY:
        problems.append("AUDIT_SIGNING_KEY must not be the SECRET_KEY")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty (set it to the portal's host names)")
    if "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must name the hosts, not '*'")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off: "
            + "; ".join(problems)
            + ". Set DEBUG=1 for local development only."
        )


if not DEBUG:
    _refuse_unsafe_production_config()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "csp",
    "core",
    "accounts",
    "notifications",
    "projects",
    "risks",
    "metrics",
    "gates",
    "dashboards",
    "plans",
    "exchange",
    "ops",
    "demo",
]

MIDDLEWARE = [
    "core.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.database_unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.sessions.SessionLifetimeMiddleware",
    # Every page in its reader's time zone (accounts/time_zones.py).
    "accounts.time_zones.TimeZoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # With DEBUG on, a missing page is the site's page too (core/error_pages.py).
    "core.error_pages.NotFoundPageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboards.context_processors.navigation_counts",
                # The demo's logins on the login page, with DEBUG on only.
                "demo.context_processors.demo_login_hint",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'waymark.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web, worker and scheduler processes share one file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, not memory, so that a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-waymark.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}"),
    # Rendered fragments of status pages, each kept under a digest of what it shows (see
    # projects/templatetags/live.py): per process, nothing to invalidate, the oldest culled.
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "waymark-fragments",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Red / amber / green: the thresholds of the status rules, set here and only here.
# dashboards/status.py applies them and the help page /help/status/ lists every rule with these
# values. Schedule: days the forecast end lies past the baseline end. Budget: percent the
# forecast at completion lies over the planned budget. Red when a critical KPI is breached, a
# critical risk is open past its review date, the latest gate decision is NO-GO, a rollout gate
# recommends rollback, or schedule / budget pass their red line; amber for the softer forms
# (any KPI breached, a critical KPI at risk or without fresh data, a critical risk open, a high
# risk past review, a CONDITIONAL GO, a gate overdue for sign-off, schedule / budget past amber).
RAG_RULES = {
    "schedule_amber_days": env.int("SCHEDULE_AMBER_DAYS", default=1),
    "schedule_red_days": env.int("SCHEDULE_RED_DAYS", default=14),
    "budget_amber_percent": env.float("BUDGET_AMBER_PERCENT", default=5.0),
    "budget_red_percent": env.float("BUDGET_RED_PERCENT", default=10.0),
}

# Status pages refresh their tiles this often while the tab is visible (hidden tabs wait).
STATUS_REFRESH_SECONDS = env.int("STATUS_REFRESH_SECONDS", default=30)

# Risk score bands (score = likelihood × impact, 1–25): the lowest score of each band.
RISK_BAND_THRESHOLDS = {
    "medium": env.int("RISK_BAND_MEDIUM_FROM", default=5),
    "high": env.int("RISK_BAND_HIGH_FROM", default=10),
    "critical": env.int("RISK_BAND_CRITICAL_FROM", default=16),
}
# How long an open high or critical risk may sit unresolved before it is escalated.
RISK_ESCALATE_AFTER_HOURS = env.float("RISK_ESCALATE_AFTER_HOURS", default=24.0)
# Risks per page of a register: a programme's can hold thousands.
RISK_REGISTER_PAGE_SIZE = env.int("RISK_REGISTER_PAGE_SIZE", default=100)

# Metric collection. Outbound HTTP goes only to hosts whose resolved addresses lie in these
# networks (loopback unless configured); the connection goes to the very address checked.
# Private, link-local, cloud metadata, multicast and other special-purpose addresses open only
# when their own block (or a part of it) is listed: "10.0.0.0/8" opens 10.1.2.3, "0.0.0.0/0"
# opens public addresses only, and 169.254.169.254 opens only as "169.254.169.254/32".
METRIC_HTTP_ALLOWED_NETWORKS = env.list(
    "METRIC_HTTP_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]
)
# One collection (one request, its redirects included; all of a probe's requests) ends within
# the connect timeout plus the read timeout, however slowly a server answers.
METRIC_HTTP_CONNECT_TIMEOUT = env.float("METRIC_HTTP_CONNECT_TIMEOUT", default=3.0)
METRIC_HTTP_READ_TIMEOUT = env.float("METRIC_HTTP_READ_TIMEOUT", default=10.0)
METRIC_HTTP_MAX_BYTES = env.int("METRIC_HTTP_MAX_BYTES", default=1_000_000)
# Redirects are followed up to this many hops, each judged against the allowed networks.
METRIC_HTTP_MAX_REDIRECTS = env.int("METRIC_HTTP_MAX_REDIRECTS", default=5)
# Certificate authorities for https sources (a PEM file), e.g. an internal CA; empty: the
# system's.
METRIC_HTTP_CA_FILE = env.str("METRIC_HTTP_CA_FILE", default="")
# Databases SQL sources may query, by name: "name=url" pairs separated by ";". The browser
# only ever names one of these; it never types a connection string. Each query is one SELECT,
# run in a read-only session with a statement timeout; connect as a role that may only read
# what KPIs need (a read-only session still lets a SELECT call functions such as
# pg_terminate_backend or pg_read_file where the role may).
METRIC_SQL_DATABASES = {
    name.strip(): url.strip()
    for name, _, url in (
        pair.partition("=")
        for pair in env.str(
            "METRIC_SQL_DATABASES",
            default=f"demo-legacy=sqlite:///{VAR_DIR / 'demo-legacy.sqlite3'};"
            f"demo-new=sqlite:///{VAR_DIR / 'demo-new.sqlite3'}",
        ).split(";")
        if pair.strip()
    )
}
METRIC_SQL_TIMEOUT_SECONDS = env.float("METRIC_SQL_TIMEOUT_SECONDS", default=5.0)
# The queue poll tasks go to: a dedicated one lets collection scale apart from other work.
METRIC_POLL_QUEUE = env.str("METRIC_POLL_QUEUE", default="celery")
# After this many failed collections in a row a source is unhealthy and its owner is told.
METRIC_SOURCE_UNHEALTHY_AFTER = env.int("METRIC_SOURCE_UNHEALTHY_AFTER", default=3)

# Login lockout (django-axes): failed passwords, at login or when signing a gate, count
# towards it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=1.0)
# One list inside the list: username and address together, so that failures from one address
# cannot lock a user out everywhere, nor one user's failures lock an address out for all.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # plotly.js as the plotly package ships it: served from here, never from a CDN.
    ("vendor/plotly", Path(plotly.__file__).parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587. With DEBUG, each
# e-mail is written to a file under var/mail/ (not into the worker's log, which it would flood).
_email = env.email_url("EMAIL_URL", default="filemail://" if DEBUG else "smtp://localhost:25")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# The portal's own address, for links in e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Waymark <waymark@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. With DEBUG off, cookies are secure and HTTPS is enforced.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A form refused for its CSRF token: the site's page, saying what to do (core/error_pages.py).
CSRF_FAILURE_VIEW = "core.error_pages.csrf_failure"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Preloading commits the whole domain to HTTPS in browsers for good: the operator's decision.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sessions end after SESSION_IDLE_TIMEOUT seconds without the user doing anything (a status
# page polling in the background does not count) and SESSION_ABSOLUTE_LIFETIME seconds after the
# login, whatever happened in between (accounts/sessions.py).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=60 * 60)
SESSION_ABSOLUTE_LIFETIME = env.int("SESSION_ABSOLUTE_LIFETIME", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME
# When signing renews the session key, the old key still answers for this long, so that the
# requests already on their way with it do not log the user out.
SESSION_RENEWAL_GRACE_SECONDS = env.int("SESSION_RENEWAL_GRACE_SECONDS", default=30)
# Content-Security-Policy (django-csp): scripts only from the portal's own static files, no
# inline script and no eval (htmx runs with allowEval off, plotly.js is served from static/).
# Styles allow inline: plotly.js writes its chart styles into <style> elements at run time.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.tokens.ApiTokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Waymark API",
    "DESCRIPTION": "The programme's resources, under the same permissions as the pages: what "
    "you may not see is not found (404), what you may see but not change is refused (403). "
    "Authenticate with a personal token: `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",  # served from static files: nothing from a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # core.api.IdConverter: ids of at most 18 digits
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}},
    "ENUM_NAME_OVERRIDES": {
        "ProjectStatusEnum": "projects.models.ProjectStatus",
        "PhaseStatusEnum": "projects.models.PhaseStatus",
        "RiskStatusEnum": "risks.models.RiskStatus",
        "KPIStatusEnum": "metrics.models.KPIStatus",
        "DecisionRuleEnum": "gates.models.DecisionRule",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.error_answers",
    ],
}
# Requests a personal API token may make (DRF rate: "600/min", "20/s").
API_TOKEN_RATE = env.str("API_TOKEN_RATE", default="600/min")

# Celery. Unset, the broker is kombu's filesystem transport under var/: no server needed.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"  # files written whole, then renamed
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task not acknowledged within this time goes to another worker: with late acks
        # that is how the task of a killed worker runs again, so it must be longer than any
        # task runs or waits for its retry (tests/config/test_celery_settings.py checks).
        "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
        # A broker that is away is noticed within seconds, not waited for.
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
    }
# Sending gives up quickly when the broker is away (core/outbox.py keeps the task): a web
# request waits some 0.2 s for a refused connection, some 4 s (two 2 s attempts) for one that
# never answers.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# No task runs longer than this (enforced by the prefork pool): a task still running past the
# visibility timeout would be handed to a second worker.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic task is declared here, and only here.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "ops.tasks.worker_heartbeat",
        "schedule": env.float("WORKER_HEARTBEAT_SECONDS", default=30.0),
    },
    "outbox-resend": {
        "task": "core.tasks.outbox_resend",
        "schedule": env.float("OUTBOX_RESEND_SECONDS", default=30.0),
    },
    "metric-dispatch": {
        "task": "metrics.tasks.metric_sources_dispatch",
        "schedule": env.float("METRIC_DISPATCH_SECONDS", default=5.0),
    },
    "rollout-watch": {
        "task": "gates.tasks.rollout_watch",
        "schedule": env.float("ROLLOUT_WATCH_SECONDS", default=60.0),
    },
    "gate-audit-checkpoint": {
        "task": "gates.tasks.gate_audit_checkpoint",
        "schedule": env.float("AUDIT_CHECKPOINT_SECONDS", default=600.0),
    },
    "condition-escalation": {
        "task": "gates.tasks.gate_conditions_escalate_overdue",
        "schedule": env.float("CONDITION_ESCALATION_SECONDS", default=3600.0),
    },
    "approval-watch": {
        "task": "gates.tasks.gate_approvals_watch",
        "schedule": env.float("APPROVAL_WATCH_SECONDS", default=300.0),
    },
    "risk-escalation": {
        "task": "risks.tasks.risk_escalate_overdue",
        "schedule": crontab(hour=env.int("RISK_ESCALATION_HOUR", default=7), minute=0),
    },
    "status-snapshot": {
        "task": "dashboards.tasks.status_snapshot_record",
        "schedule": crontab(hour=env.int("STATUS_SNAPSHOT_HOUR", default=6), minute=30),
    },
    "status-report-weekly": {
        "task": "dashboards.tasks.status_reports_send",
        "schedule": crontab(
            day_of_week=env.str("STATUS_REPORT_WEEKDAY", default="mon"),
            hour=env.int("STATUS_REPORT_HOUR", default=7),
            minute=0,
        ),
    },
}
# How old the last heartbeat may be before the health check calls the worker stale.
WORKER_HEARTBEAT_STALE_SECONDS = 180

# Logs: one line per record, with UTC time, the request's id, its actor and address. JSON
# (LOG_FORMAT=json, the default with DEBUG off) for a log pipeline, plain text for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "core.log_context.RequestContextFilter"},
        "refusal_logged_once": {"()": "core.log_context.RefusalLoggedOnce"},
    },
    "formatters": {
        "plain": {
            "()": "core.log_context.UTCFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(actor)s] %(message)s",
        },
        "json": {"()": "core.log_context.json_formatter"},
        "access": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        },
        "access": {"class": "logging.StreamHandler", "formatter": "access"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's lines go to the root's handler only: its own console handler (DEBUG on)
        # would print each of them, tracebacks included, a second time.
        "django": {"handlers": [], "level": "INFO"},
        # A refusal is logged once, by core.request_context, without a traceback.
        "django.request": {"filters": ["refusal_logged_once"]},
        # runserver's access log: ACCESS_LOG_LEVEL=WARNING keeps only the failed requests.
        "django.server": {
            "handlers": ["access"],
            "level": env.str("ACCESS_LOG_LEVEL", default="INFO"),
            "filters": ["refusal_logged_once"],
            "propagate": False,
        },
        # Audit checkpoints are logged whatever LOG_LEVEL is: the log keeps their second copy.
        "waymark.audit": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(exist_ok=True)
