"""The dashboards' part of the exchange document: the project's daily status snapshots."""

from core.exchange import (
    DATE,
    INTEGER,
    INTEGER_OR_NULL,
    JSON_LIST,
    NUMBER_OR_NULL,
    TEXT,
    ExportContext,
    ImportContext,
)
from dashboards.models import StatusSnapshot
from projects.models import Project

STATUS_SNAPSHOT_FIELDS = {
    "taken_on": DATE,
    "rag": TEXT,
    "reasons": JSON_LIST,
    "percent_complete": NUMBER_OR_NULL,
    "schedule_days": INTEGER_OR_NULL,
    "budget_percent": NUMBER_OR_NULL,
    "kpis_breached": INTEGER,
    "critical_risks": INTEGER,
}


def export(project: Project, context: ExportContext) -> dict:
    return {
        "status_snapshots": [
            context.dump(row, STATUS_SNAPSHOT_FIELDS)
            for row in project.snapshots.order_by("taken_on")
        ]
    }


def read(data: dict, context: ImportContext) -> dict:
    """This part of `data`, checked."""
    return {
        "status_snapshots": [
            context.read(row, STATUS_SNAPSHOT_FIELDS, f"status_snapshots[{i}]")
            for i, row in enumerate(context.read_list(data, "status_snapshots", "the document"))
        ]
    }


def write(part: dict, project: Project, context: ImportContext) -> None:
    for i, values in enumerate(part["status_snapshots"]):
        fields = context.values(values, STATUS_SNAPSHOT_FIELDS)
        context.save(StatusSnapshot(project=project, **fields), f"status_snapshots[{i}]")
