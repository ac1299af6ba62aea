import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from core import versioning
from gates import selectors as gate_selectors
from metrics import selectors as metric_selectors
from projects import charts, exchange, policy, reports, selectors, services, status, tokens
from projects.forms import (
    ApiTokenForm,
    ChecklistItemForm,
    NewChecklistItemForm,
    NewPhaseForm,
    PhaseForm,
    PlanImportForm,
    ProjectOverviewForm,
)
from projects.models import NotificationKind, Phase, Project
from projects.plan_markdown.build import (
    ImportOptions,
    PlanNotImported,
    import_report,
    plan_import,
    plan_read,
)
from projects.plan_markdown.edits import EditRefused, plan_apply_edits
from projects.plan_markdown.export import project_markdown
from projects.policy import Action
from risks import charts as risk_charts
from risks import selectors as risk_selectors

logger = logging.getLogger(__name__)

PAGE = "projects/project_detail.html"
FORM_PAGE = "projects/form_page.html"
PLAN_CHANGED = "planChanged"  # the variance and timeline blocks refresh on it


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    overviews = selectors.programme_overviews_for(user=request.user, today=timezone.localdate())
    return render(request, "projects/home.html", {"overviews": overviews})


PROGRAMME_PAGE = "projects/programme_detail.html"
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
    if request.htmx:
        return render(request, f"{PROGRAMME_PAGE}#status-board", context)
    return render(request, PROGRAMME_PAGE, context)


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


PROJECT_STATUS_PAGE = "projects/project_status.html"


