"""A risk register as CSV: export, and an import that checks every row before writing any."""

import csv
import io
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from projects.models import Project
from risks import services
from risks.models import Risk, RiskCategory, RiskStatus
from risks.scoring import level_from

COLUMNS = [
    "key",
    "title",
    "description",
    "category",
    "likelihood",
    "impact",
    "score",
    "status",
    "owner",
    "owner_title",
    "mitigation",
    "contingency",
    "review_by",
]
REQUIRED = {"title", "likelihood", "impact"}
IGNORED_ON_IMPORT = {"score"}  # derived; exported for reading, recomputed on import
MAX_BYTES = 2_000_000


class RegisterImportRefused(Exception):
    """The file was not imported; `problems` says why, row by row."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing was imported.")


def register_export_csv(*, risks) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for risk in risks:
        writer.writerow(
            [
                risk.key,
                risk.title,
                risk.description,
                risk.category,
                risk.likelihood,
                risk.impact,
                risk.likelihood * risk.impact,
                risk.status,
                risk.owner.username if risk.owner else "",
                risk.owner_title,
                risk.mitigation,
                risk.contingency,
                risk.review_by.isoformat() if risk.review_by else "",
            ]
        )
    return out.getvalue()


@dataclass
class _Row:
    number: int
    fields: dict


def _choice(value: str, choices, what: str) -> str:
    wanted = value.strip().lower()
    for stored, label in choices:
        if wanted in {stored.lower(), str(label).lower()}:
            return stored
    names = ", ".join(str(label) for _, label in choices)
    raise ValueError(f"{what} '{value}' is not one of: {names}")


def _date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"'{value.strip()}' is not a date; write it as year-month-day, such as 2027-03-31"
        ) from None


def _parse_row(number: int, raw: dict, users: dict) -> _Row:
    fields: dict = {}
    problems = []

    def check(name, parse):
        try:
            fields[name] = parse(raw.get(name, "") or "")
        except ValueError as error:
            problems.append(f"{name}: {error}")

    fields["key"] = (raw.get("key") or "").strip()
    fields["title"] = (raw.get("title") or "").strip()
    if not fields["title"]:
        problems.append("title: a risk needs a title")
    fields["description"] = raw.get("description") or ""
    check(
        "category",
        lambda v: _choice(v, RiskCategory.choices, "category") if v.strip() else "technical",
    )
    check("likelihood", level_from)
    check("impact", level_from)
    check("status", lambda v: _choice(v, RiskStatus.choices, "status") if v.strip() else "open")
    check("review_by", _date)

    def owner(v):
        if not v.strip():
            return None
        if v.strip() not in users:
            raise ValueError(f"no user called '{v.strip()}'")
        return users[v.strip()]

    check("owner", owner)
    for name in ("owner_title", "mitigation", "contingency"):
        fields[name] = raw.get(name) or ""
    if problems:
        raise ValueError("; ".join(problems))
    return _Row(number, fields)


def register_import_csv(*, project: Project, data: bytes, by) -> list[Risk]:
    """Add the file's risks to `project`'s register: all of them, or, if any row is bad,
    none, with every bad row reported."""
    if len(data) > MAX_BYTES:
        raise RegisterImportRefused([f"The file is larger than {MAX_BYTES // 1_000_000} MB."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegisterImportRefused(
            ["The file is not UTF-8 text; save it as CSV (UTF-8)."]
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise RegisterImportRefused(["The file is empty: the first line must name the columns."])
    reader.fieldnames = header
    unknown = set(header) - set(COLUMNS)
    missing = REQUIRED - set(header)
    problems = []
    if unknown:
        problems.append(
            f"Unknown column(s): {', '.join(sorted(unknown))}. Known: {', '.join(COLUMNS)}."
        )
    if missing:
        problems.append(f"Missing column(s): {', '.join(sorted(missing))}.")
    if problems:
        raise RegisterImportRefused(problems)

    users = {user.username: user for user in get_user_model().objects.filter(is_active=True)}
    existing = set(Risk.objects.filter(project=project).values_list("key", flat=True))
    seen_keys: dict[str, int] = {}
    rows = []
    for number, raw in enumerate(reader, start=2):  # line 1 is the header
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue
        if None in raw:
            problems.append(f"Row {number}: more values than columns.")
            continue
        try:
            row = _parse_row(number, raw, users)
        except ValueError as error:
            problems.append(f"Row {number}: {error}.")
            continue
        key = row.fields["key"]
        if key and key in existing:
            problems.append(f"Row {number}: key {key} is already in the register.")
        elif key and key in seen_keys:
            problems.append(f"Row {number}: key {key} is also on row {seen_keys[key]}.")
        elif key:
            seen_keys[key] = number
        rows.append(row)
    if not rows and not problems:
        problems.append("The file has no risks in it.")
    if problems:
        raise RegisterImportRefused(problems)

    created = []
    with transaction.atomic():
        for row in rows:
            try:
                created.append(
                    services.risk_create(
                        project=project, by=by, reason="Imported from CSV.", **row.fields
                    )
                )
            except (ValidationError, IntegrityError) as error:
                # A rule only the database knows: report it; leaving the block undoes the rest.
                messages = getattr(error, "messages", [str(error)])
                raise RegisterImportRefused([f"Row {row.number}: {'; '.join(messages)}"]) from error
    return created
