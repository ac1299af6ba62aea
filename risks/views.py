import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from core import versioning
from core.htmx import focus_after_swap, fragment_or_page
from core.outbox import enqueue
from projects import policy as project_policy
from projects.policy import Action
from risks import charts, policy, selectors, services, tasks
from risks.forms import MitigationActionForm, RegisterImportForm, RiskForm
from risks.models import RiskCategory, RiskStatus
from risks.register_csv import RegisterImportRefused, register_export_csv, register_import_csv
from risks.scoring import Band

logger = logging.getLogger(__name__)

PAGE = "risks/register.html"
FORM_PAGE = "risks/form_page.html"
RISK_CHANGED = "riskUpdated"  # the heatmap refreshes on it


def _register_page(*, projects, query) -> tuple:
    """The filters in `query` and the page of the register they ask for."""
    filters = selectors.RegisterFilters.from_query(query)
    register = Paginator(
        selectors.risk_register(projects=projects, filters=filters),
        settings.RISK_REGISTER_PAGE_SIZE,
    ).get_page(query.get("page"))
    return filters, register


def _register_context(request, *, projects, project=None, programme=None) -> dict:
    filters, register = _register_page(projects=projects, query=request.GET)
    residual = request.GET.get("view") == "residual"
    heatmap = selectors.risk_heatmap(projects=projects, residual=residual)
    base = (
        reverse("risk-register", args=[project.pk])
        if project
        else reverse("programme-risks", args=[programme.slug])
    )
    return {
        "project": project,
        "programme": programme or project.programme,
        "risks": register.object_list,
        "register_page": register,
        "filters": filters,
        "heatmap": heatmap,
        "heatmap_figure": charts.heatmap_figure(heatmap),
        "register_url": base,
        "may_edit": bool(project) and project_policy.can_edit_project(request.user, project),
        "statuses": RiskStatus.choices,
        "categories": RiskCategory.choices,
        "bands": [(band.value, band.label) for band in Band],
        "sorts": [(key, key.capitalize()) for key in selectors.SORTS],
    }


def _register_response(request: HttpRequest, context: dict) -> HttpResponse:
    """The register page; with htmx, just the table (filters) or the heatmap."""
    partial = "heatmap" if request.GET.get("part") == "heatmap" else "register-table"
    return fragment_or_page(request, PAGE, partial, context)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def risk_register(request: HttpRequest, pk: int) -> HttpResponse:
    """A project's register; with htmx, just the table (filters) or the heatmap."""
    project = project_policy.get_project_for(request.user, pk)
    context = _register_context(
        request,
        projects=project_policy.visible_projects(request.user).filter(pk=project.pk),
        project=project,
    )
    return _register_response(request, context)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def programme_risks(request: HttpRequest, slug: str) -> HttpResponse:
    """The register over every project of the programme that the user may see."""
    programme = project_policy.get_programme_for(request.user, slug)
    projects = project_policy.visible_projects(request.user).filter(programme=programme)
    context = _register_context(request, projects=projects, programme=programme)
    return _register_response(request, context)


def _fragment(request, partial, context, *, status=200, title=""):
    """The fragment for htmx; for a plain request, a page holding just that fragment."""
    return fragment_or_page(
        request, PAGE, partial, context, status=status, form_page=FORM_PAGE, title=title
    )


def _row(request, risk, *, status=200):
    risk = selectors.risk_register(
        projects=project_policy.visible_projects(request.user).filter(pk=risk.project_id),
        filters=selectors.RegisterFilters(),
    ).get(pk=risk.pk)
    context = {"risk": risk, "project": risk.project, "may_edit": True}
    response = render(request, f"{PAGE}#risk-row", context, status=status)
    return trigger_client_event(response, RISK_CHANGED)


def _register_heading_oob(request: HttpRequest, project) -> str:
    """The register's heading, counted anew under the filters of the page the person is on,
    to swap out of band."""
    filters, register = _register_page(
        projects=project_policy.visible_projects(request.user).filter(pk=project.pk),
        query=QueryDict(urlsplit(request.htmx.current_url or "").query),
    )
    context = {"filters": filters, "register_page": register, "oob": True}
    return render_to_string(f"{PAGE}#register-heading", context, request)


@require_http_methods(["GET", "POST"])
@login_required
def risk_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_policy.get_project_for(request.user, pk, Action.EDIT)
    context = {"project": project, "may_edit": True}
    if request.method == "GET":
        form = RiskForm(project=project)
        return _fragment(request, "risk-new-form", {**context, "form": form}, title="Add a risk")
    form = RiskForm(request.POST, project=project)
    if form.is_valid():
        try:
            risk = services.risk_create(project=project, by=request.user, **form.changes())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not request.htmx:
                messages.success(request, f"{risk.key} added to the register.")
                return redirect(f"{reverse('risk-register', args=[project.pk])}#risk-row-{risk.pk}")
            # The new row goes on top of the register, its heading counts it, the form closes.
            response = _row(request, risk)
            response.write(_register_heading_oob(request, project))
            response.write('<div id="risk-new" hx-swap-oob="true"></div>')
            response["HX-Retarget"] = "#register-rows"
            response["HX-Reswap"] = "afterbegin"
            return focus_after_swap(response, f"risk-edit-{risk.pk}")
    return _fragment(request, "risk-new-form", {**context, "form": form}, status=422)


