import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.htmx import fragment_or_page, redirect_after_save
from metrics import charts, policy, selectors, services
from metrics.collection import collectors
from metrics.forms import KPIForm, ManualValueForm, MetricSourceForm
from metrics.status import confirm_rule_words, flap_words, pending_words
from projects import policy as project_policy
from projects.policy import Action

logger = logging.getLogger(__name__)


@require_GET
@login_required
def kpi_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_policy.get_project_for(request.user, pk)
    kpis = list(selectors.kpi_list_for_project(project=project))
    context = {
        "project": project,
        "groups": selectors.kpis_grouped(kpis),
        "may_edit": project_policy.can_edit_project(request.user, project),
    }
    return render(request, "metrics/kpi_list.html", context)


CHART_RANGES = {
    "1d": ("24 hours", timedelta(days=1)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
    "90d": ("90 days", timedelta(days=90)),
    "1y": ("1 year", timedelta(days=365)),
    "all": ("All", None),
}
DEFAULT_CHART_RANGE = "30d"


def _detail_context(request, kpi, **extra):
    detail = selectors.kpi_detail(kpi_id=kpi.pk)
    may_edit = project_policy.can_edit_project(request.user, kpi.project)
    source = next((s for s in detail.sources.all() if s.is_active), None)
    chart_range = request.GET.get("range")
    chart_range = chart_range if chart_range in CHART_RANGES else DEFAULT_CHART_RANGE
    span = CHART_RANGES[chart_range][1]
    now = timezone.now()
    since = now - span if span else None
    series = selectors.kpi_series(kpi=detail, since=since, until=now)
    return {
        "kpi": detail,
        "project": detail.project,
        "source": source,
        "may_edit": may_edit,
        "series": series,
        "figure": charts.kpi_figure(detail, series, since=since, until=now),
        "chart_range_label": CHART_RANGES[chart_range][0],
        "chart_range": chart_range,
        "chart_ranges": [(key, label) for key, (label, _span) in CHART_RANGES.items()],
        "recent": selectors.recent_measurements(kpi=detail),
        "pending": pending_words(detail, now=now),
        "flaps": flap_words(detail, now=now),
        "confirm_rule": confirm_rule_words(detail),
        "value_form": ManualValueForm() if may_edit else None,
        **extra,
    }


@require_GET
@login_required
def kpi_detail(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = policy.get_kpi_for(request.user, pk)
    return render(request, "metrics/kpi_detail.html", _detail_context(request, kpi))


@require_http_methods(["GET", "POST"])
@login_required
def kpi_edit(request: HttpRequest, pk: int | None = None, project_pk: int | None = None):
    if pk is not None:
        kpi = policy.get_kpi_for(request.user, pk, Action.EDIT)
        project = kpi.project
    else:
        project = project_policy.get_project_for(request.user, project_pk, Action.EDIT)
        kpi = None
    form = KPIForm(request.POST or None, instance=kpi, project=project)
    if request.method == "POST" and form.is_valid():
        kpi = services.kpi_save(kpi=form.save(commit=False))
        messages.success(request, f"KPI “{kpi.name}” saved.")
        return redirect_after_save(request, kpi.get_absolute_url())
    context = {
        "form": form,
        "project": project,
        "kpi": kpi,
        "form_url": reverse("kpi-edit", args=[kpi.pk])
        if kpi
        else reverse("kpi-create", args=[project.pk]),
        "cancel_url": kpi.get_absolute_url() if kpi else reverse("kpi-list", args=[project.pk]),
    }
    status = 422 if request.method == "POST" else 200
    return fragment_or_page(request, "metrics/kpi_form.html", "kpi-form", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = policy.get_kpi_for(request.user, pk, Action.EDIT)
    current = kpi.sources.filter(is_active=True).first()
    form = MetricSourceForm(request.POST or None, instance=current, kpi=kpi)
    if request.method == "POST" and form.is_valid():
        services.metric_source_save(source=form.save(commit=False))
        messages.success(request, "Source saved; it is collected from now on.")
        return redirect_after_save(request, kpi.get_absolute_url())
    context = {
        "form": form,
        "kpi": kpi,
        "project": kpi.project,
        "databases": sorted(settings.METRIC_SQL_DATABASES),
    }
    status = 422 if request.method == "POST" else 200
    return fragment_or_page(
        request, "metrics/source_form.html", "source-form", context, status=status
    )


@require_POST
@login_required
def source_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Fetch once from the KPI's active source and show the value or the exact error."""
    kpi = policy.get_kpi_for(request.user, pk, Action.EDIT)
    source = kpi.sources.filter(is_active=True).first()
    context = {"kpi": kpi}
    if source is None:
        context["error"] = "This KPI has no active source to test."
    else:
        try:
            context["reading"] = services.metric_source_test(source=source)
        except collectors.SourceError as error:
            context["error"] = str(error)
    if request.htmx:
        return render(request, "metrics/kpi_detail.html#test-result", context)
    return render(request, "metrics/kpi_detail.html", {**_detail_context(request, kpi), **context})


@require_POST
@login_required
def measurement_enter(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = policy.get_kpi_for(request.user, pk, Action.EDIT)
    form = ManualValueForm(request.POST)
    if form.is_valid():
        try:
            services.measurement_enter(
                kpi=kpi,
                at=form.cleaned_data["at"],
                value=form.cleaned_data["value"],
                by=request.user,
                note=form.cleaned_data["note"],
            )
        except (services.MeasurementRefused, ValidationError) as error:
            form.add_error(
                None, str(error) if not hasattr(error, "messages") else "; ".join(error.messages)
            )
        else:
            messages.success(request, "Value recorded.")
            return redirect(kpi.get_absolute_url())
    context = _detail_context(request, kpi, value_form=form)
    return render(request, "metrics/kpi_detail.html", context, status=422)