def _project_status_context(request: HttpRequest, project: Project) -> dict:
    dashboard = selectors.project_dashboard(project=project, today=timezone.localdate())
    return {
        "project": project,
        "dashboard": dashboard,
        "row": dashboard.row,
        "timeline": charts.phase_timeline(dashboard.phases),
        "heatmap_figure": risk_charts.heatmap_figure(dashboard.heatmap),
        "tiles_fingerprint": selectors.members_fingerprint(t.kpi for t in dashboard.kpi_tiles),
        "one_project": True,
        "refresh_seconds": settings.STATUS_REFRESH_SECONDS,
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


REPORT_FORMATS = {"md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


def _report_response(
    request: HttpRequest, report, fmt: str, *, scope: dict, urls: dict
) -> HttpResponse:
    """The weekly report as a page, a Markdown download or a PDF download."""
    if fmt == "html":
        subscribed = reports.is_subscribed(user=request.user, **scope)
        context = {"report": report, "subscribed": subscribed, **urls}
        return render(request, "projects/report.html", context)
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


PLAN_IMPORT_PAGE = "projects/plan_import.html"


@require_http_methods(["GET", "POST"])
@login_required
def plan_import_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload or paste a plan → a preview to correct → one transaction that creates it all.
    Nothing is stored before the confirmation: the preview carries the plan's text."""
    programme = policy.get_programme_to_add_to(request.user, slug)
    context = {"programme": programme}
    if request.method == "GET":
        context["form"] = PlanImportForm(initial={"start_date": timezone.localdate()})
        return render(request, PLAN_IMPORT_PAGE, context)
    form = PlanImportForm(request.POST, request.FILES)
    if not form.is_valid():
        context["form"] = form
        return _import_fragment(request, "import-form", context, status=422)
    plan = plan_read(form.cleaned_data["source"])
    context.update(form=form, source=form.cleaned_data["source"], plan=plan)
    if request.POST.get("action") != "import":
        context["report"] = import_report(plan)
        return _import_fragment(request, "import-preview", context)
    try:
        project = plan_import(
            plan=plan_apply_edits(plan, request.POST),
            options=ImportOptions(
                programme=programme,
                start_date=form.cleaned_data["start_date"],
                code=form.cleaned_data["code"],
                by=request.user,
            ),
        )
    except (PlanNotImported, EditRefused) as error:
        context.update(report=import_report(plan_read(context["source"])), error=str(error))
        context["plan"] = plan_read(context["source"])
        return _import_fragment(request, "import-preview", context, status=422)
    messages.success(request, f"Imported {project.code} {project.name}.")
    destination = reverse("project-status", args=[project.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = destination
        return response
    return redirect(destination)


def _import_fragment(request, partial: str, context: dict, *, status: int = 200):
    if request.htmx:
        return render(request, f"{PLAN_IMPORT_PAGE}#{partial}", context, status=status)
    return render(request, PLAN_IMPORT_PAGE, {**context, "shown": partial}, status=status)


@require_GET
@login_required
def project_plan_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The project as a Markdown plan, to download (and import again)."""
    project = policy.get_project_for(request.user, pk)
    response = HttpResponse(
        project_markdown(project=project), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{project.code}-plan.md"'
    return response


@require_GET
@login_required
def project_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The project with everything that belongs to it as JSON, for `manage.py project_import`:
    its managers' (it names every member and carries the gates' audit trails)."""
    project = policy.get_project_for(request.user, pk, action=Action.MANAGE)
    response = JsonResponse(
        exchange.project_export(project=project), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Disposition"] = f'attachment; filename="{project.code}.json"'
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
        "projects/status_help.html",
        {
            "rules": status.RULES,
            "thresholds": settings.RAG_RULES,
            "bands": settings.RISK_BAND_THRESHOLDS,
        },
    )


def _plan_context(request: HttpRequest, project: Project) -> dict:
    phases = list(selectors.phase_list_for_project(project=project))
    return {
        "project": project,
        "phases": phases,
        "variance": selectors.project_variance_for(project=project, phases=phases),
        "timeline": charts.phase_timeline(phases),
        "may_edit": policy.can_edit_project(request.user, project),
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    context = _plan_context(request, project)
    context.update(
        risks=risk_selectors.risk_list_for_project(project=project),
        kpis=metric_selectors.kpi_list_for_project(project=project),
        gates=gate_selectors.gate_list_for_project(project=project),
        deleted=selectors.deleted_plan_rows(project=project),
        may_manage=policy.can_manage_project(request.user, project),
    )
    return render(request, PAGE, context)


@require_GET
@login_required
def project_plan_block(request: HttpRequest, pk: int, block: str) -> HttpResponse:
    """The variance or timeline block alone, re-fetched when the plan changes."""
    project = policy.get_project_for(request.user, pk)
    partial = {"variance": "project-variance", "timeline": "project-timeline"}[block]
    return render(request, f"{PAGE}#{partial}", _plan_context(request, project))


@require_GET
@login_required
def project_history(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    entries = selectors.project_history(project=project)
    return render(
        request, "projects/project_history.html", {"project": project, "entries": entries}
    )


def _fragment(request, partial: str, context: dict, *, status: int = 200, title: str = ""):
    """The fragment for htmx; for a plain request, a page holding just that fragment."""
    if request.htmx:
        return render(request, f"{PAGE}#{partial}", context, status=status)
    context = {**context, "partial": f"{PAGE}#{partial}", "title": title}
    return render(request, FORM_PAGE, context, status=status)


def _back_to_project(project: Project, anchor: str = "") -> HttpResponse:
    return redirect(project.get_absolute_url() + (f"#{anchor}" if anchor else ""))


# Project overview


@require_http_methods(["GET", "POST"])
@login_required
def project_overview_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk, Action.EDIT)
    context = {"project": project, "may_edit": True}
    if request.method == "GET":
        form = ProjectOverviewForm(instance=project)
        return _fragment(request, "overview-form", {**context, "form": form}, title="Edit overview")
    edit = versioning.edit_versioned(
        request,
        ProjectOverviewForm,
        project,
        lambda **change: services.project_update(project=project, by=request.user, **change),
    )
    if edit.stale:
        context.update(form=edit.form, conflict=edit.conflict, stale=edit.stale)
        return _fragment(request, "overview-form", context, status=409)
    if edit.saved is None:
        return _fragment(request, "overview-form", {**context, "form": edit.form}, status=422)
    project = edit.saved
    if not request.htmx:
        messages.success(request, "Overview saved.")
        return _back_to_project(project, "project-overview")
    response = render(request, f"{PAGE}#overview", {**context, "project": project})
    return trigger_client_event(_focus(response, "overview-edit"), PLAN_CHANGED)


@require_GET
@login_required
def project_overview(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    context = {"project": project, "may_edit": policy.can_edit_project(request.user, project)}
    return render(request, f"{PAGE}#overview", context)


# Phases


def _focus(response: HttpResponse, element_id: str) -> HttpResponse:
    """Ask the page to move keyboard focus to `element_id` once the swap has settled."""
    return trigger_client_event(response, "focusElement", {"id": element_id}, after="settle")


def _phase_row(request, phase: Phase, *, focus: str = "", changed=False):
    phase = selectors.phase_with_checklist(phase_id=phase.pk)
    context = {"phase": phase, "project": phase.project, "may_edit": True}
    response = render(request, f"{PAGE}#phase-row", context)
    if focus:
        _focus(response, focus)
    return trigger_client_event(response, PLAN_CHANGED) if changed else response


def _phase_list(request, project: Project, *, focus: str = "", undo_phase: Phase | None = None):
    context = {**_plan_context(request, project), "undo_phase": undo_phase}
    response = render(request, f"{PAGE}#phase-list", context)
    if focus:
        _focus(response, focus)
    return trigger_client_event(response, PLAN_CHANGED)


@require_GET
@login_required
def phase_row(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk)
    if not request.htmx:
        return _back_to_project(phase.project, f"phase-row-{phase.pk}")
    may_edit = policy.can_edit_project(request.user, phase.project)
    phase = selectors.phase_with_checklist(phase_id=phase.pk)
    context = {"phase": phase, "project": phase.project, "may_edit": may_edit}
    return render(request, f"{PAGE}#phase-row", context)


@require_http_methods(["GET", "POST"])
@login_required
def phase_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk, Action.EDIT)
    context = {"project": project, "may_edit": True}
    if request.method == "GET":
        form = NewPhaseForm(project=project)
        return _fragment(request, "phase-new-form", {**context, "form": form}, title="Add a phase")
    form = NewPhaseForm(request.POST, project=project)
    if form.is_valid():
        try:
            phase = services.phase_create(project=project, by=request.user, **form.changes())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not request.htmx:
                messages.success(request, f"Phase “{phase.name}” added.")
                return _back_to_project(project, f"phase-row-{phase.pk}")
            return _phase_list(request, project, focus=f"phase-edit-{phase.pk}")
    return _fragment(request, "phase-new-form", {**context, "form": form}, status=422)


@require_http_methods(["GET", "POST"])
@login_required
def phase_edit(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk, Action.EDIT)
    context = {"phase": phase, "project": phase.project, "may_edit": True}
    if request.method == "GET":
        form = PhaseForm(instance=phase)
        return _fragment(request, "phase-form", {**context, "form": form}, title="Edit phase")
    edit = versioning.edit_versioned(
        request,
        PhaseForm,
        phase,
        lambda **change: services.phase_update(phase=phase, by=request.user, **change),
    )
    if edit.stale:
        context.update(form=edit.form, conflict=edit.conflict, stale=edit.stale)
        context["phase"] = edit.stale.current
        return _fragment(request, "phase-form", context, status=409)
    if edit.saved is None:
        return _fragment(request, "phase-form", {**context, "form": edit.form}, status=422)
    phase = edit.saved
    if not request.htmx:
        messages.success(request, f"Phase “{phase.name}” saved.")
        return _back_to_project(phase.project, f"phase-row-{phase.pk}")
    return _phase_row(request, phase, focus=f"phase-edit-{phase.pk}", changed=True)


@require_POST
@login_required
def phase_move(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk, Action.EDIT)
    direction = request.POST.get("direction")
    if direction not in {"up", "down"}:
        return HttpResponse("Say whether to move the phase up or down.", status=400)
    services.phase_move(phase=phase, by=request.user, direction=direction)
    if not request.htmx:
        return _back_to_project(phase.project, f"phase-row-{phase.pk}")
    return _phase_list(request, phase.project, focus=f"phase-move-{direction}-{phase.pk}")


@require_http_methods(["GET", "POST"])
@login_required
def phase_delete(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk, Action.EDIT)
    context = {"phase": phase, "project": phase.project}
    if request.method == "GET":
        return render(request, "projects/confirm_delete.html", {**context, "what": "phase"})
    phase = services.phase_delete(phase=phase, by=request.user)
    if not request.htmx:
        messages.success(request, f"Phase “{phase.name}” deleted. You can restore it below.")
        return _back_to_project(phase.project, "deleted")
    return _phase_list(request, phase.project, focus=f"phase-undo-{phase.pk}", undo_phase=phase)


@require_POST
@login_required
def phase_restore(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk, Action.EDIT)
    phase = services.phase_restore(phase=phase, by=request.user)
    if not request.htmx:
        messages.success(request, f"Phase “{phase.name}” restored.")
        return _back_to_project(phase.project, f"phase-row-{phase.pk}")
    return _phase_list(request, phase.project, focus=f"phase-edit-{phase.pk}")


# Checklist items


@require_GET
@login_required
def checklist_item_row(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk)
    if not request.htmx:
        return _back_to_project(item.phase.project, f"item-row-{item.pk}")
    may_edit = policy.can_edit_project(request.user, item.phase.project)
    return render(request, f"{PAGE}#item-row", {"item": item, "may_edit": may_edit})


@require_http_methods(["GET", "POST"])
@login_required
def checklist_item_create(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk, Action.EDIT)
    context = {"phase": phase, "project": phase.project, "may_edit": True}
    if request.method == "GET":
        form = NewChecklistItemForm(phase=phase)
        return _fragment(request, "item-new-form", {**context, "form": form}, title="Add an item")
    form = NewChecklistItemForm(request.POST, phase=phase)
    if form.is_valid():
        try:
            item = services.checklist_item_create(phase=phase, by=request.user, **form.changes())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not request.htmx:
                messages.success(request, f"“{item.title}” added.")
                return _back_to_project(phase.project, f"item-row-{item.pk}")
            return _phase_row(request, phase, focus=f"item-add-{phase.pk}", changed=True)
    return _fragment(request, "item-new-form", {**context, "form": form}, status=422)


@require_http_methods(["GET", "POST"])
@login_required
def checklist_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk, Action.EDIT)
    context = {"item": item, "project": item.phase.project, "may_edit": True}
    if request.method == "GET":
        form = ChecklistItemForm(instance=item)
        return _fragment(request, "item-form", {**context, "form": form}, title="Edit item")
    edit = versioning.edit_versioned(
        request,
        ChecklistItemForm,
        item,
        lambda **change: services.checklist_item_update(item=item, by=request.user, **change),
    )
    if edit.stale:
        context.update(form=edit.form, conflict=edit.conflict, stale=edit.stale)
        context["item"] = edit.stale.current
        return _fragment(request, "item-form", context, status=409)
    if edit.saved is None:
        return _fragment(request, "item-form", {**context, "form": edit.form}, status=422)
    item = edit.saved
    if not request.htmx:
        messages.success(request, f"“{item.title}” saved.")
        return _back_to_project(item.phase.project, f"item-row-{item.pk}")
    context.update(item=item)
    return _focus(render(request, f"{PAGE}#item-row", context), f"item-edit-{item.pk}")


@require_POST
@login_required
def checklist_item_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk, Action.EDIT)
    done = request.POST.get("done") == "1"
    item = services.checklist_item_set_done(item=item, done=done, by=request.user)
    if not request.htmx:
        return _back_to_project(item.phase.project, f"item-row-{item.pk}")
    return _phase_row(request, item.phase, focus=f"item-toggle-{item.pk}", changed=True)


@require_POST
@login_required
def checklist_item_move(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk, Action.EDIT)
    direction = request.POST.get("direction")
    if direction not in {"up", "down"}:
        return HttpResponse("Say whether to move the item up or down.", status=400)
    services.checklist_item_move(item=item, by=request.user, direction=direction)
    if not request.htmx:
        return _back_to_project(item.phase.project, f"item-row-{item.pk}")
    return _phase_row(request, item.phase, focus=f"item-move-{direction}-{item.pk}")


@require_http_methods(["GET", "POST"])
@login_required
def checklist_item_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk, Action.EDIT)
    context = {"item": item, "project": item.phase.project}
    if request.method == "GET":
        return render(request, "projects/confirm_delete.html", {**context, "what": "item"})
    item = services.checklist_item_delete(item=item, by=request.user)
    if not request.htmx:
        messages.success(request, f"“{item.title}” deleted. You can restore it below.")
        return _back_to_project(item.phase.project, "deleted")
    response = render(request, f"{PAGE}#item-deleted", {**context, "item": item})
    return trigger_client_event(response, PLAN_CHANGED)


@require_POST
@login_required
def checklist_item_restore(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk, Action.EDIT)
    item = services.checklist_item_restore(item=item, by=request.user)
    if not request.htmx:
        messages.success(request, f"“{item.title}” restored.")
        return _back_to_project(item.phase.project, f"item-row-{item.pk}")
    return _phase_row(request, item.phase, focus=f"item-edit-{item.pk}", changed=True)


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


# Notifications


@require_GET
@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    context = {
        "notifications": selectors.notifications_for(user=request.user),
        "kinds": selectors.notification_kinds_for(user=request.user),
    }
    return render(request, "projects/notifications.html", context)


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


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's personal API tokens: make one (shown once, here), see when each was last
    used, revoke."""
    form = ApiTokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        token, raw = tokens.api_token_create(user=request.user, name=form.cleaned_data["name"])
        made = {"token": token, "raw": raw}
        form = ApiTokenForm()
    context = {"form": form, "tokens": tokens.api_tokens_of(request.user), "made": made}
    return render(request, "projects/api_tokens.html", context, status=201 if made else 200)


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = policy.get_api_token_for(request.user, pk)
    tokens.api_token_revoke(token=token)
    messages.success(
        request, f"Token “{token.name}” ({token.prefix}…) revoked: it no longer works."
    )
    return redirect("api-tokens")
