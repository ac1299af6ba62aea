"""Admin for programmes, projects, phases, checklists and memberships.

Every admin of a project's data goes through `projects.policy`: a staff user sees only the
projects they are a member of and changes only what their role lets them change. Django's
per-model permissions play no part.
"""

from django.contrib import admin
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest

from core.admin import SuperuserOnlyAdmin
from projects import policy, services
from projects.models import (
    ChecklistItem,
    Membership,
    Phase,
    PhaseView,
    Programme,
    Project,
    Versioned,
)
from projects.policy import Action


def project_of(obj: Model, path: str) -> Project | None:
    """Follow `path` (e.g. 'phase__project') from `obj` to its project; '' is `obj` itself."""
    for attribute in filter(None, path.split("__")):
        obj = getattr(obj, attribute, None)
        if obj is None:
            return None
    return obj


class ProjectScopedPermissions:
    """Permissions of an admin (or inline) whose rows belong to a project.

    `project_path` leads from a row to its project; `edit_action` is what a user must be allowed
    on that project to add, change or delete rows. Foreign keys to projects and their phases,
    KPIs and gates offer only those of projects the user may edit, so a crafted form cannot
    attach a row to someone else's project.
    """

    project_path = "project"
    edit_action = Action.EDIT

    def _project(self, obj: Model) -> Project | None:
        return project_of(obj, self.project_path)

    def _may_edit_some_project(self, request: HttpRequest) -> bool:
        # Asked for every model of the admin's menu on every admin page: once per request.
        answers = request.__dict__.setdefault("_waymark_may_edit_some_project", {})
        if self.edit_action not in answers:
            answers[self.edit_action] = policy.projects_where(
                request.user, self.edit_action
            ).exists()
        return answers[self.edit_action]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        return obj is None or policy.can(request.user, self._project(obj), Action.VIEW)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_staff and self._may_edit_some_project(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        if obj is None:
            return self._may_edit_some_project(request)
        return policy.can(request.user, self._project(obj), self.edit_action)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        editable = policy.projects_where(request.user, self.edit_action)
        related = db_field.related_model
        if related is Project:
            field.queryset = field.queryset.filter(pk__in=editable)
        elif _has_field(related, "project"):
            # Their names show the project's code: fetch it with them.
            field.queryset = field.queryset.filter(project__in=editable).select_related("project")
        elif _has_field(related, "kpi"):
            field.queryset = field.queryset.filter(kpi__project__in=editable)
        return field


class ProjectScopedAdmin(ProjectScopedPermissions, admin.ModelAdmin):
    """A model admin listing only rows of projects the user may view."""

    def save_model(self, request, obj, form, change):
        if change and isinstance(obj, Versioned):
            # An admin save is a new version too: editors working from the old one are told.
            rows = type(obj).objects.filter(pk=obj.pk)
            rows.update(version=F("version") + 1)
            obj.version = rows.values_list("version", flat=True).get()
        super().save_model(request, obj, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        visible = policy.visible_projects(request.user)
        return super().get_queryset(request).filter(**{f"{self.project_path}__in": visible})


def _has_field(model: type[Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())


class ProjectScopedInline(ProjectScopedPermissions):
    """An inline whose parent row (passed as `obj`) leads to the project by `project_path`."""

    def has_view_permission(self, request, obj=None):
        return obj is None or policy.can(request.user, self._project(obj), Action.VIEW)

    def has_add_permission(self, request, obj=None):
        return obj is None or policy.can(request.user, self._project(obj), self.edit_action)

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)


class RecordedByServicesAdmin(ProjectScopedAdmin):
    """Append-only records (assessments, signatures) that only their services write."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecordedByServicesInline(admin.TabularInline):
    """The append-only records of the row the parent admin shows, read-only."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # the parent admin has checked that the user may view its row


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "updated_at"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return policy.visible_programmes(request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        if not (request.user.is_active and request.user.is_staff):
            return False
        return obj is None or policy.visible_programmes(request.user).filter(pk=obj.pk).exists()

    # Programmes are set up by superusers; project managers work inside them.
    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class MembershipInline(ProjectScopedInline, admin.TabularInline):
    model = Membership
    project_path = ""
    edit_action = Action.MANAGE
    fields = ["user", "role"]
    extra = 0


@admin.register(Project)
class ProjectAdmin(ProjectScopedAdmin):
    project_path = ""
    edit_action = Action.MANAGE
    list_display = [
        "code",
        "name",
        "programme",
        "status",
        "manager",
        "target_delivery",
        "forecast_end",
        "budget_planned",
        "budget_spent",
        "currency",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["status", "programme"]
    search_fields = ["code", "name", "summary", "manager_name", "stakeholders"]
    date_hierarchy = "target_delivery"
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["programme", "code", "name", "status", "summary"]}),
        ("Approach", {"fields": ["approach", "approach_rationale"]}),
        ("People", {"fields": ["manager", "manager_name", "stakeholders"]}),
        (
            "Schedule",
            {"fields": ["baseline_start", "baseline_end", "target_delivery", "forecast_end"]},
        ),
        ("Budget", {"fields": ["budget_planned", "budget_spent", "currency"]}),
    ]

    def get_queryset(self, request):
        return policy.visible_projects(request.user).select_related("programme", "manager")

    def has_add_permission(self, request, obj=None):
        # A new project starts in a programme: only superusers create them.
        return request.user.is_active and request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        # Moving a project between programmes changes who sees it: superusers only.
        return [] if request.user.is_superuser else ["programme", "code"]


class ChecklistItemInline(ProjectScopedInline, admin.TabularInline):
    model = ChecklistItem
    project_path = "project"  # from the parent phase
    fields = ["order", "kind", "section", "title", "owner", "owner_title", "due", "done"]
    extra = 0


@admin.register(Phase)
class PhaseAdmin(ProjectScopedAdmin):
    list_display = [
        "project",
        "order",
        "name",
        "timing",
        "status",
        "baseline_start",
        "baseline_end",
        "forecast_end",
        "actual_end",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "project__programme", "project"]
    search_fields = ["name", "goal", "success_criteria", "project__code", "project__name"]
    list_select_related = ["project"]
    inlines = [ChecklistItemInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not ChecklistItem:
            return super().save_formset(request, form, formset, change)
        for item in formset.save(commit=False):
            services.checklist_item_save(item=item, by=request.user)
        for item in formset.deleted_objects:
            item.delete()
        formset.save_m2m()
        return None


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ProjectScopedAdmin):
    project_path = "phase__project"
    list_display = [
        "title",
        "phase",
        "kind",
        "section",
        "owner_title",
        "owner",
        "due",
        "done",
        "done_at",
        "done_by",
    ]
    list_filter = ["done", "kind", "phase__project"]
    search_fields = ["title", "section", "owner_title", "phase__name"]
    list_select_related = ["phase__project", "owner", "done_by"]
    readonly_fields = ["done_at", "done_by"]

    def save_model(self, request, obj, form, change):
        services.checklist_item_save(item=obj, by=request.user)


@admin.register(Membership)
class MembershipAdmin(ProjectScopedAdmin):
    edit_action = Action.MANAGE
    list_display = ["user", "role", "project", "programme", "created_at"]
    list_filter = ["role", "programme", "project"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "project__code"]
    list_select_related = ["user", "project", "programme"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(project__in=policy.visible_projects(request.user))

    def _project(self, obj):
        return obj.project

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.project is None:
            return request.user.is_active and request.user.is_superuser
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.project is None:
            # Programme-wide roles are granted by superusers only.
            return request.user.is_active and request.user.is_superuser
        return super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "programme" and not request.user.is_superuser:
            kwargs["queryset"] = Programme.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(PhaseView)
class PhaseViewAdmin(SuperuserOnlyAdmin):
    """Which phases each person keeps open or collapsed: a preference, not project data."""

    list_display = ["user", "phase", "expanded", "updated_at"]
    list_filter = ["expanded"]
    search_fields = ["user__username", "phase__name", "phase__project__code"]
    list_select_related = ["user", "phase__project"]
