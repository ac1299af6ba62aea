"""Reads of programmes and projects that pages share."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet

from projects import policy
from projects.models import ChecklistItem, Membership, Phase, Programme, Project
from projects.policy import User
from projects.services import WORKER_HEARTBEAT_KEY


@dataclass(frozen=True)
class ProgrammeOverview:
    programme: Programme
    projects: list[Project]


def programme_overviews_for(*, user: User) -> list[ProgrammeOverview]:
    """The programmes `user` may see, each with the projects in it they may see.

    Each project carries `phase_count`, `phases_done` and `my_roles` (the user's roles on it).
    """
    visible = policy.visible_projects(user)
    projects = (
        visible.select_related("manager")
        .annotate(
            phase_count=Count("phases", distinct=True),
            phases_done=Count("phases", filter=Q(phases__status="done"), distinct=True),
        )
        .order_by("code")
    )
    programmes = policy.visible_programmes(user).prefetch_related(
        Prefetch("projects", queryset=projects, to_attr="visible_projects")
    )
    roles = _roles_by_scope(user)
    overviews = []
    for programme in programmes:
        for project in programme.visible_projects:
            project.my_roles = sorted(
                roles.get(("project", project.pk), set())
                | roles.get(("programme", programme.pk), set())
            )
        overviews.append(ProgrammeOverview(programme, programme.visible_projects))
    return overviews


def _roles_by_scope(user: User) -> dict[tuple[str, int], set[str]]:
    roles: dict[tuple[str, int], set[str]] = {}
    if not (user and user.is_authenticated):
        return roles
    for project_id, programme_id, role in Membership.objects.filter(user=user).values_list(
        "project_id", "programme_id", "role"
    ):
        scope = ("project", project_id) if project_id else ("programme", programme_id)
        roles.setdefault(scope, set()).add(role)
    return roles


def phase_list_for_project(*, project: Project) -> QuerySet[Phase]:
    """The project's phases in order, each with its checklist (owner and who ticked it)."""
    items = ChecklistItem.objects.select_related("owner", "done_by").order_by("order", "pk")
    return (
        Phase.objects.filter(project=project)
        .prefetch_related(Prefetch("checklist_items", queryset=items))
        .annotate(
            item_count=Count("checklist_items"),
            items_done=Count("checklist_items", filter=Q(checklist_items__done=True)),
        )
        .order_by("order")
    )


def worker_heartbeat_age(*, now: datetime) -> timedelta | None:
    """How long ago a worker last ran the heartbeat task; None if it never has."""
    recorded = cache.get(WORKER_HEARTBEAT_KEY)
    return now - datetime.fromisoformat(recorded) if recorded else None
