"""Optimistic locking of rows several people edit: each save raises the row's `version`, and a
save based on an older version is refused with who saved in between, for services, pages and
the API alike."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import F, Model
from django.utils import timezone

from core.people import display_name


class StaleEdit(Exception):
    """Someone saved the row after the editor loaded it; `current` is the row as it is now."""

    def __init__(self, current: Model):
        self.current = current
        self.changed_by, self.changed_at = _last_save(current)
        who = display_name(self.changed_by, "Someone")
        when = f" at {timezone.localtime(self.changed_at):%H:%M}" if self.changed_at else ""
        super().__init__(f"{who} saved this{when} while you were editing.")


def _last_save(row: Model) -> tuple[object | None, datetime | None]:
    """Who saved `row` last and when, from its history where it keeps one, else only when."""
    history = getattr(row, "history", None)
    if history is None:
        return None, getattr(row, "updated_at", None)
    last = history.select_related("history_user").first()
    return (last.history_user, last.history_date) if last else (None, None)


def version_claim(model: type[Model], *, pk: int, version: int | None) -> Model:
    """Raise row `pk`'s version if it is still `version` (None: whatever it is now) and return
    the row as stored, with its new version; StaleEdit if someone saved it since.

    The check is the database's: the UPDATE that matches the expected version claims the row
    and holds its lock until the transaction ends, so call it inside one and save there.
    """
    claimed = model._default_manager.filter(pk=pk)
    if version is not None:
        claimed = claimed.filter(version=version)
    if not claimed.update(version=F("version") + 1):
        raise StaleEdit(model._default_manager.get(pk=pk))
    return model._default_manager.get(pk=pk)


# Pages


@dataclass
class VersionedEdit:
    """What came of a versioned edit from a page: the saved row, or the form to show again
    (with its errors, or, after someone else's save, with `stale` and `conflict`)."""

    form: object
    saved: object = None
    conflict: list | None = None
    stale: StaleEdit | None = None


def edit_versioned(request, form_class, instance, update: Callable[..., Model]) -> VersionedEdit:
    """Validate the posted form and call `update(version=..., changes=...)` with the version
    the editor started from. A save based on an older version comes back with the editor's own
    values, now based on the current version, and the fields the other save left different."""
    form = form_class(request.POST, instance=instance)
    if not form.is_valid():
        return VersionedEdit(form)
    try:
        saved = update(version=form.cleaned_data.get("version"), changes=form.changes())
    except StaleEdit as error:
        conflict = _conflict(error, form)  # before the new form fills `error.current` in
        data = request.POST.copy()
        data["version"] = error.current.version
        again = form_class(data, instance=error.current)
        again.is_valid()
        return VersionedEdit(again, conflict=conflict, stale=error)
    except ValidationError as error:
        form.add_error(None, error)
        return VersionedEdit(form)
    return VersionedEdit(form, saved=saved)


def _conflict(error: StaleEdit, form) -> list[tuple[str, str, str]]:
    """(field, their value, your value) for every field the other save left different."""
    rows = []
    for name in form._meta.fields:
        field = form.fields[name]
        theirs = getattr(error.current, name)
        yours = form.cleaned_data.get(name) if hasattr(form, "cleaned_data") else None
        if theirs != yours:
            rows.append((field.label, _shown(theirs), _shown(yours)))
    return rows


def _shown(value) -> str:
    if value in (None, ""):
        return "—"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
