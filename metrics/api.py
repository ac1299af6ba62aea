"""Measurements pushed by pipelines: POST one value or a list, authenticated by token."""

from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import policy, services

MAX_BATCH = 5000


class MeasurementIn(serializers.Serializer):
    kpi = serializers.IntegerField(min_value=1)
    at = serializers.DateTimeField()
    value = serializers.FloatField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate_value(self, value):
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError("Must be a finite number.")
        return value


class MeasurementPushView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request):
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
