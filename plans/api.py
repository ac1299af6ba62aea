from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from plans.markdown import reader
from plans.markdown.build import (
    ImportOptions,
    PlanNotImported,
    import_report,
    plan_import,
    plan_read,
)
from projects import policy


class PlanImport(serializers.Serializer):
    programme = serializers.SlugField(help_text="The programme to add the project to.")
    markdown = serializers.CharField(
        max_length=reader.MAX_BYTES, trim_whitespace=False, help_text="The plan, in Markdown."
    )
    start_date = serializers.DateField(help_text="Day one of the plan's timing (Week 1, Day 1).")
    code = serializers.SlugField(
        required=False, max_length=20, help_text="The project's code; else from the plan."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Only report what would be imported; save nothing."
    )


class PlanImportCounts(serializers.Serializer):
    phases = serializers.IntegerField()
    checklist_items = serializers.IntegerField()
    risks = serializers.IntegerField()
    kpis = serializers.IntegerField()
    gates = serializers.IntegerField()
    gate_criteria = serializers.IntegerField()


class UnrecognisedSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    text = serializers.CharField()
    why = serializers.CharField()


class PlanImportReport(PlanImportCounts):
    overview = serializers.DictField(child=serializers.CharField())
    items = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()),
        help_text="Each thing recognised, by kind, with the line it came from.",
    )
    notes = serializers.ListField(child=serializers.DictField())
    unrecognised = UnrecognisedSerializer(many=True)


class PlanImportResult(serializers.Serializer):
    project = serializers.IntegerField(
        allow_null=True, help_text="The new project (not on a dry run)."
    )
    code = serializers.CharField(allow_null=True)
    report = PlanImportReport()


class PlanImportView(generics.GenericAPIView):
    """Import a migration plan written in Markdown as a new project: phases, checklists,
    risks, KPIs and gates, in one transaction, or nothing. With `dry_run`, only the report."""

    serializer_class = PlanImport

    @extend_schema(request=PlanImport, responses={200: PlanImportResult, 201: PlanImportResult})
    def post(self, request):
        query = PlanImport(data=request.data)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        programme = policy.get_programme_to_add_to(request.user, data["programme"])
        try:
            plan = plan_read(data["markdown"])
        except reader.NotAPlan as error:
            raise serializers.ValidationError({"markdown": [str(error)]}) from error
        report = import_report(plan)
        if data["dry_run"]:
            return Response({"project": None, "code": None, "report": report})
        options = ImportOptions(
            programme=programme,
            start_date=data["start_date"],
            code=data.get("code", ""),
            by=request.user,
        )
        try:
            project = plan_import(plan=plan, options=options)
        except PlanNotImported as error:
            raise serializers.ValidationError({"markdown": [str(error)]}) from error
        return Response({"project": project.pk, "code": project.code, "report": report}, status=201)
