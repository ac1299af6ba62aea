from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from projects.models import Project

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


class Risk(models.Model):
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
