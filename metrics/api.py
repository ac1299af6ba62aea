"""The API for KPIs, their sources and their measurements: KPIs set up with baselines and
targets, sources configured (their secrets written, never read back), a KPI's series read over
a range (reduced in the database to at most a chosen number of points), measurements pushed by
the thousand.

`/api/measurements/` (one value or a list) stays for pipelines set up before `/api/v1/`."""

import math
from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MAX_ID, FixedAfterCreate, IdFilter, ObjectId, RelatedObject
from metrics import policy, selectors, services
from metrics.models import KPI, MAX_INTERVAL_MESSAGE, MetricSource
from metrics.selectors import MAX_POINTS
from projects import policy as project_policy
from projects.api import needed
from projects.policy import Action

ERROR = OpenApiResponse(description="Nothing was recorded; `detail` says why.")

MAX_BATCH = 5000
NOTE_MAX = 500
PLAIN_KEYS = {"kpi", "at", "value", "note"}
FUTURE_ALLOWANCE = timedelta(minutes=1)  # a sender's clock a little ahead is not refused


class MeasurementIn(serializers.Serializer):
    kpi = ObjectId()
    at = serializers.DateTimeField()
    value = serializers.FloatField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX, default="")

    def validate_at(self, at):
        if at > timezone.now() + FUTURE_ALLOWANCE:
            raise serializers.ValidationError("A measurement cannot be in the future.")
        return at

    def validate_value(self, value):
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError("Must be a finite number.")
        return value


def plain_measurements(items: list) -> list[dict] | None:
    """The batch as MeasurementIn would validate it, read directly when every item is plain
    (an id, an ISO 8601 time with its offset, a finite number, a short note): thousands of
    items in a fraction of the serializer's time. None if any item is not plain: the
    serializer then reads the batch and names each error."""
    latest = timezone.now() + FUTURE_ALLOWANCE
    validated = []
    for item in items:
        if not isinstance(item, dict) or not PLAIN_KEYS.issuperset(item):
            return None
        kpi, at, value = item.get("kpi"), item.get("at"), item.get("value")
        note = item.get("note", "")
        if type(kpi) is not int or not 1 <= kpi <= MAX_ID or type(value) not in (int, float):
            return None
        try:
            value = float(value)
        except OverflowError:  # an integer beyond any float
            return None
        if not math.isfinite(value):
            return None
        if not isinstance(note, str) or len(note.strip()) > NOTE_MAX:
            return None
        moment = parse_datetime(at) if isinstance(at, str) else None
        if moment is None or moment.tzinfo is None or moment > latest:
            return None
        validated.append({"kpi": kpi, "at": moment, "value": value, "note": note.strip()})
    return validated


@extend_schema(exclude=True)  # to move under /api/v1/measurements/ with the KPI resources
class MeasurementPushView(APIView):
    lists_only = False  # /api/v1/measurements/ takes a list, as its schema says

    def post(self, request):
        if self.lists_only and not isinstance(request.data, list):
            return Response({"detail": "Send a list of measurements."}, status=400)
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items:
            return Response({"detail": "Send a measurement or a list of them."}, status=400)
        if len(items) > MAX_BATCH:
            return Response(
                {"detail": f"Send at most {MAX_BATCH} measurements at once."}, status=400
            )
        validated = plain_measurements(items)
        if validated is None:  # not all plain: the serializer says what is wrong, and where
            serializer = MeasurementIn(data=items, many=True)
            if not serializer.is_valid():
                errors = serializer.errors  # by position in the batch
                if isinstance(errors, list):
                    errors = {index: error for index, error in enumerate(errors) if error}
                return Response({"detail": "Nothing was recorded.", "errors": errors}, status=400)
            validated = serializer.validated_data
        allowed = {
            kpi.pk: kpi
            for kpi in policy.visible_kpis(request.user)
            .select_related("project")
            .filter(pk__in={item["kpi"] for item in validated})
        }
        editable = {pk for pk, kpi in allowed.items() if policy.can_edit_kpi(request.user, kpi)}
        problems = {}
        for index, item in enumerate(validated):
            if item["kpi"] not in allowed:
                problems[index] = {"kpi": [f"No KPI {item['kpi']} that you may see."]}
            elif item["kpi"] not in editable:
                problems[index] = {"kpi": [f"You may not record values for KPI {item['kpi']}."]}
        if problems:
            forbidden_only = all("may not" in str(problem) for problem in problems.values())
            return Response(
                {"detail": "Nothing was recorded.", "errors": problems},
                status=403 if forbidden_only else 400,
            )
        batch = [{**item, "kpi": allowed[item["kpi"]]} for item in validated]
        try:
            created, existing = services.measurements_push(kpi_values=batch, by=request.user)
        except services.MeasurementConflict as conflict:
            return Response(
                {
                    "detail": "Nothing was recorded: a value differs from the one recorded.",
                    "errors": {conflict.index: {"value": [str(conflict)]}},
                },
                status=status.HTTP_409_CONFLICT,
            )
        except services.MeasurementRefused as error:
            return Response(
                {"detail": f"Nothing was recorded: {error}"}, status=status.HTTP_409_CONFLICT
            )
        return Response(
            {"created": created, "already_recorded": existing}, status=201 if created else 200
        )


