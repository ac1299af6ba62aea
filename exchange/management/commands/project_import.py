import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exchange.document import ProjectNotImported, project_import


class Command(BaseCommand):
    help = (
        "Import a project written by project_export, all or nothing. Users the file names must "
        "exist here, unless --create-missing-users adds them as inactive placeholders."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The export, a JSON file.")
        parser.add_argument(
            "--code", default="", help="The code to import it under (default: the exported one)."
        )
        parser.add_argument(
            "--programme",
            default="",
            help="Slug of the programme to import into (default: the exported one, made if "
            "missing).",
        )
        parser.add_argument(
            "--create-missing-users",
            action="store_true",
            help="Add users the file names but this installation lacks, inactive and without a "
            "password, so that their signatures and entries keep their names.",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{path} is not UTF-8 text: {error.reason}.") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{path} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            ) from error
        notes: list[str] = []
        try:
            project = project_import(
                data=data,
                code=options["code"],
                programme_slug=options["programme"],
                create_missing_users=options["create_missing_users"],
                notes=notes,
            )
        except ProjectNotImported as error:
            raise CommandError(f"{path} was not imported: {error}") from error
        for note in notes:
            self.stdout.write(self.style.WARNING(note))
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {project.code} ({project.name}) into {project.programme.slug}, "
                f"id {project.pk}."
            )
        )
