"""A project and everything that belongs to it as one JSON document, and back: the envelope.

The document (`{"format": "waymark-project", "version": 1, ...}`) names rows by natural keys
(usernames, the project's code, risk keys, KPI and gate names) and, where a row has none, by
its `ref`: its position among its kind in the document. Database ids never appear, so a file
exported from one installation imports into another. Each domain app writes and reads its own
part (`projects.exchange`, `risks.exchange`, ...); this module puts them in order, reads the
whole document before writing any of it, and writes it in one transaction.

Append-only records (risk assessments, measurements, sign-offs, gate audit entries) are
imported as they were: their times, signers and contents kept.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.exchange import DocumentRefused, ExportContext, ImportContext
from dashboards import exchange as dashboards_part
from gates import exchange as gates_part
from metrics import exchange as metrics_part
from projects import exchange as projects_part
from projects.models import Project
from risks import exchange as risks_part

FORMAT = "waymark-project"
VERSION = 1
# The parts after the project's own, in the order they are written, read and imported: each may
# name rows of the parts before it.
PARTS = (risks_part, metrics_part, gates_part, dashboards_part)


class ProjectNotImported(Exception):
    """The document cannot be imported; the message names what is wrong and where."""


def project_export(*, project: Project) -> dict:
    """The project and everything that belongs to it, as a JSON-ready dict."""
    User = get_user_model()
    context = ExportContext(usernames=dict(User.objects.values_list("pk", User.USERNAME_FIELD)))
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        **projects_part.export(project, context),
    }
    for part in PARTS:
        document.update(part.export(project, context))
    return document


def project_import(
    *,
    data: Any,
    code: str = "",
    programme_slug: str = "",
    create_missing_users: bool = False,
    notes: list[str] | None = None,
) -> Project:
    """Import a project exported by `project_export`, all or nothing, under its own code or
    `code`, into its own programme (made if it is missing) or the one named `programme_slug`.
    Users the file names must exist, unless `create_missing_users` adds them as inactive
    placeholders. Raises ProjectNotImported, having written nothing, for a document that
    cannot be imported; what the import did besides is appended to `notes`."""
    _check_envelope(data)
    context = ImportContext()
    try:
        project_values = projects_part.read(data, context)
        values = [part.read(data, context) for part in PARTS]
        with transaction.atomic():
            _resolve_users(context, create_missing_users=create_missing_users)
            project = projects_part.write(
                project_values, context, code=code, programme_slug=programme_slug
            )
            for part, part_values in zip(PARTS, values, strict=True):
                part.write(part_values, project, context)
            context.restore_kept_times()
    except DocumentRefused as error:
        raise ProjectNotImported(str(error)) from None
    if notes is not None:
        notes.extend(context.notes)
    return project


def _check_envelope(data: Any) -> None:
    if not isinstance(data, dict):
        raise ProjectNotImported("The file must hold a JSON object.")
    if data.get("format") != FORMAT:
        raise ProjectNotImported(
            f"This is not a Waymark project export: 'format' must be '{FORMAT}', "
            f"not {data.get('format')!r:.80}."
        )
    if data.get("version") != VERSION:
        raise ProjectNotImported(
            f"Version {data.get('version')!r:.20} of the project format cannot be read; "
            f"this installation reads version {VERSION}."
        )


def _resolve_users(context: ImportContext, *, create_missing_users: bool) -> None:
    """The users the document names, into `context.users`: missing ones refused, or added as
    inactive placeholders."""
    User = get_user_model()
    found = {
        user.get_username(): user
        for user in User.objects.filter(**{f"{User.USERNAME_FIELD}__in": context.usernames})
    }
    missing = sorted(context.usernames - set(found))
    if missing and not create_missing_users:
        raise ProjectNotImported(
            f"{len(missing)} user(s) named in the file do not exist here: "
            f"{', '.join(missing)}. Create them first, or import with "
            "--create-missing-users to add them as inactive placeholders."
        )
    for username in missing:
        user = User(**{User.USERNAME_FIELD: username}, is_active=False)
        user.set_unusable_password()
        user.save()
        found[username] = user
    if missing:
        context.notes.append(
            f"Added {len(missing)} inactive placeholder user(s): {', '.join(missing)}."
        )
    context.users = found