class PushResult(serializers.Serializer):
    created = serializers.IntegerField(help_text="Measurements recorded by this request.")
    already_recorded = serializers.IntegerField(
        help_text="Sent again with the same value: kept once (pushing is idempotent)."
    )


@extend_schema(exclude=False)  # the older path is left out of the schema; this one is in it
class MeasurementBatchView(MeasurementPushView):
    lists_only = True

    @extend_schema(
        request=MeasurementIn(many=True),
        responses={200: PushResult, 201: PushResult, 409: ERROR},
        description=(
            f"Record up to {MAX_BATCH} measurements of KPIs you may edit, all or none: one "
            "invalid item refuses the batch (its position names it). A measurement sent again "
            "with the same value is counted as already recorded; with another value, refused."
        ),
    )
    def post(self, request):
        return super().post(request)


class KPISerializer(FixedAfterCreate, serializers.ModelSerializer):
    project = RelatedObject(among=project_policy.visible_projects, help_text="Not changed later.")
    phase = RelatedObject(among=project_policy.visible_phases, required=False, allow_null=True)

    class Meta:
        model = KPI
        fields = [
            "id",
            "project",
            "phase",
            "name",
            "description",
            "kind",
            "category",
            "unit",
            "baseline_value",
            "baseline_text",
            "comparator",
            "target_value",
            "target_value_high",
            "warning_value",
            "target_text",
            "sustain_values",
            "confirm_readings",
            "confirm_after",
            "method",
            "cadence",
            "owner_title",
            "critical",
            "status",
            "status_changed_at",
            "pending_status",
            "pending_since",
            "flaps",
            "flaps_since",
        ]
        read_only_fields = [
            "status",
            "status_changed_at",
            "pending_status",
            "pending_since",
            "flaps",
            "flaps_since",
        ]

    fixed_after_create = ("project",)


class KPIFilter(filters.FilterSet):
    project = IdFilter(field_name="project")

    class Meta:
        model = KPI
        fields = ["project", "status", "kind", "category", "critical"]


