import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops import policy, selectors
from ops.operations import operations_overview

logger = logging.getLogger(__name__)


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


@require_GET
@login_required
def operations(request: HttpRequest) -> HttpResponse:
    if not policy.may_see_operations(request.user):
        raise PermissionDenied("The operations page is for administrators.")
    return render(request, "ops/operations.html", operations_overview(now=timezone.now()))
