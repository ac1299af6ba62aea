import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from gates import selectors as gate_selectors
from metrics import selectors as metric_selectors
from projects import policy, selectors
from risks import selectors as risk_selectors

logger = logging.getLogger(__name__)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    overviews = selectors.programme_overviews_for(user=request.user)
    return render(request, "projects/home.html", {"overviews": overviews})


@require_GET
@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    context = {
        "project": project,
        "phases": selectors.phase_list_for_project(project=project),
        "risks": risk_selectors.risk_list_for_project(project=project),
        "kpis": metric_selectors.kpi_list_for_project(project=project),
        "gates": gate_selectors.gate_list_for_project(project=project),
        "may_edit": policy.can_edit_project(request.user, project),
    }
    return render(request, "projects/project_detail.html", context)


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the database and of the worker + scheduler pair, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database_ok = True
    except DatabaseError:
        logger.exception("Health check: the database did not answer")
        database_ok = False
    age = selectors.worker_heartbeat_age(now=timezone.now())
    worker_ok = age is not None and age.total_seconds() < settings.WORKER_HEARTBEAT_STALE_SECONDS
    body = {
        "database": "ok" if database_ok else "unreachable",
        "worker": "ok" if worker_ok else ("never seen" if age is None else "stale"),
        "worker_last_seen_seconds_ago": None if age is None else round(age.total_seconds()),
    }
    return JsonResponse(body, status=200 if database_ok else 503)
