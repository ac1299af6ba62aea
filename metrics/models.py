from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.words import number_words
from metrics.collection.source_config import validate_source_config
from projects.models import Phase, Project

# A source collects at least once a year: a rarer value is no live metric (and the limit keeps
# the next-due arithmetic far from the largest date).
MAX_INTERVAL = timedelta(days=366)
MAX_INTERVAL_MESSAGE = "Collect at least once a year (every 366 days at most)."
# A new status is confirmed by at most this many readings in a row (each judgement reads them).
MAX_CONFIRM_READINGS = 50


class Comparator(models.TextChoices):
    LT = "lt", "<"
    LTE = "lte", "≤"
    GT = "gt", ">"
    GTE = "gte", "≥"
    EQ = "eq", "="
    BETWEEN = "between", "between"


# How each comparator reads in a sentence: "below 1 %", "at most 2 s".
COMPARATOR_WORDS = {
    Comparator.LT: "below",
    Comparator.LTE: "at most",
    Comparator.GT: "above",
    Comparator.GTE: "at least",
    Comparator.EQ: "exactly",
}


def target_words(comparator: str, value: float, high: float | None = None, unit: str = "") -> str:
    """A target or a threshold in words: "below 1 %", "at most 2 s", "between 10 and 20 ms"."""
    unit = f" {unit}" if unit else ""
    if comparator == Comparator.BETWEEN:
        return f"between {number_words(value)} and {number_words(high)}{unit}"
    return f"{COMPARATOR_WORDS[comparator]} {number_words(value)}{unit}"


def comparator_constraints(prefix: str, comparator: str, low: str, high: str) -> list:
    """Database rules for a comparator with its bound(s): 'between' needs low < high.

    Every disjunct tests for NULL explicitly: a CHECK whose condition is NULL passes.
    """
    return [
        models.CheckConstraint(
            condition=Q(**{comparator: Comparator.BETWEEN, f"{low}__isnull": False})
            & Q(**{f"{high}__isnull": False, f"{high}__gt": models.F(low)})
            | ~Q(**{comparator: Comparator.BETWEEN}) & Q(**{f"{high}__isnull": True}),
            name=f"{prefix}_between_has_ordered_bounds",
            violation_error_message="'Between' needs a lower and a higher bound, low < high; "
            "other comparators take one value.",
        ),
        models.CheckConstraint(
            condition=Q(**{f"{comparator}__isnull": True, f"{low}__isnull": True})
            | Q(**{f"{comparator}__isnull": False, f"{low}__isnull": False}),
            name=f"{prefix}_comparator_has_value",
            violation_error_message="A comparator needs a value, and a value a comparator.",
        ),
    ]


class KPIKind(models.TextChoices):
    LEADING = "leading", "Leading indicator"
    LAGGING = "lagging", "Lagging indicator"
    COUNTER = "counter", "Counter-metric"


class KPICategory(models.TextChoices):
    TECHNICAL = "technical", "Technical"
    BUSINESS = "business", "Business"
    PROJECT = "project", "Project"


class KPIStatus(models.TextChoices):
    ON_TARGET = "on_target", "On target"
    WARNING = "warning", "At risk"
    BREACHED = "breached", "Breached"
    NO_DATA = "no_data", "No data"
    STALE = "stale", "Stale"
    UNJUDGED = "unjudged", "No numeric target"


