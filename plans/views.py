from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.htmx import fragment_or_page, redirect_after_save
from plans.forms import PlanImportForm
from plans.markdown.build import (
    ImportOptions,
    PlanNotImported,
    import_report,
    plan_import,
    plan_read,
)
from plans.markdown.edits import EditRefused, plan_apply_edits
from plans.markdown.export import project_markdown
from projects import policy

PLAN_IMPORT_PAGE = "plans/plan_import.html"


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
    return redirect_after_save(request, destination)


def _import_fragment(request, partial: str, context: dict, *, status: int = 200):
    return fragment_or_page(request, PLAN_IMPORT_PAGE, partial, context, status=status)


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
