import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exchange.document import project_export
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Write a project and everything that belongs to it (phases, checklists, memberships, "
        "risks and their history, KPIs, sources without their secrets, measurements, gates "
        "with their sign-offs and audit trail) as one JSON document, for project_import."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's code (or its id).")
        parser.add_argument(
            "--programme", default="", help="The programme's slug, where the code is not unique."
        )
        parser.add_argument(
            "--output", "-o", default="", help="The file to write (default: stdout)."
        )

    def handle(self, *args, **options):
        project = self._project(options["project"], options["programme"])
        document = json.dumps(project_export(project=project), ensure_ascii=False, indent=1)
        if not options["output"]:
            self.stdout.write(document)
            return
        path = Path(options["output"])
        try:
            path.write_text(document + "\n", encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from error
        self.stderr.write(f"Exported {project.code} ({project.name}) to {path}.")

    def _project(self, key: str, programme: str) -> Project:
        projects = Project.objects.select_related("programme")
        if programme:
            projects = projects.filter(programme__slug=programme)
        matches = list(projects.filter(code=key))
        if not matches and key.isdigit():
            matches = list(projects.filter(pk=int(key)))
        if not matches:
            raise CommandError(f"No project with the code or id {key!r}.")
        if len(matches) > 1:
            slugs = ", ".join(sorted(project.programme.slug for project in matches))
            raise CommandError(
                f"Several programmes have a project {key!r} ({slugs}): say which with --programme."
            )
        return matches[0]