class KPI(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="kpis")
    phase = models.ForeignKey(
        Phase, on_delete=models.SET_NULL, null=True, blank=True, related_name="kpis"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=KPIKind.choices, default=KPIKind.LAGGING)
    category = models.CharField(
        max_length=20, choices=KPICategory.choices, default=KPICategory.TECHNICAL
    )
    unit = models.CharField(max_length=30, blank=True, help_text="e.g. ms, %, req/s, USD/month")
    baseline_value = models.FloatField(null=True, blank=True)
    baseline_text = models.CharField(
        max_length=200, blank=True, help_text="The baseline as the plan states it, e.g. '~10-15 s'."
    )
    comparator = models.CharField(max_length=10, choices=Comparator.choices, null=True, blank=True)  # noqa: DJ001
    target_value = models.FloatField(null=True, blank=True)
    target_value_high = models.FloatField(
        null=True, blank=True, help_text="Upper bound, for 'between' only."
    )
    warning_value = models.FloatField(
        null=True,
        blank=True,
        help_text="Past this value (but still on target) the KPI shows a warning.",
    )
    target_text = models.CharField(
        max_length=300, blank=True, help_text="The target as the plan states it."
    )
    method = models.TextField("measurement method", blank=True)
    cadence = models.DurationField(
        default=timedelta(days=1), help_text="How often a new value is expected."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_kpis",
    )
    owner_title = models.CharField(max_length=100, blank=True)
    critical = models.BooleanField(
        default=False,
        help_text="A breach of a critical KPI turns the project red on status pages; "
        "any other breach turns it amber.",
    )
    sustain_values = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="If set, on target only when this many latest values all meet the target "
        "(e.g. 5 for 'stable for 5 consecutive days').",
    )
    confirm_readings = models.PositiveSmallIntegerField(
        "confirm after readings",
        default=2,
        validators=[
            MinValueValidator(1, message="At least 1 reading (1 changes the status at once)."),
            MaxValueValidator(
                MAX_CONFIRM_READINGS, message=f"At most {MAX_CONFIRM_READINGS} readings."
            ),
        ],
        help_text="A new status (e.g. breached) counts, and is notified, once this many "
        "readings in a row agree; a swing that does not hold is counted, not notified. "
        "1 changes the status at the first reading.",
    )
    confirm_after = models.DurationField(
        "or confirm after",
        null=True,
        blank=True,
        help_text="Optional: a new status also counts once it has held this long, e.g. "
        "00:15:00 for 15 minutes, however few readings came.",
    )
    status = models.CharField(max_length=20, choices=KPIStatus.choices, default=KPIStatus.NO_DATA)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    pending_status = models.CharField(  # noqa: DJ001 (null: nothing pending, as the API says)
        max_length=20,
        choices=KPIStatus.choices,
        null=True,
        blank=True,
        help_text="What the latest readings judge, while it differs from the status and has "
        "not held long enough to count.",
    )
    pending_since = models.DateTimeField(null=True, blank=True)
    flaps = models.PositiveIntegerField(
        default=0, help_text="Swings away from the status and back that were not notified."
    )
    flaps_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "KPI"
        verbose_name_plural = "KPIs"
        ordering = ["project", "kind", "category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="kpi_name_unique_in_project"),
            models.CheckConstraint(
                condition=Q(cadence__gt=timedelta(0)),
                name="kpi_cadence_positive",
                violation_error_message="The cadence must be longer than zero.",
            ),
            *comparator_constraints("kpi", "comparator", "target_value", "target_value_high"),
            models.CheckConstraint(
                condition=Q(sustain_values__isnull=True) | Q(sustain_values__gte=1),
                name="kpi_sustain_values_positive",
            ),
            models.CheckConstraint(
                condition=Q(confirm_readings__gte=1, confirm_readings__lte=MAX_CONFIRM_READINGS),
                name="kpi_confirm_readings_in_range",
                violation_error_message=f"Confirm after 1 to {MAX_CONFIRM_READINGS} readings.",
            ),
            models.CheckConstraint(
                condition=Q(confirm_after__isnull=True) | Q(confirm_after__gt=timedelta(0)),
                name="kpi_confirm_after_positive",
                violation_error_message="The confirmation time must be longer than zero.",
            ),
            models.CheckConstraint(
                condition=Q(pending_status__isnull=True, pending_since__isnull=True)
                | Q(pending_status__isnull=False, pending_since__isnull=False),
                name="kpi_pending_status_has_since",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("kpi-detail", args=[self.pk])

    def clean(self) -> None:
        if self.phase_id and self.project_id and self.phase.project_id != self.project_id:
            raise ValidationError({"phase": "The phase must belong to the KPI's project."})

    @property
    def target_display(self) -> str:
        """The target in words ("below 500 ms"), else as the plan states it."""
        if self.comparator is None:
            return self.target_text or "—"
        return target_words(self.comparator, self.target_value, self.target_value_high, self.unit)


class SourceKind(models.TextChoices):
    PROMETHEUS = "prometheus", "Prometheus query"
    HTTP_JSON = "http_json", "HTTP JSON endpoint"
    HTTP_PROBE = "http_probe", "Synthetic HTTP probe"
    SQL = "sql", "SQL query"
    DERIVED = "derived", "Derived from other KPIs"
    MANUAL = "manual", "Manual entry"


class SourceHealth(models.TextChoices):
    UNKNOWN = "unknown", "Not yet collected"
    OK = "ok", "Collecting"
    FAILING = "failing", "Failing"


class MetricSource(models.Model):
    """Where a KPI's numbers come from, and how collection of them is going."""

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    config = models.JSONField(default=dict, blank=True)
    secret = models.CharField(
        max_length=500,
        blank=True,
        help_text="Credential for the source (token or database URL); never shown again.",
    )
    interval = models.DurationField(
        default=timedelta(minutes=5),
        validators=[MaxValueValidator(MAX_INTERVAL, message=MAX_INTERVAL_MESSAGE)],
    )
    is_active = models.BooleanField(default=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    health = models.CharField(
        max_length=20, choices=SourceHealth.choices, default=SourceHealth.UNKNOWN
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kpi", "-is_active", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi"],
                condition=Q(is_active=True),
                name="metric_source_one_active_per_kpi",
                violation_error_message="This KPI already has an active source.",
            ),
            models.CheckConstraint(
                condition=Q(interval__gte=timedelta(seconds=10)),
                name="metric_source_interval_at_least_10s",
                violation_error_message="Collect at most every 10 seconds.",
            ),
            models.CheckConstraint(
                condition=Q(interval__lte=MAX_INTERVAL),
                name="metric_source_interval_at_most_366_days",
                violation_error_message=MAX_INTERVAL_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=["prometheus", "http_json", "http_probe", "sql", "derived", "manual"]
                ),
                name="metric_source_kind_known",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "next_due_at"], name="metric_source_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.kpi}"

    def clean(self) -> None:
        if self.kind:
            validate_source_config(self.kind, self.config)


class Measurement(models.Model):
    """One value of a KPI at one moment: append-only."""

    # No index of its own: the (kpi, at) unique index leads with it, and PostgreSQL chose a
    # kpi-only index for time ranges, reading a year of a KPI's rows to chart a week.
    kpi = models.ForeignKey(
        KPI, on_delete=models.CASCADE, related_name="measurements", db_index=False
    )
    at = models.DateTimeField()
    value = models.FloatField()
    source = models.ForeignKey(
        MetricSource,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="measurements",
        help_text="Empty for a value entered by hand.",
    )
    partial = models.BooleanField(
        default=False, help_text="The source answered with warnings; the value may be incomplete."
    )
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    slot = models.DateTimeField(
        null=True, blank=True, help_text="The scheduled collection this value answers."
    )

    class Meta:
        ordering = ["kpi", "at"]
        get_latest_by = "at"
        constraints = [
            # Also the index for time-range reads of one KPI.
            models.UniqueConstraint(fields=["kpi", "at"], name="measurement_one_per_kpi_and_time"),
            # A retried or duplicated poll writes once.
            models.UniqueConstraint(
                fields=["source", "slot"],
                condition=Q(source__isnull=False, slot__isnull=False),
                name="measurement_one_per_source_and_slot",
            ),
            models.CheckConstraint(
                # The largest finite double: infinities (and, on PostgreSQL, NaN) fall outside.
                condition=Q(value__gte=-1.7976931348623157e308, value__lte=1.7976931348623157e308),
                name="measurement_value_finite",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} = {self.value:g} at {self.at:%Y-%m-%d %H:%M}"


class MeasurementHour(models.Model):
    """A KPI's measurements of one hour (UTC), summed up: what charts over months and years
    read instead of every measurement. Kept by the database itself: a trigger on inserting
    measurements adds them to their hours (migration 0007); the code never writes here."""

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField(help_text="The start of the hour, UTC.")
    count = models.PositiveIntegerField()
    total = models.FloatField(help_text="The sum of the hour's values.")
    low = models.FloatField()
    high = models.FloatField()
    partials = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kpi", "hour"], name="measurement_hour_one_per_kpi")
        ]

    def __str__(self) -> str:
        return f"{self.kpi_id} {self.hour:%Y-%m-%d %H}h: {self.count} values"


class KPIPin(models.Model):
    """A KPI one person pinned on its project's dashboard: their pinned KPIs show first, for
    them alone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kpi_pins"
    )
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="pins")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "KPI pin"
        ordering = ["user", "kpi"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kpi"], name="kpi_pin_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} pinned by {self.user}"