@require_http_methods(["GET", "POST"])
@login_required
def risk_edit(request: HttpRequest, pk: int) -> HttpResponse:
    risk = policy.get_risk_for(request.user, pk, Action.EDIT)
    context = {"risk": risk, "project": risk.project, "may_edit": True}
    if request.method == "GET":
        form = RiskForm(instance=risk)
        return _fragment(request, "risk-form", {**context, "form": form}, title=f"Edit {risk.key}")
    edit = versioning.edit_versioned(
        request,
        RiskForm,
        risk,
        lambda *, version, changes: services.risk_update(
            risk=risk, by=request.user, version=version, **changes
        ),
    )
    if edit.stale:
        context.update(form=edit.form, conflict=edit.conflict, stale=edit.stale)
        context["risk"] = edit.stale.current
        return _fragment(request, "risk-form", context, status=409)
    if edit.saved is None:
        return _fragment(request, "risk-form", {**context, "form": edit.form}, status=422)
    risk = edit.saved
    if not request.htmx:
        messages.success(request, f"{risk.key} saved.")
        return redirect(risk.get_absolute_url())
    return _row(request, risk)


@require_GET
@login_required
def risk_row(request: HttpRequest, pk: int) -> HttpResponse:
    risk = policy.get_risk_for(request.user, pk)
    if not request.htmx:
        return redirect(risk.get_absolute_url())
    risk = selectors.risk_register(
        projects=project_policy.visible_projects(request.user).filter(pk=risk.project_id),
        filters=selectors.RegisterFilters(),
    ).get(pk=risk.pk)
    may_edit = project_policy.can_edit_project(request.user, risk.project)
    return render(request, f"{PAGE}#risk-row", {"risk": risk, "may_edit": may_edit})


@require_GET
@login_required
def risk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    risk = policy.get_risk_for(request.user, pk)
    detail = selectors.risk_detail(risk_id=risk.pk)
    may_edit = project_policy.can_edit_project(request.user, risk.project)
    context = {
        "risk": detail,
        "project": risk.project,
        "may_edit": may_edit,
        "trend": charts.score_trend_figure(detail.assessments.all()),
        "action_form": MitigationActionForm(risk=risk) if may_edit else None,
    }
    return render(request, "risks/risk_detail.html", context)


@require_POST
@login_required
def mitigation_action_create(request: HttpRequest, pk: int) -> HttpResponse:
    risk = policy.get_risk_for(request.user, pk, Action.EDIT)
    form = MitigationActionForm(request.POST, risk=risk)
    if form.is_valid():
        services.mitigation_action_create(risk=risk, by=request.user, **form.cleaned_data)
        messages.success(request, "Mitigation action added.")
        return redirect(f"{risk.get_absolute_url()}#actions")
    detail = selectors.risk_detail(risk_id=risk.pk)
    context = {
        "risk": detail,
        "project": risk.project,
        "may_edit": True,
        "trend": charts.score_trend_figure(detail.assessments.all()),
        "action_form": form,
    }
    return render(request, "risks/risk_detail.html", context, status=422)


@require_POST
@login_required
def mitigation_action_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    action = policy.get_action_for(request.user, pk, Action.EDIT)
    done = request.POST.get("done") == "1"
    services.mitigation_action_set_done(action=action, done=done, by=request.user)
    return redirect(f"{action.risk.get_absolute_url()}#action-{action.pk}")


@require_GET
@login_required
def risk_register_export(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_policy.get_project_for(request.user, pk)
    risks = selectors.risk_register(
        projects=project_policy.visible_projects(request.user).filter(pk=project.pk),
        filters=selectors.RegisterFilters(sort="key"),
    )
    response = HttpResponse(register_export_csv(risks=risks), content_type="text/csv")
    filename = f"{project.code}-risk-register.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def risk_register_import(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_policy.get_project_for(request.user, pk, Action.EDIT)
    context = {"project": project, "problems": []}
    form = RegisterImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = register_import_csv(
                project=project, data=form.cleaned_data["file"].read(), by=request.user
            )
        except RegisterImportRefused as refused:
            context["problems"] = refused.problems
            return render(request, "risks/import.html", {**context, "form": form}, status=422)
        messages.success(
            request, f"Imported {len(created)} risk(s): {', '.join(r.key for r in created)}."
        )
        return redirect("risk-register", pk=project.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "risks/import.html", {**context, "form": form}, status=status)


@require_POST
@login_required
def risk_escalation_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the escalation check for this project now, on a worker, instead of waiting."""
    project = project_policy.get_project_for(request.user, pk, Action.EDIT)
    enqueue(tasks.risk_escalate_overdue, project.pk)
    messages.success(
        request,
        "Escalation check queued: escalated risks are marked here and their owners notified "
        "within a minute (or as soon as the background worker can be reached).",
    )
    return redirect("risk-register", pk=project.pk)
