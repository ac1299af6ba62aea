"""The API for programmes, projects, phases and checklist items, with a project's status.

Every queryset starts from `policy`: what a user may not see does not exist for them (404),
what they may see but not change is refused (403). Writes go through `services`, as the pages'
do: versions, history and positions stay as the pages keep them."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS

from core import versioning
from core.api import (
    Conflict,
    FixedAfterCreate,
    IdFilter,
    RelatedObject,
    RelatedSlug,
    writes_that_may_conflict,
)
from projects import policy, services
from projects.models import ChecklistItem, Membership, Phase, Programme, Project
from projects.policy import Action


def needed(request, write: Action) -> Action:
    """What the request asks to do to an object: see it, or `write` (edit, manage) it."""
    return Action.VIEW if request.method in SAFE_METHODS else write


class StaleVersion(serializers.ValidationError):
    def __init__(self, error: versioning.StaleEdit):
        super().__init__({"version": [str(error)]})


class VersionedUpdateMixin:
    """PATCH / PUT with an optional `version`: given, a save based on an older version is
    refused with the reason, as on the pages."""

    update_service = None

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        version = changes.pop("version", None)
        try:
            serializer.instance = type(self).update_service(
                serializer.instance, version=version, by=self.request.user, changes=changes
            )
        except versioning.StaleEdit as error:
            raise StaleVersion(error) from error


# -- programmes ---------------------------------------------------------------------------------


class ProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Programme
        fields = ["id", "slug", "name", "description"]


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "id"
    serializer_class = ProgrammeSerializer
    filterset_fields = ["slug"]
    ordering_fields = ["name", "slug"]
    ordering = ["name"]

    def get_queryset(self):
        return policy.visible_programmes(self.request.user).order_by("name")


# -- projects -----------------------------------------------------------------------------------


class ProjectSerializer(FixedAfterCreate, serializers.ModelSerializer):
    programme = RelatedSlug(slug_field="slug", among=policy.visible_programmes)
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = Project
        fields = [
            "id",
            "programme",
            "code",
            "name",
            "summary",
            "approach",
            "approach_rationale",
            "status",
            "manager_name",
            "stakeholders",
            "target_delivery",
            "baseline_start",
            "baseline_end",
            "forecast_end",
            "budget_planned",
            "budget_spent",
            "currency",
            "notes",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    fixed_after_create = ("programme", "code")  # the code: what reports and links know it by


class ProjectFilter(filters.FilterSet):
    programme = filters.CharFilter(field_name="programme__slug")

    class Meta:
        model = Project
        fields = ["programme", "status", "code"]


class ProjectViewSet(
    VersionedUpdateMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    lookup_value_converter = "id"
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    ordering_fields = ["code", "name", "target_delivery", "forecast_end"]
    ordering = ["code"]

    @staticmethod
    def update_service(project, *, version, by, changes):
        return services.project_update(project=project, version=version, by=by, changes=changes)

    def get_queryset(self):
        return policy.visible_projects(self.request.user).select_related("programme")

    def get_object(self):
        # As on the plan page: editors change the overview (managers create projects).
        action_needed = needed(self.request, Action.EDIT)
        project = policy.get_project_for(self.request.user, self.kwargs["pk"], action_needed)
        self.check_object_permissions(self.request, project)
        return project

    def perform_create(self, serializer):
        programme = serializer.validated_data["programme"]
        if not policy.can_add_project(self.request.user, programme):
            raise PermissionDenied("Only the programme's managers may add projects to it.")
        data = dict(serializer.validated_data)
        data.pop("version", None)
        project = Project(manager=self.request.user, **data)
        project.full_clean()
        project.save()
        serializer.instance = project


# -- phases and checklist items ------------------------------------------------------------------


class PhaseSerializer(FixedAfterCreate, serializers.ModelSerializer):
    # Any project they see: one they may not change is refused (403) when saving.
    project = RelatedObject(among=policy.visible_projects)
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = Phase
        fields = [
            "id",
            "project",
            "order",
            "name",
            "timing",
            "goal",
            "status",
            "baseline_start",
            "baseline_end",
            "forecast_start",
            "forecast_end",
            "actual_end",
            "resource_needs",
            "success_criteria",
            "version",
        ]
        read_only_fields = ["order"]

    fixed_after_create = ("project",)


class PhaseFilter(filters.FilterSet):
    project = IdFilter(field_name="project")

    class Meta:
        model = Phase
        fields = ["project", "status"]


class PhaseViewSet(
    VersionedUpdateMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    lookup_value_converter = "id"
    serializer_class = PhaseSerializer
    filterset_class = PhaseFilter
    ordering_fields = ["order", "baseline_start", "forecast_end"]
    ordering = ["project", "order"]

    @staticmethod
    def update_service(phase, *, version, by, changes):
        return services.phase_update(phase=phase, version=version, by=by, changes=changes)

    def get_queryset(self):
        return Phase.objects.filter(
            project__in=policy.visible_projects(self.request.user), deleted_at__isnull=True
        )

    def get_object(self):
        action_needed = needed(self.request, Action.EDIT)
        phase = policy.get_phase_for(self.request.user, self.kwargs["pk"], action_needed)
        if phase.deleted_at is not None:
            raise NotFound("This phase was deleted; restore it from the plan page.")
        return phase

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        project = policy.get_project_for(self.request.user, data.pop("project").pk, Action.EDIT)
        serializer.instance = services.phase_create(project=project, by=self.request.user, **data)


class ChecklistItemSerializer(FixedAfterCreate, serializers.ModelSerializer):
    phase = RelatedObject(among=policy.visible_phases)
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "phase",
            "order",
            "kind",
            "section",
            "title",
            "detail",
            "owner_title",
            "due",
            "done",
            "done_at",
            "version",
        ]
        read_only_fields = ["order", "done_at"]

    fixed_after_create = ("phase",)


class ChecklistItemFilter(filters.FilterSet):
    project = IdFilter(field_name="phase__project")
    phase = IdFilter(field_name="phase")

    class Meta:
        model = ChecklistItem
        fields = ["project", "phase", "done", "kind"]


class ChecklistItemViewSet(
    VersionedUpdateMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    lookup_value_converter = "id"
    serializer_class = ChecklistItemSerializer
    filterset_class = ChecklistItemFilter
    ordering_fields = ["order", "due", "done_at"]
    ordering = ["phase", "order"]

    @staticmethod
    def update_service(item, *, version, by, changes):
        return services.checklist_item_update(item=item, version=version, by=by, changes=changes)

    def get_queryset(self):
        return ChecklistItem.objects.filter(
            phase__project__in=policy.visible_projects(self.request.user),
            phase__deleted_at__isnull=True,
            deleted_at__isnull=True,
        )

    def get_object(self):
        action_needed = needed(self.request, Action.EDIT)
        item = policy.get_checklist_item_for(self.request.user, self.kwargs["pk"], action_needed)
        if item.deleted_at is not None or item.phase.deleted_at is not None:
            raise NotFound("This item was deleted; restore it from the plan page.")
        return item

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        done = data.pop("done", False)
        phase = data.pop("phase")
        policy.get_project_for(self.request.user, phase.project_id, Action.EDIT)
        item = services.checklist_item_create(phase=phase, by=self.request.user, **data)
        if done:
            item = services.checklist_item_set_done(item=item, done=True, by=self.request.user)
        serializer.instance = item


# -- memberships ----------------------------------------------------------------------------------


class MembershipSerializer(FixedAfterCreate, serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        error_messages={"does_not_exist": "No active user has the username {value}."},
    )
    project = RelatedObject(
        among=policy.visible_projects,
        allow_null=True,
        help_text="The project; not changed later. Null on a programme-wide role.",
    )
    programme = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The programme of a programme-wide role (granted by administrators).",
    )

    class Meta:
        model = Membership
        fields = ["id", "user", "project", "programme", "role", "created_at"]
        validators = []  # one membership per user and project: the model's constraint answers

    def validate_project(self, project):
        if project is None:
            raise serializers.ValidationError(
                "Name the project: programme-wide roles are granted by administrators."
            )
        return project

    fixed_after_create = ("project", "user")


class MembershipFilter(filters.FilterSet):
    project = IdFilter(field_name="project")
    programme = filters.CharFilter(field_name="programme__slug")
    user = filters.CharFilter(field_name="user__username")

    class Meta:
        model = Membership
        fields = ["project", "programme", "user", "role"]


@extend_schema_view(
    **writes_that_may_conflict(
        MembershipSerializer,
        "The change would leave the project without a manager; nothing changed.",
        actions=("update", "partial_update", "destroy"),
    )
)
class MembershipViewSet(viewsets.ModelViewSet):
    """Who holds which role. Members see a project's members and the roles held on its whole
    programme; a project's managers grant, change and end its memberships. Programme-wide
    roles are granted by administrators."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ["role", "created_at"]
    ordering = ["project", "user__username"]
    lookup_value_converter = "id"

    def get_queryset(self):
        user = self.request.user
        return Membership.objects.filter(
            Q(project__in=policy.visible_projects(user))
            | Q(programme__in=policy.visible_programmes(user))
        ).select_related("user", "programme")

    def get_object(self):
        membership = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        if self.request.method not in ("GET", "HEAD") and not (
            membership.project is not None
            and policy.can_manage_project(self.request.user, membership.project)
        ):
            raise PermissionDenied("Only the project's managers change its memberships.")
        return membership

    def perform_create(self, serializer):
        membership = Membership(**serializer.validated_data)
        policy.get_project_for(self.request.user, membership.project_id, Action.MANAGE)
        serializer.instance = services.membership_save(membership=membership)

    def perform_update(self, serializer):
        membership = serializer.instance
        membership.role = serializer.validated_data.get("role", membership.role)
        try:
            serializer.instance = services.membership_save(membership=membership)
        except services.MembershipRefused as refused:
            raise Conflict(str(refused)) from None

    def perform_destroy(self, instance):
        try:
            services.membership_delete(membership=instance)
        except services.MembershipRefused as refused:
            raise Conflict(str(refused)) from None


# -- plan import ---------------------------------------------------------------------------------
