from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from projects.variance import ScheduleVariance, phase_variance


class Versioned(models.Model):
    """A row edited by several people: each save raises `version`, and a save based on an
    older version is refused (see `projects.services`)."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class SoftDeleted(models.Model):
    """A row whose deletion can be undone: it is hidden, not removed."""

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class Programme(models.Model):
    """A portfolio of migration projects run together."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("programme-detail", args=[self.slug])


class ProjectStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    PLANNING = "planning", "Planning"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


currency_code_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO code, e.g. USD.")


class Project(Versioned):
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="projects")
    code = models.SlugField(
        max_length=40, help_text="Short identifier, unique within the programme, e.g. AAD."
    )
    name = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    approach = models.TextField("chosen approach", blank=True)
    approach_rationale = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.PLANNING
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_projects",
        verbose_name="project manager",
    )
    manager_name = models.CharField(
        max_length=200, blank=True, help_text="The project manager as the plan names them."
    )
    stakeholders = models.TextField(blank=True, help_text="Who has a stake, one per line.")
    target_delivery = models.DateField(null=True, blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    forecast_end = models.DateField(null=True, blank=True)
    budget_planned = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    budget_spent = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    notes = models.TextField(
        blank=True, help_text="Sections of the imported plan kept as written (Markdown)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        ordering = ["programme__name", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "code"], name="project_code_unique_in_programme"
            ),
            models.CheckConstraint(
                condition=Q(baseline_end__gte=F("baseline_start"))
                | Q(baseline_start__isnull=True)
                | Q(baseline_end__isnull=True),
                name="project_baseline_ends_after_start",
                violation_error_message="The baseline end must not be before its start.",
            ),
            models.CheckConstraint(
                condition=Q(budget_planned__gte=0) & Q(budget_spent__gte=0),
                name="project_budget_not_negative",
                violation_error_message="Budget figures cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"),
                name="project_currency_is_iso_code",
                violation_error_message="Use a three-letter ISO currency code, e.g. USD.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("project-detail", args=[self.pk])


class PhaseStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    BLOCKED = "blocked", "Blocked"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class Phase(Versioned, SoftDeleted):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="phases")
    order = models.PositiveIntegerField(help_text="Position in the plan, from 1.")
    name = models.CharField(max_length=200)
    timing = models.CharField(
        max_length=100, blank=True, help_text="The timing as the plan writes it, e.g. 'Week 1–2'."
    )
    goal = models.TextField(blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    forecast_start = models.DateField(null=True, blank=True)
    forecast_end = models.DateField(null=True, blank=True)
    actual_end = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=PhaseStatus.choices, default=PhaseStatus.NOT_STARTED
    )
    resource_needs = models.TextField(blank=True)
    success_criteria = models.TextField(blank=True)
    history = HistoricalRecords(excluded_fields=["version"])

    class Meta:
        ordering = ["project", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "order"],
                condition=Q(deleted_at__isnull=True),
                name="phase_order_unique",
                violation_error_message="Another phase already has this position.",
            ),
            models.CheckConstraint(condition=Q(order__gte=1), name="phase_order_from_one"),
            models.CheckConstraint(
                condition=Q(baseline_end__gte=F("baseline_start"))
                | Q(baseline_start__isnull=True)
                | Q(baseline_end__isnull=True),
                name="phase_baseline_ends_after_start",
                violation_error_message="The baseline end must not be before its start.",
            ),
            models.CheckConstraint(
                condition=Q(forecast_end__gte=F("forecast_start"))
                | Q(forecast_start__isnull=True)
                | Q(forecast_end__isnull=True),
                name="phase_forecast_ends_after_start",
                violation_error_message="The forecast end must not be before its start.",
            ),
            models.CheckConstraint(
                condition=Q(actual_end__isnull=True) | Q(status=PhaseStatus.DONE),
                name="phase_actual_end_only_when_done",
                violation_error_message="Only a phase that is done has an actual end.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.code} phase {self.order}: {self.name}"

    @property
    def schedule_variance(self) -> ScheduleVariance:
        return phase_variance(self)


class ChecklistItemKind(models.TextChoices):
    DELIVERABLE = "deliverable", "Deliverable"
    TASK = "task", "Task"


class ChecklistItem(Versioned, SoftDeleted):
    """A deliverable or a task of a phase, ticked off when done."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="checklist_items")
    order = models.PositiveIntegerField(default=1)
    kind = models.CharField(
        max_length=20, choices=ChecklistItemKind.choices, default=ChecklistItemKind.TASK
    )
    section = models.CharField(
        max_length=200, blank=True, help_text="Heading the item stands under, e.g. 'Week 1-2'."
    )
    title = models.CharField(max_length=300)
    detail = models.TextField(
        blank=True, help_text="What the item involves, one step a line, as the plan lists it."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checklist_items",
    )
    owner_title = models.CharField(
        max_length=100, blank=True, help_text="The owner's role as the plan names it."
    )
    due = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords(excluded_fields=["version"])

    class Meta:
        ordering = ["phase", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done=True, done_at__isnull=False)
                | Q(done=False, done_at__isnull=True, done_by__isnull=True),
                name="checklist_item_done_has_time",
                violation_error_message="A done item records when it was done; an open one not.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    CONTRIBUTOR = "contributor", "Contributor"
    APPROVER = "approver", "Approver"
    EXECUTIVE = "executive", "Executive"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's role on one project, or on every project of a programme."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(programme__isnull=True, project__isnull=False)
                | Q(programme__isnull=False, project__isnull=True),
                name="membership_on_programme_xor_project",
                violation_error_message="A membership is on a project or on a programme, not both.",
            ),
            models.UniqueConstraint(
                fields=["user", "project"],
                condition=Q(project__isnull=False),
                name="membership_one_per_user_and_project",
                violation_error_message="This user is already a member of the project.",
            ),
            models.UniqueConstraint(
                fields=["user", "programme"],
                condition=Q(programme__isnull=False),
                name="membership_one_per_user_and_programme",
                violation_error_message="This user is already a member of the programme.",
            ),
        ]

    def __str__(self) -> str:
        scope = self.project or self.programme
        return f"{self.user} — {self.get_role_display()} of {scope}"


class PhaseView(models.Model):
    """Whether one person keeps a phase of a plan open or collapsed on the plan page. Without a
    row the page decides (a long plan opens at its current phase)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phase_views"
    )
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="views")
    expanded = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "phase"]
        constraints = [
            models.UniqueConstraint(fields=["user", "phase"], name="phase_view_one_per_user"),
        ]

    def __str__(self) -> str:
        state = "open" if self.expanded else "collapsed"
        return f"{self.phase} kept {state} by {self.user}"
