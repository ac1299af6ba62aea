"""Who may do what with a project: the one place that reads memberships for permission.

A user's roles on a project are those of their memberships on the project itself and on its
programme. Superusers may view and edit everything but hold no role: signing stays with the
approvers a gate names. Objects a user may not view are answered with 404, not 403, so that
their existence does not leak.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from core.people import User
from projects.models import ChecklistItem, Membership, Phase, Programme, Project, Role


class Action(StrEnum):
    VIEW = "view"
    EDIT = "edit"  # change the plan: phases, checklists, risks, KPIs
    MANAGE = "manage"  # project settings, members, gates
    SIGN = "sign"  # sign gates the user is a required approver of


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.MANAGER: frozenset({Action.VIEW, Action.EDIT, Action.MANAGE}),
    Role.CONTRIBUTOR: frozenset({Action.VIEW, Action.EDIT}),
    Role.APPROVER: frozenset({Action.VIEW, Action.SIGN}),
    Role.EXECUTIVE: frozenset({Action.VIEW}),
    Role.VIEWER: frozenset({Action.VIEW}),
}
SUPERUSER_ACTIONS = frozenset({Action.VIEW, Action.EDIT, Action.MANAGE})


def _is_active(user: User) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def project_roles(user: User, project: Project) -> frozenset[str]:
    """The roles `user` holds on `project`, directly or through its programme."""
    if not _is_active(user):
        return frozenset()
    roles = Membership.objects.filter(
        Q(project_id=project.pk) | Q(programme_id=project.programme_id), user=user
    ).values_list("role", flat=True)
    return frozenset(roles)


def allowed_actions(user: User, project: Project) -> frozenset[Action]:
    if not _is_active(user):
        return frozenset()
    actions: set[Action] = set(SUPERUSER_ACTIONS) if user.is_superuser else set()
    for role in project_roles(user, project):
        actions |= ROLE_ACTIONS[role]
    return frozenset(actions)


def can(user: User, project: Project, action: Action) -> bool:
    return action in allowed_actions(user, project)


def can_view_project(user: User, project: Project) -> bool:
    return can(user, project, Action.VIEW)


def can_edit_project(user: User, project: Project) -> bool:
    return can(user, project, Action.EDIT)


def can_manage_project(user: User, project: Project) -> bool:
    return can(user, project, Action.MANAGE)


def projects_where(user: User, action: Action) -> QuerySet[Project]:
    """Every project on which `user` may do `action`, as a queryset to build on."""
    if not _is_active(user):
        return Project.objects.none()
    if user.is_superuser and action in SUPERUSER_ACTIONS:
        return Project.objects.all()
    roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
    member = Membership.objects.filter(user=user, role__in=roles).filter(
        Q(project_id=OuterRef("pk")) | Q(programme_id=OuterRef("programme_id"))
    )
    return Project.objects.filter(Exists(member))


def visible_projects(user: User) -> QuerySet[Project]:
    return projects_where(user, Action.VIEW)


def visible_phases(user: User) -> QuerySet[Phase]:
    """The phases (not deleted) of the projects the user may see."""
    return Phase.objects.filter(project__in=visible_projects(user), deleted_at__isnull=True)


def visible_programmes(user: User) -> QuerySet[Programme]:
    """Programmes holding at least one project `user` may view, or that they are members of."""
    if not _is_active(user):
        return Programme.objects.none()
    if user.is_superuser:
        return Programme.objects.all()
    return Programme.objects.filter(
        Exists(visible_projects(user).filter(programme_id=OuterRef("pk")))
        | Exists(Membership.objects.filter(user=user, programme_id=OuterRef("pk")))
    )


def get_project_for(user: User, pk: int, action: Action = Action.VIEW) -> Project:
    """The project `pk` if `user` may do `action` on it: 404 if they may not see it, else 403."""
    project = visible_projects(user).select_related("programme", "manager").filter(pk=pk).first()
    if project is None:
        raise Http404("No such project.")
    if not can(user, project, action):
        raise PermissionDenied(f"You may not {action} this project.")
    return project


def get_phase_for(user: User, pk: int, action: Action = Action.VIEW) -> Phase:
    """The phase `pk` (deleted or not) if `user` may do `action` on its project: 404 if they
    may not see it, else 403."""
    phase = (
        Phase.objects.select_related("project")
        .filter(pk=pk, project__in=visible_projects(user))
        .first()
    )
    if phase is None:
        raise Http404("No such phase.")
    if not can(user, phase.project, action):
        raise PermissionDenied(f"You may not {action} this phase.")
    return phase


def get_checklist_item_for(user: User, pk: int, action: Action = Action.VIEW) -> ChecklistItem:
    """The checklist item `pk` if `user` may do `action` on its project: 404 / 403 as above."""
    item = (
        ChecklistItem.objects.select_related("phase__project")
        .filter(pk=pk, phase__project__in=visible_projects(user))
        .first()
    )
    if item is None:
        raise Http404("No such checklist item.")
    if not can(user, item.phase.project, action):
        raise PermissionDenied(f"You may not {action} this item.")
    return item


def get_programme_for(user: User, slug: str) -> Programme:
    programme = visible_programmes(user).filter(slug=slug).first()
    if programme is None:
        raise Http404("No such programme.")
    return programme


def can_add_project(user: User, programme: Programme) -> bool:
    """Start a project in `programme` (by importing a plan): its managers, and superusers."""
    if not _is_active(user):
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, programme=programme, role=Role.MANAGER).exists()


def get_programme_to_add_to(user: User, slug: str) -> Programme:
    """The programme `slug` if `user` may add projects to it: 404 if they may not see it, 403
    if they may see but not add."""
    programme = get_programme_for(user, slug)
    if not can_add_project(user, programme):
        raise PermissionDenied("Only the programme's managers may add projects to it.")
    return programme
