"""The risks' part of the exchange document: the register with each risk's assessments,
mitigation actions and escalations, and the last number given to a risk key.
"""

from collections import defaultdict

from core.exchange import (
    BOOLEAN,
    DATE_OR_NULL,
    DATETIME,
    DATETIME_OR_NULL,
    INTEGER,
    INTEGER_OR_NULL,
    LIST,
    TEXT,
    USER_OR_NULL,
    ExportContext,
    ImportContext,
)
from projects.models import Project
from risks.models import MitigationAction, Risk, RiskAssessment, RiskEscalation, RiskKeySequence

RISK_FIELDS = {
    "key": TEXT,
    "title": TEXT,
    "description": TEXT,
    "category": TEXT,
    "likelihood": INTEGER,
    "impact": INTEGER,
    "mitigation": TEXT,
    "contingency": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "status": TEXT,
    "review_by": DATE_OR_NULL,
    "created_at": DATETIME,
    "assessments": LIST,
    "actions": LIST,
    "escalations": LIST,
}
RISK_ASSESSMENT_FIELDS = {
    "assessed_at": DATETIME,
    "assessed_by": USER_OR_NULL,
    "likelihood": INTEGER,
    "impact": INTEGER,
    "status": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "reason": TEXT,
}
MITIGATION_ACTION_FIELDS = {
    "order": INTEGER,
    "title": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "due": DATE_OR_NULL,
    "done": BOOLEAN,
    "done_at": DATETIME_OR_NULL,
    "done_by": USER_OR_NULL,
    "reduces_likelihood_to": INTEGER_OR_NULL,
    "reduces_impact_to": INTEGER_OR_NULL,
}
RISK_ESCALATION_FIELDS = {
    "reason": TEXT,
    "detail": TEXT,
    "escalated_at": DATETIME,
    "resolved_at": DATETIME_OR_NULL,
}
# Each risk's lists in the document: name → (model, fields, order).
HISTORY = {
    "assessments": (RiskAssessment, RISK_ASSESSMENT_FIELDS, ("assessed_at", "pk")),
    "actions": (MitigationAction, MITIGATION_ACTION_FIELDS, ("order", "pk")),
    "escalations": (RiskEscalation, RISK_ESCALATION_FIELDS, ("escalated_at", "pk")),
}


def export(project: Project, context: ExportContext) -> dict:
    """The last risk key number and the risks, each with its history."""
    history = {name: defaultdict(list) for name in HISTORY}
    for name, (model, _, order) in HISTORY.items():
        for row in model.objects.filter(risk__project=project).order_by(*order):
            history[name][row.risk_id].append(row)
    key_sequence = RiskKeySequence.objects.filter(project=project).first()
    return {
        "risk_key_last_number": key_sequence.last_number if key_sequence else 0,
        "risks": [
            {
                **context.dump(risk, RISK_FIELDS),
                **{
                    name: [context.dump(row, fields) for row in history[name][risk.pk]]
                    for name, (_, fields, _) in HISTORY.items()
                },
            }
            for risk in project.risks.order_by("key")
        ],
    }


def read(data: dict, context: ImportContext) -> dict:
    """This part of `data`, checked."""
    last_number = context.read(data, {"risk_key_last_number": INTEGER}, "the document")
    risks = []
    for i, row in enumerate(context.read_list(data, "risks", "the document")):
        path = f"risks[{i}]"
        risk = context.read(row, RISK_FIELDS, path)
        for name, (_, fields, _) in HISTORY.items():
            risk[name] = context.read_children(risk, name, fields, path)
        risks.append(risk)
    return {**last_number, "risks": risks}


def write(part: dict, project: Project, context: ImportContext) -> None:
    for i, values in enumerate(part["risks"]):
        path = f"risks[{i}]"
        fields = context.values(values, RISK_FIELDS)
        risk = context.save(Risk(project=project, **fields), path)
        context.keep_times(risk, {"created_at": fields["created_at"]})
        for name, (model, row_fields, _) in HISTORY.items():
            for j, row in enumerate(values[name]):
                context.save(
                    model(risk=risk, **context.values(row, row_fields)), f"{path}.{name}[{j}]"
                )
    RiskKeySequence.objects.update_or_create(
        project=project, defaults={"last_number": part["risk_key_last_number"]}
    )
