"""Reads of gates that pages share."""

from django.db.models import Prefetch, Q, QuerySet

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


def gates_awaiting_signature(*, user) -> list[Gate]:
    """Open gates, in projects `user` may see, that name them as a required approver (by
    name, or by a role they hold) and that they have not signed."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from gates.models import GateApprover, GateDelegation, GateState
    from projects import policy as project_policy
    from projects.models import Membership

    if not (user and user.is_authenticated):
        return []
    my_roles = Membership.objects.filter(user=user).filter(
        Q(project_id=OuterRef("gate__project_id"))
        | Q(programme_id=OuterRef("gate__project__programme_id"))
    )
    slots = GateApprover.objects.filter(gate=OuterRef("pk")).filter(
        Q(user=user) | Q(user__isnull=True, role__in=my_roles.values("role"))
    )
    signed = SignOff.objects.filter(gate=OuterRef("pk"), signer=user, invalidated_at__isnull=True)
    now = timezone.now()
    delegated = GateDelegation.objects.filter(
        gate=OuterRef("pk"), delegate=user, starts_at__lte=now, ends_at__gt=now
    )
    return list(
        Gate.objects.filter(state=GateState.OPEN, project__in=project_policy.visible_projects(user))
        .filter(Exists(slots) | Exists(delegated))
        .exclude(Exists(signed))
        .select_related("project")
        .order_by("due_date", "pk")
    )
