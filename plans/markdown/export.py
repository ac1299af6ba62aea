"""A project written back as a Markdown plan, in the conventional sections the importer reads:
importing the export gives the same phases, checklists, risks, KPIs and gates."""

from django.template.loader import render_to_string

from gates.models import Gate, GateCriterion
from metrics.models import KPI, KPIKind
from projects.models import ChecklistItem, Phase, Project
from risks.models import Risk

KIND_HEADINGS = {
    KPIKind.LEADING: "Leading Indicators",
    KPIKind.LAGGING: "Lagging Indicators",
    KPIKind.COUNTER: "Counter-Metrics",
}


def project_markdown(*, project: Project) -> str:
    """The project as a Markdown plan (a fixed number of queries)."""
    phases = list(Phase.objects.filter(project=project, deleted_at__isnull=True).order_by("order"))
    items = ChecklistItem.objects.filter(phase__in=phases, deleted_at__isnull=True).order_by(
        "phase__order", "order", "pk"
    )
    by_phase: dict[int, list[tuple[str, list[ChecklistItem]]]] = {p.pk: [] for p in phases}
    for item in items:
        groups = by_phase[item.phase_id]
        if groups and groups[-1][0] == item.section:
            groups[-1][1].append(item)
        else:
            groups.append((item.section, [item]))
    kpis = list(KPI.objects.filter(project=project).order_by("kind", "category", "name"))
    gates = list(
        Gate.objects.filter(project=project).prefetch_related("approvers").order_by("order", "pk")
    )
    criteria: dict[int, list[GateCriterion]] = {}
    for criterion in GateCriterion.objects.filter(gate__in=gates).order_by("order", "pk"):
        criteria.setdefault(criterion.gate_id, []).append(criterion)
    context = {
        "project": project,
        "stakeholders": [s for s in project.stakeholders.splitlines() if s.strip()],
        "phases": [(phase, by_phase[phase.pk]) for phase in phases],
        "risks": Risk.objects.filter(project=project).select_related("owner").order_by("pk"),
        "kpi_groups": [
            (heading, [k for k in kpis if k.kind == kind])
            for kind, heading in KIND_HEADINGS.items()
        ],
        "gates": [(gate, criteria.get(gate.pk, [])) for gate in gates],
    }
    return render_to_string("plans/plan_export.md", context)
