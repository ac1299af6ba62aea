"""The project's part of the exchange document: its programme, the project itself, memberships,
phases (named by `ref`, their position) and checklist items.
"""

from collections import defaultdict

from core.exchange import (
    BOOLEAN,
    DATE_OR_NULL,
    DATETIME,
    DATETIME_OR_NULL,
    DECIMAL,
    INTEGER,
    LIST,
    REF,
    TEXT,
    USER,
    USER_OR_NULL,
    DocumentRefused,
    ExportContext,
    ImportContext,
)
from projects.models import ChecklistItem, Membership, Phase, Programme, Project

PROGRAMME_FIELDS = {"slug": TEXT, "name": TEXT}
PROJECT_FIELDS = {
    "code": TEXT,
    "name": TEXT,
    "summary": TEXT,
    "approach": TEXT,
    "approach_rationale": TEXT,
    "status": TEXT,
    "manager": USER_OR_NULL,
    "manager_name": TEXT,
    "stakeholders": TEXT,
    "target_delivery": DATE_OR_NULL,
    "baseline_start": DATE_OR_NULL,
    "baseline_end": DATE_OR_NULL,
    "forecast_end": DATE_OR_NULL,
    "budget_planned": DECIMAL,
    "budget_spent": DECIMAL,
    "currency": TEXT,
    "notes": TEXT,
    "created_at": DATETIME,
}
MEMBERSHIP_FIELDS = {"user": USER, "role": TEXT, "created_at": DATETIME}
PHASE_FIELDS = {
    "ref": REF,
    "order": INTEGER,
    "name": TEXT,
    "timing": TEXT,
    "goal": TEXT,
    "baseline_start": DATE_OR_NULL,
    "baseline_end": DATE_OR_NULL,
    "forecast_start": DATE_OR_NULL,
    "forecast_end": DATE_OR_NULL,
    "actual_end": DATE_OR_NULL,
    "status": TEXT,
    "resource_needs": TEXT,
    "success_criteria": TEXT,
    "deleted_at": DATETIME_OR_NULL,
    "checklist": LIST,
}
CHECKLIST_ITEM_FIELDS = {
    "order": INTEGER,
    "kind": TEXT,
    "section": TEXT,
    "title": TEXT,
    "detail": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "due": DATE_OR_NULL,
    "done": BOOLEAN,
    "done_at": DATETIME_OR_NULL,
    "done_by": USER_OR_NULL,
    "deleted_at": DATETIME_OR_NULL,
}


def export(project: Project, context: ExportContext) -> dict:
    """The programme, the project, its memberships and its phases with their checklists; the
    phases' refs go into `context.keys["phase"]`."""
    phases = list(project.phases.order_by("order", "pk"))
    phase_refs = {phase.pk: ref for ref, phase in enumerate(phases, start=1)}
    context.keys["phase"] = phase_refs
    items_by_phase = defaultdict(list)
    for item in ChecklistItem.objects.filter(phase__project=project).order_by("order", "pk"):
        items_by_phase[item.phase_id].append(item)
    return {
        "programme": context.dump(project.programme, PROGRAMME_FIELDS),
        "project": context.dump(project, PROJECT_FIELDS),
        "memberships": [
            context.dump(row, MEMBERSHIP_FIELDS)
            for row in project.memberships.select_related("user").order_by("user__username")
        ],
        "phases": [
            {
                "ref": phase_refs[phase.pk],
                **context.dump(phase, PHASE_FIELDS),
                "checklist": [
                    context.dump(item, CHECKLIST_ITEM_FIELDS) for item in items_by_phase[phase.pk]
                ],
            }
            for phase in phases
        ],
    }


def read(data: dict, context: ImportContext) -> dict:
    """This part of `data`, checked; the phases' refs go into `context.keys["phase"]`."""
    part = {
        "programme": context.read(data.get("programme"), PROGRAMME_FIELDS, "programme"),
        "project": context.read(data.get("project"), PROJECT_FIELDS, "project"),
        "memberships": [
            context.read(row, MEMBERSHIP_FIELDS, f"memberships[{i}]")
            for i, row in enumerate(context.read_list(data, "memberships", "the document"))
        ],
        "phases": [],
    }
    for i, row in enumerate(context.read_list(data, "phases", "the document")):
        path = f"phases[{i}]"
        phase = context.read(row, PHASE_FIELDS, path)
        phase["checklist"] = context.read_children(phase, "checklist", CHECKLIST_ITEM_FIELDS, path)
        part["phases"].append(phase)
    refs = [phase["ref"] for phase in part["phases"]]
    if len(set(refs)) != len(refs):
        raise DocumentRefused("phases: two phases have the same 'ref'.")
    context.keys["phase"] = set(refs)
    return part


def check_phase_ref(ref: int | None, context: ImportContext, path: str) -> None:
    """Refuse a reference to a phase the document does not hold."""
    if ref is not None and ref not in context.keys["phase"]:
        raise DocumentRefused(f"{path}: no phase has the ref {ref}.")


def write(part: dict, context: ImportContext, *, code: str, programme_slug: str) -> Project:
    """The project under its own code or `code`, in its own programme (made if it is missing)
    or the one named `programme_slug`; its phases go into `context.rows["phase"]`."""
    programme = _programme(part["programme"], context, programme_slug)
    fields = context.values(part["project"], PROJECT_FIELDS)
    fields["code"] = code or fields["code"]
    if Project.objects.filter(programme=programme, code=fields["code"]).exists():
        raise DocumentRefused(
            f"The programme '{programme.slug}' already has a project with the code "
            f"'{fields['code']}'; give the import another with --code."
        )
    project = context.save(Project(programme=programme, **fields), "project")
    context.keep_times(project, {"created_at": fields["created_at"]})

    for i, values in enumerate(part["memberships"]):
        fields = context.values(values, MEMBERSHIP_FIELDS)
        row = context.save(Membership(project=project, **fields), f"memberships[{i}]")
        context.keep_times(row, {"created_at": fields["created_at"]})

    phases = context.rows["phase"] = {}
    for i, values in enumerate(part["phases"]):
        path = f"phases[{i}]"
        phase = context.save(Phase(project=project, **context.values(values, PHASE_FIELDS)), path)
        phases[values["ref"]] = phase
        for j, item in enumerate(values["checklist"]):
            fields = context.values(item, CHECKLIST_ITEM_FIELDS)
            context.save(ChecklistItem(phase=phase, **fields), f"{path}.checklist[{j}]")
    return project


def _programme(exported: dict, context: ImportContext, programme_slug: str) -> Programme:
    if programme_slug:
        programme = Programme.objects.filter(slug=programme_slug).first()
        if programme is None:
            raise DocumentRefused(f"No programme with the slug '{programme_slug}'.")
        return programme
    programme = Programme.objects.filter(slug=exported["slug"]).first()
    if programme is None:
        programme = context.save(Programme(**exported), "programme")
        context.notes.append(f"Added the programme '{programme.slug}'.")
    return programme
