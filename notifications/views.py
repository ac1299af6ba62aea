from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from notifications import selectors, services
from notifications.models import NotificationKind


@require_GET
@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    context = {
        "notifications": selectors.notifications_for(user=request.user),
        "kinds": selectors.notification_kinds_for(user=request.user),
    }
    return render(request, "notifications/notifications.html", context)


@require_POST
@login_required
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    ids = [int(pk) for pk in request.POST.getlist("notification") if pk.isdigit()]
    services.notification_mark_read(user=request.user, notification_ids=ids or None)
    return redirect("notifications")


@require_POST
@login_required
def notification_mute(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    if kind not in NotificationKind.values:
        return HttpResponse("Unknown kind of notification.", status=400)
    muted = request.POST.get("muted") == "1"
    services.notification_mute_set(user=request.user, kind=kind, muted=muted)
    label = NotificationKind(kind).label
    messages.success(request, f"{label}: {'muted' if muted else 'you will be told again'}.")
    return redirect("notifications")