class SeriesQuery(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    max_points = serializers.IntegerField(required=False, min_value=2, max_value=MAX_POINTS)

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return attrs


class SeriesPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    avg = serializers.FloatField(help_text="The value, or the bucket's average.")
    low = serializers.FloatField()
    high = serializers.FloatField()
    count = serializers.IntegerField(help_text="Measurements in the bucket.")


class SeriesSerializer(serializers.Serializer):
    kpi = serializers.IntegerField()
    measurements = serializers.IntegerField(help_text="Measurements in the range.")
    reduced = serializers.BooleanField(help_text="Whether points are buckets of them.")
    points = SeriesPointSerializer(many=True)


class KPIViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """KPIs with their baselines and targets: members read them, editors set them up; the
    status is judged by the portal from the measurements."""

    serializer_class = KPISerializer
    filterset_class = KPIFilter
    ordering_fields = ["name", "status", "kind"]
    ordering = ["project", "name"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return policy.visible_kpis(self.request.user)

    def get_object(self):
        action_needed = needed(self.request, Action.EDIT)
        return policy.get_kpi_for(self.request.user, self.kwargs["pk"], action_needed)

    def perform_create(self, serializer):
        kpi = KPI(**serializer.validated_data)
        project_policy.get_project_for(self.request.user, kpi.project_id, Action.EDIT)
        serializer.instance = services.kpi_save(kpi=kpi)

    def perform_update(self, serializer):
        kpi = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(kpi, field, value)
        serializer.instance = services.kpi_save(kpi=kpi)

    @extend_schema(parameters=[SeriesQuery], responses=SeriesSerializer)
    @action(detail=True, methods=["get"])
    def series(self, request, pk=None):
        """The KPI's measurements from `since` to `until`, oldest first: as recorded when at
        most `max_points` (default and most 1,000), else reduced in the database to that many
        time buckets with average, lowest and highest value."""
        kpi = self.get_object()
        query = SeriesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        series = selectors.kpi_series(
            kpi=kpi,
            since=query.validated_data.get("since"),
            until=query.validated_data.get("until"),
            max_points=query.validated_data.get("max_points", MAX_POINTS),
        )
        return Response(
            SeriesSerializer(
                {
                    "kpi": kpi.pk,
                    "measurements": series.measurements,
                    "reduced": series.reduced,
                    "points": series.points,
                }
            ).data
        )


# -- metric sources ------------------------------------------------------------------------------


class MetricSourceSerializer(FixedAfterCreate, serializers.ModelSerializer):
    kpi = RelatedObject(among=policy.visible_kpis, help_text="Not changed later.")
    config = serializers.DictField(
        help_text='What to collect, by kind, e.g. {"url": "http://127.0.0.1:9090", '
        '"query": "up"} for Prometheus.'
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Sent in the header named by `secret_header` in the configuration. Never "
        "shown again; left out or empty, the stored one is kept.",
    )
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = MetricSource
        fields = [
            "id",
            "kpi",
            "kind",
            "config",
            "secret",
            "has_secret",
            "interval",
            "is_active",
            "health",
            "last_success_at",
            "last_error",
            "last_error_at",
            "consecutive_failures",
            "created_at",
        ]
        read_only_fields = [
            "health",
            "last_success_at",
            "last_error",
            "last_error_at",
            "consecutive_failures",
            "created_at",
        ]
        validators = []  # one active source per KPI: the model's constraint answers
        extra_kwargs = {
            "interval": {"error_messages": {"max_value": MAX_INTERVAL_MESSAGE}},
        }

    fixed_after_create = ("kpi",)

    def get_has_secret(self, source) -> bool:
        return bool(source.secret)


class MetricSourceFilter(filters.FilterSet):
    kpi = IdFilter(field_name="kpi")
    project = IdFilter(field_name="kpi__project")

    class Meta:
        model = MetricSource
        fields = ["kpi", "project", "kind", "is_active", "health"]


class MetricSourceViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Where a KPI's values come from. Members see the sources (never their secrets);
    editors set them up; deactivate one rather than remove it, its values keep their origin."""

    serializer_class = MetricSourceSerializer
    filterset_class = MetricSourceFilter
    ordering_fields = ["kind", "health", "created_at"]
    ordering = ["kpi", "-is_active", "pk"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return MetricSource.objects.filter(kpi__in=policy.visible_kpis(self.request.user))

    def get_object(self):
        source = get_object_or_404(self.get_queryset().select_related("kpi"), pk=self.kwargs["pk"])
        if self.request.method not in ("GET", "HEAD") and not policy.can_edit_kpi(
            self.request.user, source.kpi
        ):
            raise PermissionDenied("You may not change this KPI's source.")
        return source

    def perform_create(self, serializer):
        source = MetricSource(**serializer.validated_data)
        if not policy.can_edit_kpi(self.request.user, source.kpi):
            raise PermissionDenied("You may not change this KPI's source.")
        serializer.instance = services.metric_source_save(source=source)

    def perform_update(self, serializer):
        source = serializer.instance
        for field, value in serializer.validated_data.items():
            if field == "secret" and not value:
                continue  # left empty: the stored secret is kept
            setattr(source, field, value)
        serializer.instance = services.metric_source_save(source=source)
