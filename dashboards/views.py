from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.htmx import focus_after_swap, fragment_or_page
from dashboards import reports, selectors, status
from gates import selectors as gate_selectors
from metrics import policy as metric_policy
from metrics import selectors as metric_selectors
from metrics import services as metric_services
from projects import charts, policy
from projects import selectors as project_selectors
from projects import views as project_views
from projects.models import Project
from risks import charts as risk_charts
from risks import selectors as risk_selectors


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    overviews = selectors.programme_overviews_for(user=request.user, today=timezone.localdate())
    return render(request, "dashboards/home.html", {"overviews": overviews})


PROGRAMME_PAGE = "dashboards/programme_detail.html"


LIVE_FINGERPRINTS_HEADER = "X-Live-Fingerprints"


def _live_known(request: HttpRequest) -> dict[str, str]:
    """The fragments a polling page holds, as element id → fingerprint (sent by waymark.js)."""
    pairs = request.headers.get(LIVE_FINGERPRINTS_HEADER, "").split(",")
    return dict(pair.split(":", 1) for pair in pairs if pair.count(":") == 1)


def _programme_context(request: HttpRequest, programme) -> dict:
    view = selectors.StatusView.from_query(request.GET)
    programme_status = selectors.programme_status(
        user=request.user, programme=programme, view=view, today=timezone.localdate()
    )
    return {
        "programme": programme,
        "status": programme_status,
        "heatmap_figure": risk_charts.heatmap_figure(programme_status.heatmap),
        "view": view,
        "board_url": programme.get_absolute_url(),
        "refresh_seconds": settings.STATUS_REFRESH_SECONDS,
        "rag_choices": selectors.RAG_ORDER[:3],
        "sort_choices": selectors.SORT_CHOICES,
        "may_add_project": policy.can_add_project(request.user, programme),
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def programme_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The programme status page; with htmx (filter or sort), just its board."""
    programme = policy.get_programme_for(request.user, slug)
    context = _programme_context(request, programme)
    return fragment_or_page(request, PROGRAMME_PAGE, "status-board", context)


@require_GET
@login_required
@never_cache
def programme_live(request: HttpRequest, slug: str) -> HttpResponse:
    """What changed on the programme status page since the poller's last look."""
    programme = policy.get_programme_for(request.user, slug)
    context = _programme_context(request, programme)
    lists = {"project-rows": context["status"].rows_fingerprint}
    lists["kpi-tiles"] = context["status"].tiles_fingerprint
    return _live_changes(request, f"{PROGRAMME_PAGE}#live-update", context, lists)


def _live_changes(request: HttpRequest, partial: str, context: dict, lists: dict) -> HttpResponse:
    """The page's live fragments that changed, as out-of-band swaps; 204 when none did.
    `lists` fingerprints the containers whose members may come, go or move: such a container
    is swapped whole when its membership changed, else member by member."""
    known = _live_known(request)
    changed = {key.replace("-", "_"): known.get(key) != value for key, value in lists.items()}
    context.update(live_mode="oob", live_known=known, changed=changed)
    html = render_to_string(partial, context, request=request)
    if not html.strip():
        return HttpResponse(status=204)
    return HttpResponse(html)


PROJECT_STATUS_PAGE = "dashboards/project_status.html"


def _kpi_tiles_context(tiles: list) -> dict:
    """What the project dashboard's KPI tiles need: the tiles (pinned first) and their
    fingerprint; each tile has its pin button."""
    return {
        "kpi_tiles": tiles,
        "tiles_fingerprint": selectors.tiles_fingerprint(tiles),
        "one_project": True,
        "may_pin": True,
    }


def _project_status_context(request: HttpRequest, project: Project) -> dict:
    dashboard = selectors.project_dashboard(
        project=project, user=request.user, today=timezone.localdate()
    )
    return {
        "project": project,
        "dashboard": dashboard,
        "row": dashboard.row,
        "timeline": charts.phase_timeline(dashboard.phases),
        "heatmap_figure": risk_charts.heatmap_figure(dashboard.heatmap),
        "refresh_seconds": settings.STATUS_REFRESH_SECONDS,
        **_kpi_tiles_context(dashboard.kpi_tiles),
    }


@require_GET
@login_required
def project_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The project dashboard: rating with reasons, timeline, KPIs, risks, gates, activity."""
    project = policy.get_project_for(request.user, pk)
    return render(request, PROJECT_STATUS_PAGE, _project_status_context(request, project))


@require_GET
@login_required
@never_cache
def project_status_live(request: HttpRequest, pk: int) -> HttpResponse:
    """What changed on the project dashboard since the poller's last look."""
    project = policy.get_project_for(request.user, pk)
    context = _project_status_context(request, project)
    lists = {"kpi-tiles": context["tiles_fingerprint"]}
    return _live_changes(request, f"{PROJECT_STATUS_PAGE}#live-update", context, lists)


@require_POST
@login_required
def kpi_pin(request: HttpRequest, pk: int) -> HttpResponse:
    """Pin a KPI first on its project's dashboard for the user, or unpin it: a preference of
    their own, for anyone who may see the project."""
    kpi = metric_policy.get_kpi_for(request.user, pk)
    pinned = request.POST.get("pinned")
    if pinned not in {"1", "0"}:
        return HttpResponse("Say whether to pin (1) or unpin (0) the KPI.", status=400)
    metric_services.kpi_pin_set(kpi=kpi, user=request.user, pinned=pinned == "1")
    if not request.htmx:
        done = "pinned first" if pinned == "1" else "no longer pinned"
        messages.success(request, f"“{kpi.name}” is {done} on your dashboard.")
        return redirect(f"{reverse('project-status', args=[kpi.project_id])}#kpi-tile-{kpi.pk}")
    tiles = selectors.project_kpi_tiles(project=kpi.project, user=request.user)
    response = render(request, f"{PROJECT_STATUS_PAGE}#kpi-tiles", _kpi_tiles_context(tiles))
    return focus_after_swap(response, f"kpi-pin-{kpi.pk}")


REPORT_FORMATS = {"md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


def _report_response(
    request: HttpRequest, report, fmt: str, *, scope: dict, urls: dict
) -> HttpResponse:
    """The weekly report as a page, a Markdown download or a PDF download."""
    if fmt == "html":
        subscribed = reports.is_subscribed(user=request.user, **scope)
        context = {"report": report, "subscribed": subscribed, **urls}
        return render(request, "dashboards/report.html", context)
    if fmt == "md":
        body = reports.report_markdown(report).encode()
    else:
        try:
            body = reports.report_pdf(report)
        except reports.PDFUnavailable as error:
            return HttpResponse(str(error), status=503, content_type="text/plain")
    response = HttpResponse(body, content_type=REPORT_FORMATS[fmt])
    response["Content-Disposition"] = (
        f'attachment; filename="{reports.report_filename(report, fmt)}"'
    )
    return response


def _report_urls(scope: str, key) -> dict[str, str]:
    """The download and subscription links of a project's or programme's report page."""
    return {
        "markdown_url": reverse(f"{scope}-report-md", args=[key]),
        "pdf_url": reverse(f"{scope}-report-pdf", args=[key]),
        "subscription_url": reverse(f"{scope}-report-subscription", args=[key]),
    }


@require_GET
@login_required
def project_report(request: HttpRequest, pk: int, fmt: str = "html") -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    report = reports.report_for_project(project=project, now=timezone.now())
    urls = _report_urls("project", pk)
    return _report_response(request, report, fmt, scope={"project": project}, urls=urls)


@require_GET
@login_required
def programme_report(request: HttpRequest, slug: str, fmt: str = "html") -> HttpResponse:
    programme = policy.get_programme_for(request.user, slug)
    report = reports.report_for_programme(
        user=request.user, programme=programme, now=timezone.now()
    )
    urls = _report_urls("programme", slug)
    return _report_response(request, report, fmt, scope={"programme": programme}, urls=urls)


@require_POST
@login_required
def project_report_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    subscribed = request.POST.get("subscribed") == "1"
    reports.report_subscription_set(user=request.user, project=project, subscribed=subscribed)
    messages.success(request, _subscription_message(subscribed))
    return redirect("project-report", pk=pk)


@require_POST
@login_required
def programme_report_subscription(request: HttpRequest, slug: str) -> HttpResponse:
    programme = policy.get_programme_for(request.user, slug)
    subscribed = request.POST.get("subscribed") == "1"
    reports.report_subscription_set(user=request.user, programme=programme, subscribed=subscribed)
    messages.success(request, _subscription_message(subscribed))
    return redirect("programme-report", slug=slug)


def _subscription_message(subscribed: bool) -> str:
    if subscribed:
        return "You will receive this report by e-mail every week."
    return "You will no longer receive this report by e-mail."


@require_GET
@login_required
def status_help(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboards/status_help.html",
        {
            "rules": status.RULES,
            "thresholds": settings.RAG_RULES,
            "bands": settings.RISK_BAND_THRESHOLDS,
        },
    )


@require_GET
@login_required
@vary_on_headers("HX-Request")
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    context = project_views.plan_context(request, project)
    context.update(
        risks=risk_selectors.risk_list_for_project(project=project),
        kpis=metric_selectors.kpi_list_for_project(project=project),
        gates=gate_selectors.gate_list_for_project(project=project),
        deleted=project_selectors.deleted_plan_rows(project=project),
        may_manage=policy.can_manage_project(request.user, project),
    )
    return render(request, project_views.PAGE, context)
