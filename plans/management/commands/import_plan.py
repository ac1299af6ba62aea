import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from plans.markdown import reader
from plans.markdown.build import (
    ImportOptions,
    PlanNotImported,
    import_report,
    plan_import,
    plan_read,
)
from projects.models import Programme


class Command(BaseCommand):
    help = (
        "Import a migration plan written in Markdown as a project: phases, checklists, risks, "
        "KPIs and gates. Prints what was recognised (and what was not); --dry-run saves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The plan, a Markdown file.")
        parser.add_argument("--programme", help="Slug of the programme to add the project to.")
        parser.add_argument("--start-date", help="The project's start, YYYY-MM-DD (default today).")
        parser.add_argument(
            "--code", default="", help="The project's code (default: from its name)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Report only; save nothing.")
        parser.add_argument(
            "--json", action="store_true", help="Print the report as one JSON object."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        try:
            start = date.fromisoformat(options["start_date"]) if options["start_date"] else None
        except ValueError as error:
            raise CommandError("--start-date must be a date written YYYY-MM-DD.") from error
        try:
            plan = plan_read(data)
        except reader.NotAPlan as error:
            raise CommandError(str(error)) from error
        report = import_report(plan)
        if not options["dry_run"]:
            report["project"] = self._import(plan, options, start or timezone.localdate())
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2, default=str))
            return
        self._print(report, dry_run=options["dry_run"])

    def _import(self, plan, options, start: date) -> str:
        if not options["programme"]:
            raise CommandError(
                "Say which programme to import into: --programme <slug> (or --dry-run)."
            )
        programme = Programme.objects.filter(slug=options["programme"]).first()
        if programme is None:
            raise CommandError(f"No programme with the slug {options['programme']!r}.")
        try:
            project = plan_import(
                plan=plan,
                options=ImportOptions(programme=programme, start_date=start, code=options["code"]),
            )
        except PlanNotImported as error:
            raise CommandError(str(error)) from error
        return f"{project.code} (id {project.pk})"

    def _print(self, report: dict, *, dry_run: bool) -> None:
        counts = ", ".join(
            f"{report[key]} {key.replace('_', ' ')}"
            for key in ("phases", "checklist_items", "risks", "kpis", "gates", "gate_criteria")
        )
        self.stdout.write(f"Recognised: {counts}.")
        for kind, items in report["items"].items():
            self.stdout.write(f"\n{kind.replace('_', ' ').capitalize()}:")
            for item in items:
                label = item.get("name") or item.get("title")
                self.stdout.write(f"  line {item['line']:>4}  {label}")
        if report["notes"]:
            self.stdout.write("\nKept as project notes:")
            for note in report["notes"]:
                self.stdout.write(f"  line {note['line']:>4}  {note['title']}")
        if report["unrecognised"]:
            self.stdout.write("\nNot understood:")
            for item in report["unrecognised"]:
                self.stdout.write(f"  line {item['line']:>4}  {item['text']}: {item['why']}")
        if dry_run:
            self.stdout.write(self.style.WARNING("\nDry run: nothing was saved."))
        else:
            self.stdout.write(self.style.SUCCESS(f"\nImported as project {report['project']}."))
