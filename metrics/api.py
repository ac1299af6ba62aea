"""The API for KPIs and their measurements: read a KPI's series over a range (reduced in the
database to at most a chosen number of points), push measurements by the thousand.

`/api/measurements/` (one value or a list) stays for pipelines set up before `/api/v1/`."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ObjectId
from metrics import policy, selectors, services
from metrics.models import KPI
from metrics.selectors import MAX_POINTS
from projects.api import IdFilter

ERROR = OpenApiResponse(description="Nothing was recorded; `detail` says why.")

MAX_BATCH = 5000


class MeasurementIn(serializers.Serializer):
    kpi = ObjectId()
    at = serializers.DateTimeField()
    value = serializers.FloatField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate_value(self, value):
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError("Must be a finite number.")
        return value


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
        serializer = MeasurementIn(data=items, many=True)
        if not serializer.is_valid():
            errors = serializer.errors  # by position in the batch
            if isinstance(errors, list):
                errors = {index: error for index, error in enumerate(errors) if error}
            return Response({"detail": "Nothing was recorded.", "errors": errors}, status=400)
        allowed = {
            kpi.pk: kpi
            for kpi in policy.visible_kpis(request.user)
            .select_related("project")
            .filter(pk__in={item["kpi"] for item in serializer.validated_data})
        }
        problems = {}
        for index, item in enumerate(serializer.validated_data):
            kpi = allowed.get(item["kpi"])
            if kpi is None:
                problems[index] = {"kpi": [f"No KPI {item['kpi']} that you may see."]}
            elif not policy.can_edit_kpi(request.user, kpi):
                problems[index] = {"kpi": [f"You may not record values for KPI {kpi.pk}."]}
        if problems:
            forbidden_only = all("may not" in str(problem) for problem in problems.values())
            return Response(
                {"detail": "Nothing was recorded.", "errors": problems},
                status=403 if forbidden_only else 400,
            )
        batch = [{**item, "kpi": allowed[item["kpi"]]} for item in serializer.validated_data]
        try:
            created, existing = services.measurements_push(kpi_values=batch, by=request.user)
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


class KPISerializer(serializers.ModelSerializer):
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
            "method",
            "cadence",
            "owner_title",
            "critical",
            "status",
            "status_changed_at",
        ]
        read_only_fields = fields


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


class KPIViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = KPISerializer
    filterset_class = KPIFilter
    ordering_fields = ["name", "status", "kind"]
    ordering = ["project", "name"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return policy.visible_kpis(self.request.user)

    def get_object(self):
        return policy.get_kpi_for(self.request.user, self.kwargs["pk"])

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
