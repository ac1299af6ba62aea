"""Reads of gates that pages share."""

from django.db.models import Prefetch, QuerySet

from gates.models import Gate, GateCriterion, SignOff
from projects.models import Project


def gate_list_for_project(*, project: Project) -> QuerySet[Gate]:
    """The project's gates in pipeline order, with criteria, approvers and valid sign-offs."""
    return (
        Gate.objects.filter(project=project)
        .select_related("phase")
        .prefetch_related(
            Prefetch("criteria", queryset=GateCriterion.objects.select_related("kpi", "phase")),
            "approvers__user",
            Prefetch(
                "signoffs",
                queryset=SignOff.objects.filter(invalidated_at__isnull=True).select_related(
                    "signer"
                ),
                to_attr="valid_signoffs",
            ),
        )
        .order_by("order", "pk")
    )
