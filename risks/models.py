from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from projects.models import Project, Versioned
from risks.scoring import Band, band_of

LEVEL_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class Likelihood(models.IntegerChoices):
    RARE = 1, "1 · Rare"
    UNLIKELY = 2, "2 · Unlikely"
    POSSIBLE = 3, "3 · Possible"
    LIKELY = 4, "4 · Likely"
    ALMOST_CERTAIN = 5, "5 · Almost certain"


class Impact(models.IntegerChoices):
    NEGLIGIBLE = 1, "1 · Negligible"
    MINOR = 2, "2 · Minor"
    MODERATE = 3, "3 · Moderate"
    MAJOR = 4, "4 · Major"
    SEVERE = 5, "5 · Severe"


class RiskCategory(models.TextChoices):
    TECHNICAL = "technical", "Technical"
    OPERATIONAL = "operational", "Operational"
    ORGANIZATIONAL = "organizational", "Organizational"
    SCHEDULE = "schedule", "Schedule"
    FINANCIAL = "financial", "Financial"
    SECURITY = "security", "Security & compliance"
    OTHER = "other", "Other"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATING = "mitigating", "Mitigating"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"
    OCCURRED = "occurred", "Occurred"


class Risk(Versioned):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="risks")
    key = models.CharField(max_length=20, help_text="Identifier within the project, e.g. R1.")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    category = models.CharField(
        max_length=20, choices=RiskCategory.choices, default=RiskCategory.TECHNICAL
    )
    likelihood = models.PositiveSmallIntegerField(
        choices=Likelihood.choices, validators=LEVEL_VALIDATORS
    )
    impact = models.PositiveSmallIntegerField(choices=Impact.choices, validators=LEVEL_VALIDATORS)
    score = models.GeneratedField(
        expression=F("likelihood") * F("impact"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    mitigation = models.TextField(blank=True)
    contingency = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_risks",
    )
    owner_title = models.CharField(
        max_length=100, blank=True, help_text="The owner's role as the plan names it."
    )
    status = models.CharField(max_length=20, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    review_by = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "-score", "key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="risk_key_unique_in_project"),
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=5),
                name="risk_likelihood_1_to_5",
                violation_error_message="Likelihood is rated from 1 to 5.",
            ),
            models.CheckConstraint(
                condition=Q(impact__gte=1, impact__lte=5),
                name="risk_impact_1_to_5",
                violation_error_message="Impact is rated from 1 to 5.",
            ),
        ]
        indexes = [models.Index(fields=["project", "status"], name="risk_project_status")]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("risk-detail", args=[self.pk])

    @property
    def band(self) -> Band:
        return band_of(self.likelihood * self.impact)


class RiskAssessment(models.Model):
    """One change to a risk's assessment: append-only history."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="assessments")
    assessed_at = models.DateTimeField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    likelihood = models.PositiveSmallIntegerField(
        choices=Likelihood.choices, validators=LEVEL_VALIDATORS
    )
    impact = models.PositiveSmallIntegerField(choices=Impact.choices, validators=LEVEL_VALIDATORS)
    status = models.CharField(max_length=20, choices=RiskStatus.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner_title = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["risk", "assessed_at", "pk"]
        get_latest_by = "assessed_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5),
                name="risk_assessment_levels_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["risk", "assessed_at"], name="risk_assessment_by_time")]

    def __str__(self) -> str:
        return (
            f"{self.risk.key} at {self.assessed_at:%Y-%m-%d %H:%M}: {self.likelihood}×{self.impact}"
        )

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class RiskKeySequence(models.Model):
    """The last number used for a project's risk keys (R1, R2, …): keys are never reused."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.project.code}: R{self.last_number}"


class MitigationAction(models.Model):
    """One step of a risk's mitigation, with an owner and a due date. Once done, it may lower
    the risk's likelihood or impact: the risk's residual position."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="actions")
    order = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner_title = models.CharField(max_length=100, blank=True)
    due = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reduces_likelihood_to = models.PositiveSmallIntegerField(
        choices=Likelihood.choices, null=True, blank=True, validators=LEVEL_VALIDATORS
    )
    reduces_impact_to = models.PositiveSmallIntegerField(
        choices=Impact.choices, null=True, blank=True, validators=LEVEL_VALIDATORS
    )

    class Meta:
        ordering = ["risk", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done=True, done_at__isnull=False)
                | Q(done=False, done_at__isnull=True, done_by__isnull=True),
                name="mitigation_action_done_has_time",
            ),
            models.CheckConstraint(
                condition=(
                    Q(reduces_likelihood_to__isnull=True)
                    | Q(reduces_likelihood_to__gte=1, reduces_likelihood_to__lte=5)
                )
                & (
                    Q(reduces_impact_to__isnull=True)
                    | Q(reduces_impact_to__gte=1, reduces_impact_to__lte=5)
                ),
                name="mitigation_action_levels_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class EscalationReason(models.TextChoices):
    REVIEW_OVERDUE = "review_overdue", "Review overdue"
    UNRESOLVED_HIGH = "unresolved_high", "High risk unresolved"


class RiskEscalation(models.Model):
    """A risk escalated for one reason; open until the reason no longer holds. The database
    keeps one open escalation per risk and reason, so escalating twice does nothing."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="escalations")
    reason = models.CharField(max_length=30, choices=EscalationReason.choices)
    detail = models.TextField(blank=True)
    escalated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-escalated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["risk", "reason"],
                condition=Q(resolved_at__isnull=True),
                name="risk_escalation_one_open_per_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.risk.key} escalated: {self.get_reason_display()}"
