import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from core import versioning
from core.htmx import focus_after_swap, form_again, fragment_or_page
from core.people import display_name
from projects import charts, policy, selectors, services
from projects.forms import (
    ChecklistBulkForm,
    ChecklistItemForm,
    NewChecklistItemForm,
    NewPhaseForm,
    PhaseForm,
    ProjectOverviewForm,
)
from projects.models import Phase, Project
from projects.policy import Action

logger = logging.getLogger(__name__)

PAGE = "projects/project_detail.html"
FORM_PAGE = "projects/form_page.html"
PLAN_CHANGED = "planChanged"  # the variance and timeline blocks refresh on it


def plan_context(request: HttpRequest, project: Project, *, bulk: dict | None = None) -> dict:
    phases = selectors.plan_phases_for(project=project, user=request.user)
    may_edit = policy.can_edit_project(request.user, project)
    return {
        "project": project,
        "phases": phases,
        "variance": selectors.project_variance_for(project=project, phases=phases),
        "timeline": charts.phase_timeline(phases),
        "may_edit": may_edit,
        # Who may own items, for the bulk change below the phases.
        "members": selectors.project_members(project=project) if may_edit else [],
        "bulk": bulk or {},
    }


@require_GET
@login_required
def project_plan_block(request: HttpRequest, pk: int, block: str) -> HttpResponse:
    """The variance or timeline block alone, re-fetched when the plan changes."""
    project = policy.get_project_for(request.user, pk)
    partial = {"variance": "project-variance", "timeline": "project-timeline"}[block]
    return render(request, f"{PAGE}#{partial}", plan_context(request, project))


