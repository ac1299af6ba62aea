"""What the parts of an exchange document share: the kinds of value a field holds with their
JSON form, rows written and read by their fields, and the context of one export or import.
"""

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


class DocumentRefused(Exception):
    """A part of the document cannot be read or written; the message names what is wrong and
    where, by its JSON path (`gates[0].criteria[2].kpi`)."""


# The kinds of value a field holds, each with its JSON form and a check of that form.


REQUIRED = object()


@dataclass(frozen=True)
class Kind:
    what: str  # how a message names the expected value
    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]  # raises ValueError for a value of the wrong form
    nullable: bool = False
    user: bool = False  # a user, written as their username
    derived: bool = False  # a list, a ref or a computed value: written and read by the caller
    # What a field added after documents were first written reads as when a document lacks it.
    absent: Any = REQUIRED


def _text(value):
    if not isinstance(value, str):
        raise ValueError
    return value


def _integer(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError
    return value


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError
    return float(value)


def _boolean(value):
    if not isinstance(value, bool):
        raise ValueError
    return value


def _date(value):
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError
    return parsed


def _datetime(value):
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or timezone.is_naive(parsed):
        raise ValueError
    # In UTC, as the database gives it back: audit hashes are taken over its ISO form.
    return parsed.astimezone(UTC)


def _decimal(value):
    try:
        parsed = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        parsed = None
    if parsed is None or not parsed.is_finite():
        raise ValueError
    return parsed


def _duration(value):
    return timedelta(seconds=_number(value))


def _object(value):
    if not isinstance(value, dict):
        raise ValueError
    return value


def _list(value):
    if not isinstance(value, list):
        raise ValueError
    return value


def _iso(value):
    return value.isoformat()


def _same(value):
    return value


TEXT = Kind("text", _same, _text)
INTEGER = Kind("a whole number", _same, _integer)
INTEGER_OR_NULL = Kind("a whole number or null", _same, _integer, nullable=True)
NUMBER = Kind("a number", _same, _number)
NUMBER_OR_NULL = Kind("a number or null", _same, _number, nullable=True)
BOOLEAN = Kind("true or false", _same, _boolean)
DATE = Kind("a date (YYYY-MM-DD)", _iso, _date)
DATE_OR_NULL = Kind("a date (YYYY-MM-DD) or null", _iso, _date, nullable=True)
DATETIME = Kind("a date and time with its offset", _iso, _datetime)
DATETIME_OR_NULL = Kind("a date and time with its offset, or null", _iso, _datetime, True)
DECIMAL = Kind("a decimal number written as text", str, _decimal)
DURATION = Kind("a number of seconds", lambda value: value.total_seconds(), _duration)
OBJECT = Kind("an object", _same, _object)
JSON_LIST = Kind("a list", _same, _list)
LIST = Kind("a list", _same, _list, derived=True)
# Fields added to the format since version 1 was first written: older documents lack them.
LATER_TEXT = Kind("text", _same, _text, absent="")
LATER_OBJECT_OR_NULL = Kind("an object or null", _same, _object, nullable=True, absent=None)
LATER_LIST = Kind("a list", _same, _list, derived=True, absent=[])
LATER_INTEGER_OR_NULL = Kind("a whole number or null", _same, _integer, nullable=True, absent=None)
LATER_DATETIME_OR_NULL = Kind(
    "a date and time with its offset, or null", _iso, _datetime, nullable=True, absent=None
)
LATER_REF_OR_NULL = Kind(
    "a whole number or null", _same, _integer, nullable=True, derived=True, absent=None
)
LATER_DURATION_OR_NULL = Kind(
    "a number of seconds or null",
    DURATION.dump,
    _duration,
    nullable=True,
    absent=None,
)
TEXT_OR_NULL = Kind("text or null", _same, _text, nullable=True)
USER = Kind("a username", _same, _text, user=True)
USER_OR_NULL = Kind("a username or null", _same, _text, nullable=True, user=True)
REF = Kind("a whole number", _same, _integer, derived=True)
REF_OR_NULL = Kind("a whole number or null", _same, _integer, nullable=True, derived=True)
NAME_OR_NULL = Kind("text or null", _same, _text, nullable=True, derived=True)
FLAG = Kind("true or false", _same, _boolean, derived=True)
SETTINGS = Kind("an object", _same, _object, derived=True)

Fields = dict[str, Kind]


def later(kind: Kind, *, absent: Any) -> Kind:
    """`kind` for a field added to the format since version 1 was first written: a document
    that lacks it reads as `absent` (the model's default, as a migration gave existing rows)."""
    return replace(kind, absent=absent)


@dataclass
class ExportContext:
    """One export: usernames by user id, and the keys that parts gave their rows in the document
    by row id (`keys["phase"][phase.pk] == ref`), for the parts after them to name those rows."""

    usernames: dict[int, str]
    keys: dict[str, dict[int, Any]] = field(default_factory=dict)

    def dump(self, row: models.Model, fields: Fields) -> dict:
        """The row's fields in their JSON form; lists and refs are left to the caller."""
        out = {}
        for name, kind in fields.items():
            if kind.derived:
                continue
            if kind.user:
                user_id = getattr(row, f"{name}_id")
                out[name] = self.usernames[user_id] if user_id else None
                continue
            value = getattr(row, name)
            out[name] = None if value is None else kind.dump(value)
        return out


@dataclass
class ImportContext:
    """One import. Reading: the usernames the document names and the keys that parts read
    (`keys["phase"]`, a set of refs), for the parts after them to check references. Writing:
    the users by username and the rows that parts wrote by their key in the document
    (`rows["phase"][ref]`); what the import did besides, as notes."""

    usernames: set[str] = field(default_factory=set)
    keys: dict[str, set] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, dict[Any, models.Model]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Times a default or `auto_now_add` overwrote on insert: model → [(row, {field: value})].
    kept_times: dict[type[models.Model], list[tuple[models.Model, dict]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    # Reading

    def read(self, obj: Any, fields: Fields, path: str) -> dict:
        """The values of `obj` (a JSON object) for `fields`, each checked: a missing field or
        one of the wrong form is refused, naming it. The users they name are noted."""
        if not isinstance(obj, dict):
            raise DocumentRefused(f"{path} must be an object.")
        values = {}
        for name, kind in fields.items():
            if name not in obj and kind.absent is not REQUIRED:
                values[name] = kind.absent
                continue
            if name not in obj:
                raise DocumentRefused(f"{path}: the field '{name}' is missing.")
            value = obj[name]
            if value is None and kind.nullable:
                values[name] = None
                continue
            try:
                values[name] = kind.load(value)
            except (ValueError, TypeError, OverflowError):
                raise DocumentRefused(
                    f"{path}.{name} must be {kind.what}, not {value!r:.80}."
                ) from None
            if kind.user:
                self.usernames.add(values[name])
        return values

    def read_list(self, obj: dict, name: str, path: str) -> list:
        """The list `obj` holds under `name`, refused if it is missing or not a list."""
        return self.read(obj, {name: LIST}, path)[name]

    def read_children(self, obj: dict, name: str, fields: Fields, path: str) -> list[dict]:
        """The rows of the list `obj[name]` (already read as a list), each read for `fields`."""
        return [self.read(row, fields, f"{path}.{name}[{i}]") for i, row in enumerate(obj[name])]

    # Writing

    def user(self, username: str | None):
        return self.users[username] if username else None

    def values(self, values: dict, fields: Fields) -> dict:
        """Model field values: users looked up, lists and refs left to the caller."""
        out = {}
        for name, kind in fields.items():
            if kind.derived:
                continue
            out[name] = self.user(values[name]) if kind.user else values[name]
        return out

    def save(self, row: models.Model, path: str, *, exclude=()) -> models.Model:
        """Check the row as a form would and save it; refused with the fields' messages."""
        try:
            row.full_clean(exclude=list(exclude))
        except ValidationError as error:
            raise DocumentRefused(f"{path}: {validation_messages(error)}") from None
        row.save()
        return row

    def keep_times(self, row: models.Model, values: dict) -> None:
        """Set the row's `values` (times a default overwrote on insert) again when the import
        ends, all rows of a model in one query."""
        self.kept_times[type(row)].append((row, values))

    def restore_kept_times(self) -> None:
        for model, rows in self.kept_times.items():
            names = list(rows[0][1])
            for row, values in rows:
                for name, value in values.items():
                    setattr(row, name, value)
            model.objects.bulk_update([row for row, _ in rows], names, batch_size=500)


def validation_messages(error: ValidationError) -> str:
    """A model's validation error as one line, each message after the field it concerns."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