@require_GET
@login_required
def project_history(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    entries = selectors.project_history(project=project)
    return render(
        request, "projects/project_history.html", {"project": project, "entries": entries}
    )


# The partials that are an item of the plan's lists: on a page of their own, in a list too.
LIST_ITEMS = {"phase-form", "phase-row", "item-form", "item-new-form", "item-row"}


def _fragment(request, partial: str, context: dict, *, status: int = 200, title: str = ""):
    """The fragment for htmx; for a plain request, a page holding just that fragment."""
    context = {**context, "list_item": partial in LIST_ITEMS}
    return fragment_or_page(
        request, PAGE, partial, context, status=status, form_page=FORM_PAGE, title=title
    )


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
    return trigger_client_event(focus_after_swap(response, "overview-edit"), PLAN_CHANGED)


@require_GET
@login_required
def project_overview(request: HttpRequest, pk: int) -> HttpResponse:
    project = policy.get_project_for(request.user, pk)
    context = {"project": project, "may_edit": policy.can_edit_project(request.user, project)}
    return render(request, f"{PAGE}#overview", context)


# Phases


def _phase_row(
    request,
    phase: Phase,
    *,
    focus: str = "",
    changed=False,
    worked_in=False,
    open_menu_item: int | None = None,
    open_menu_phase: int | None = None,
):
    """The phase's row again; `worked_in`: after a change inside it, so it stays open whatever
    the plan's default. `open_menu_item` / `open_menu_phase` keep that row's menu open, for
    the focus to land in it."""
    phase = selectors.phase_with_checklist(phase_id=phase.pk, user=request.user)
    phase.open = phase.open or worked_in
    context = {
        "phase": phase,
        "project": phase.project,
        "may_edit": True,
        "open_menu_item": open_menu_item,
        "open_menu_phase": open_menu_phase,
    }
    response = render(request, f"{PAGE}#phase-row", context)
    if focus:
        focus_after_swap(response, focus)
    return trigger_client_event(response, PLAN_CHANGED) if changed else response


def _phase_list(
    request,
    project: Project,
    *,
    focus: str = "",
    undo_phase: Phase | None = None,
    open_menu_phase: int | None = None,
):
    context = {
        **plan_context(request, project),
        "undo_phase": undo_phase,
        "open_menu_phase": open_menu_phase,
    }
    response = render(request, f"{PAGE}#phase-list", context)
    if focus:
        focus_after_swap(response, focus)
    return trigger_client_event(response, PLAN_CHANGED)


@require_GET
@login_required
def phase_row(request: HttpRequest, pk: int) -> HttpResponse:
    phase = policy.get_phase_for(request.user, pk)
    if not request.htmx:
        return _back_to_project(phase.project, f"phase-row-{phase.pk}")
    may_edit = policy.can_edit_project(request.user, phase.project)
    phase = selectors.phase_with_checklist(phase_id=phase.pk, user=request.user)
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
            return _phase_list(
                request, project, focus=f"phase-edit-{phase.pk}", open_menu_phase=phase.pk
            )
    answer = _fragment(request, "phase-new-form", {**context, "form": form}, status=422)
    return form_again(request, answer, "phase-new-form")


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
    return _phase_row(
        request, phase, focus=f"phase-edit-{phase.pk}", changed=True, open_menu_phase=phase.pk
    )


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
    return _phase_list(
        request,
        phase.project,
        focus=f"phase-move-{direction}-{phase.pk}",
        open_menu_phase=phase.pk,
    )


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
    return _phase_list(
        request, phase.project, focus=f"phase-edit-{phase.pk}", open_menu_phase=phase.pk
    )


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
            return _phase_row(
                request, phase, focus=f"item-add-{phase.pk}", changed=True, worked_in=True
            )
    answer = _fragment(request, "item-new-form", {**context, "form": form}, status=422)
    return form_again(request, answer, f"item-new-{phase.pk}")


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
    context.update(item=item, open_menu_item=item.pk)
    return focus_after_swap(render(request, f"{PAGE}#item-row", context), f"item-edit-{item.pk}")


@require_POST
@login_required
def checklist_item_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    item = policy.get_checklist_item_for(request.user, pk, Action.EDIT)
    done = request.POST.get("done") == "1"
    item = services.checklist_item_set_done(item=item, done=done, by=request.user)
    if not request.htmx:
        return _back_to_project(item.phase.project, f"item-row-{item.pk}")
    return _phase_row(
        request, item.phase, focus=f"item-toggle-{item.pk}", changed=True, worked_in=True
    )


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
    return _phase_row(
        request,
        item.phase,
        focus=f"item-move-{direction}-{item.pk}",
        worked_in=True,
        open_menu_item=item.pk,
    )


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
    return _phase_row(
        request,
        item.phase,
        focus=f"item-edit-{item.pk}",
        changed=True,
        worked_in=True,
        open_menu_item=item.pk,
    )


# Several items at once


@require_POST
@login_required
def phase_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Remember that the user opened or collapsed the phase (the page's <details> toggled)."""
    phase = policy.get_phase_for(request.user, pk)
    expanded = request.POST.get("expanded")
    if expanded not in {"1", "0"}:
        return HttpResponse("Say whether the phase is open (1) or collapsed (0).", status=400)
    services.phase_view_set(phase=phase, user=request.user, expanded=expanded == "1")
    if not request.htmx:
        return _back_to_project(phase.project, f"phase-row-{phase.pk}")
    return HttpResponse(status=204)


@require_POST
@login_required
def checklist_items_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """Tick, untick, give an owner to or move the selected items: all of them or none."""
    project = policy.get_project_for(request.user, pk, Action.EDIT)
    form = ChecklistBulkForm(request.POST)
    try:
        if not form.is_valid():
            raise services.BulkRefused(" ".join(form.non_field_errors() or _field_errors(form)))
        message = _bulk_change(project, request.user, form.cleaned_data)
    except (services.BulkRefused, ValidationError) as refusal:
        bulk = {**_bulk_asked(request), "error": " ".join(_messages(refusal))}
        context = plan_context(request, project, bulk=bulk)
        answer = _fragment(request, "phase-list", context, status=422, title="Change several items")
        return focus_after_swap(answer, "bulk-problem") if request.htmx else answer
    if not request.htmx:
        messages.success(request, message)
        return _back_to_project(project, "phase-list")
    context = plan_context(request, project, bulk={"done": message})
    response = render(request, f"{PAGE}#phase-list", context)
    return trigger_client_event(focus_after_swap(response, "bulk-done"), PLAN_CHANGED)


def _bulk_change(project: Project, by, data: dict) -> str:
    """Make the change the bulk form asks for; what was done, in words."""
    seen, action = data["seen"], data["action"]
    if action in {"done", "undone"}:
        items = services.checklist_items_set_done(
            project=project, seen=seen, done=action == "done", by=by
        )
        return f"{_count(items)} marked {'done' if action == 'done' else 'not done'}."
    if action == "assign":
        items = services.checklist_items_assign(
            project=project,
            seen=seen,
            owner_id=data["owner_id"],
            owner_title=data["owner_title"],
            by=by,
        )
        owner = items[0].owner
        if owner is None:
            return f"{_count(items)} without an owner now."
        return f"{_count(items)} now owned by {display_name(owner)}."
    items = services.checklist_items_move_to_phase(
        project=project, seen=seen, phase_id=data["to_phase"], by=by
    )
    return f"{_count(items)} moved to “{items[0].phase.name}”."


def _count(items) -> str:
    return f"{len(items)} item{'' if len(items) == 1 else 's'}"


def _bulk_asked(request: HttpRequest) -> dict:
    """What the bulk form asked, to show it again with the problem: nothing typed is lost."""
    selected = set()
    for value in request.POST.getlist("items"):
        item_id = value.partition(":")[0]
        if item_id.isdigit():
            selected.add(int(item_id))
    return {
        "selected": selected,
        "action": request.POST.get("action", ""),
        "owner": request.POST.get("owner", ""),
        "owner_title": request.POST.get("owner_title", ""),
        "to_phase": request.POST.get("to_phase", ""),
    }


def _field_errors(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


def _messages(refusal: Exception) -> list[str]:
    return refusal.messages if isinstance(refusal, ValidationError) else [str(refusal)]


# Notifications
