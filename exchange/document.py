"""A project and everything that belongs to it as one JSON document, and back.

The document (`{"format": "waymark-project", "version": 1, ...}`) names rows by natural keys
(usernames, the project's code, risk keys, KPI and gate names) and, where a row has none, by
its `ref`: its position among its kind in the document. Database ids never appear, so a file
exported from one installation imports into another.

Append-only records (risk assessments, measurements, sign-offs, gate audit entries) are
imported as they were: their times, signers and contents kept. A gate's audit trail is chained
by hashes over database ids, so the import writes each entry as exported and seals the chain
anew for the ids it was given; sign-offs keep the hash of the snapshot that was signed.
Metric sources travel without their secrets: a source that had one is imported switched off,
to be given its secret again. Header values and URL query parameters that look like
credentials, and user names and passwords in source URLs, are left out of the export; a source
that lost any is marked `credentials_removed` and imported switched off too. A derived source
whose input KPI was deleted says so (`{"missing": "kpi"}`) and comes back switched off, that
input pointing at no KPI.
"""

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from dashboards.models import StatusSnapshot
from gates.models import (
    AuditAction,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCriterion,
    GateDelegation,
    SignOff,
)
from gates.services import GENESIS, _entry_hash
from metrics.models import KPI, Measurement, MetricSource
from projects.models import ChecklistItem, Membership, Phase, Programme, Project
from risks.models import MitigationAction, Risk, RiskAssessment, RiskEscalation, RiskKeySequence

FORMAT = "waymark-project"
VERSION = 1


class ProjectNotImported(Exception):
    """The document cannot be imported; the message names what is wrong and where."""


# The kinds of value a field holds, each with its JSON form and a check of that form.


@dataclass(frozen=True)
class Kind:
    what: str  # how a message names the expected value
    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]  # raises ValueError for a value of the wrong form
    nullable: bool = False
    user: bool = False  # a user, written as their username
    derived: bool = False  # a list, a ref or a computed value: written and read by the caller


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
DATE_OR_NULL = Kind("a date (YYYY-MM-DD) or null", _iso, _date, nullable=True)
DATETIME = Kind("a date and time with its offset", _iso, _datetime)
DATETIME_OR_NULL = Kind("a date and time with its offset, or null", _iso, _datetime, True)
DECIMAL = Kind("a decimal number written as text", str, _decimal)
DURATION = Kind("a number of seconds", lambda value: value.total_seconds(), _duration)
OBJECT = Kind("an object", _same, _object)
JSON_LIST = Kind("a list", _same, _list)
LIST = Kind("a list", _same, _list, derived=True)
TEXT_OR_NULL = Kind("text or null", _same, _text, nullable=True)
USER = Kind("a username", _same, _text, user=True)
USER_OR_NULL = Kind("a username or null", _same, _text, nullable=True, user=True)
REF = Kind("a whole number", _same, _integer, derived=True)
REF_OR_NULL = Kind("a whole number or null", _same, _integer, nullable=True, derived=True)
NAME_OR_NULL = Kind("text or null", _same, _text, nullable=True, derived=True)
FLAG = Kind("true or false", _same, _boolean, derived=True)
SETTINGS = Kind("an object", _same, _object, derived=True)


# What is exported of each model: field name → kind. References to other rows of the project
# (phases, KPIs, sources, criteria, sign-offs) are written and read where the rows are.

PROGRAMME_FIELDS = {"slug": TEXT, "name": TEXT}
PROJECT_FIELDS = {
    "code": TEXT,
    "name": TEXT,
    "summary": TEXT,
    "approach": TEXT,
    "approach_rationale": TEXT,
    "status": TEXT,
    "manager": USER_OR_NULL,
    "manager_name": TEXT,
    "stakeholders": TEXT,
    "target_delivery": DATE_OR_NULL,
    "baseline_start": DATE_OR_NULL,
    "baseline_end": DATE_OR_NULL,
    "forecast_end": DATE_OR_NULL,
    "budget_planned": DECIMAL,
    "budget_spent": DECIMAL,
    "currency": TEXT,
    "notes": TEXT,
    "created_at": DATETIME,
}
MEMBERSHIP_FIELDS = {"user": USER, "role": TEXT, "created_at": DATETIME}
PHASE_FIELDS = {
    "ref": REF,
    "order": INTEGER,
    "name": TEXT,
    "timing": TEXT,
    "goal": TEXT,
    "baseline_start": DATE_OR_NULL,
    "baseline_end": DATE_OR_NULL,
    "forecast_start": DATE_OR_NULL,
    "forecast_end": DATE_OR_NULL,
    "actual_end": DATE_OR_NULL,
    "status": TEXT,
    "resource_needs": TEXT,
    "success_criteria": TEXT,
    "deleted_at": DATETIME_OR_NULL,
    "checklist": LIST,
}
CHECKLIST_ITEM_FIELDS = {
    "order": INTEGER,
    "kind": TEXT,
    "section": TEXT,
    "title": TEXT,
    "detail": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "due": DATE_OR_NULL,
    "done": BOOLEAN,
    "done_at": DATETIME_OR_NULL,
    "done_by": USER_OR_NULL,
    "deleted_at": DATETIME_OR_NULL,
}
RISK_FIELDS = {
    "key": TEXT,
    "title": TEXT,
    "description": TEXT,
    "category": TEXT,
    "likelihood": INTEGER,
    "impact": INTEGER,
    "mitigation": TEXT,
    "contingency": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "status": TEXT,
    "review_by": DATE_OR_NULL,
    "created_at": DATETIME,
    "assessments": LIST,
    "actions": LIST,
    "escalations": LIST,
}
RISK_ASSESSMENT_FIELDS = {
    "assessed_at": DATETIME,
    "assessed_by": USER_OR_NULL,
    "likelihood": INTEGER,
    "impact": INTEGER,
    "status": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "reason": TEXT,
}
MITIGATION_ACTION_FIELDS = {
    "order": INTEGER,
    "title": TEXT,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "due": DATE_OR_NULL,
    "done": BOOLEAN,
    "done_at": DATETIME_OR_NULL,
    "done_by": USER_OR_NULL,
    "reduces_likelihood_to": INTEGER_OR_NULL,
    "reduces_impact_to": INTEGER_OR_NULL,
}
RISK_ESCALATION_FIELDS = {
    "reason": TEXT,
    "detail": TEXT,
    "escalated_at": DATETIME,
    "resolved_at": DATETIME_OR_NULL,
}
KPI_FIELDS = {
    "name": TEXT,
    "phase": REF_OR_NULL,
    "description": TEXT,
    "kind": TEXT,
    "category": TEXT,
    "unit": TEXT,
    "baseline_value": NUMBER_OR_NULL,
    "baseline_text": TEXT,
    "comparator": TEXT_OR_NULL,
    "target_value": NUMBER_OR_NULL,
    "target_value_high": NUMBER_OR_NULL,
    "warning_value": NUMBER_OR_NULL,
    "target_text": TEXT,
    "method": TEXT,
    "cadence": DURATION,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "critical": BOOLEAN,
    "sustain_values": INTEGER_OR_NULL,
    "status": TEXT,
    "status_changed_at": DATETIME_OR_NULL,
    "created_at": DATETIME,
    "sources": LIST,
    "measurements": LIST,
}
METRIC_SOURCE_FIELDS = {
    "ref": REF,
    "kind": TEXT,
    "config": SETTINGS,
    "secret_set": FLAG,
    "interval": DURATION,
    "is_active": BOOLEAN,
    "next_due_at": DATETIME_OR_NULL,
    "health": TEXT,
    "last_success_at": DATETIME_OR_NULL,
    "last_error": TEXT,
    "last_error_at": DATETIME_OR_NULL,
    "consecutive_failures": INTEGER,
    "created_at": DATETIME,
}
MEASUREMENT_FIELDS = {
    "at": DATETIME,
    "value": NUMBER,
    "source": REF_OR_NULL,
    "partial": BOOLEAN,
    "note": TEXT,
    "recorded_by": USER_OR_NULL,
    "recorded_at": DATETIME,
    "slot": DATETIME_OR_NULL,
}
GATE_FIELDS = {
    "name": TEXT,
    "order": INTEGER,
    "phase": REF_OR_NULL,
    "description": TEXT,
    "kind": TEXT,
    "rollout_percent": INTEGER_OR_NULL,
    "timing": TEXT,
    "due_date": DATE_OR_NULL,
    "state": TEXT,
    "decision": TEXT_OR_NULL,
    "decided_at": DATETIME_OR_NULL,
    "decision_rule": TEXT,
    "quorum": INTEGER_OR_NULL,
    "rollback_recommended_at": DATETIME_OR_NULL,
    "rollback_reason": TEXT,
    "created_at": DATETIME,
    "criteria": LIST,
    "approvers": LIST,
    "delegations": LIST,
    "signoffs": LIST,
    "audit": LIST,
}
GATE_CRITERION_FIELDS = {
    "ref": REF,
    "order": INTEGER,
    "text": TEXT,
    "kind": TEXT,
    "critical": BOOLEAN,
    "kpi": NAME_OR_NULL,
    "comparator": TEXT_OR_NULL,
    "threshold": NUMBER_OR_NULL,
    "threshold_high": NUMBER_OR_NULL,
    "phase": REF_OR_NULL,
    "conditional_limit": NUMBER_OR_NULL,
    "rollback": BOOLEAN,
    "attested_by": USER_OR_NULL,
    "attested_at": DATETIME_OR_NULL,
}
GATE_APPROVER_FIELDS = {"title": TEXT, "user": USER_OR_NULL, "role": TEXT}
GATE_DELEGATION_FIELDS = {
    "delegator": USER,
    "delegate": USER,
    "starts_at": DATETIME,
    "ends_at": DATETIME,
    "created_at": DATETIME,
}
SIGNOFF_FIELDS = {
    "ref": REF,
    "signer": USER,
    "decision": TEXT,
    "conditions": TEXT,
    "comment": TEXT,
    "signed_at": DATETIME,
    "content_hash": TEXT,
    "on_behalf_of": USER_OR_NULL,
    "invalidated_at": DATETIME_OR_NULL,
    "invalidated_reason": TEXT,
}
AUDIT_ENTRY_FIELDS = {
    "sequence": INTEGER,
    "at": DATETIME,
    "actor": USER_OR_NULL,
    "action": TEXT,
    "before": OBJECT,
    "after": OBJECT,
}
STATUS_SNAPSHOT_FIELDS = {
    "taken_on": Kind("a date (YYYY-MM-DD)", _iso, _date),
    "rag": TEXT,
    "reasons": JSON_LIST,
    "percent_complete": NUMBER_OR_NULL,
    "schedule_days": INTEGER_OR_NULL,
    "budget_percent": NUMBER_OR_NULL,
    "kpis_breached": INTEGER,
    "critical_risks": INTEGER,
}
# Fields a database default or `auto_now_add` would overwrite on insert: set again after it.
KEPT_TIMES = {
    Project: ["created_at"],
    Membership: ["created_at"],
    Risk: ["created_at"],
    KPI: ["created_at"],
    MetricSource: ["created_at"],
    Measurement: ["recorded_at"],
    Gate: ["created_at"],
    GateDelegation: ["created_at"],
}

# Audit entries name rows by id inside what they record; these keys are rewritten to natural
# keys and back. Entries describing a criterion or an approver hold their ids as text.
DESCRIBED_ACTIONS = {AuditAction.CRITERION_CHANGED, AuditAction.APPROVER_CHANGED}
AUDIT_REFERENCES = {
    "signer": "user",
    "on_behalf_of": "user",
    "delegator": "user",
    "delegate": "user",
    "user": "user",
    "attested_by": "user",
    "signoff": "signoff",
    "criterion": "criterion",
    "kpi": "kpi",
    "phase": "phase",
}
# Header names whose values are credentials, left out of an exported source's configuration.
CREDENTIAL_HEADER = re.compile(r"auth|token|key|secret|passw|cookie|session", re.IGNORECASE)
# Names of URL query parameters whose values are credentials (API keys, tokens, passwords, the
# signatures of signed URLs), left out of an exported source's URL.
CREDENTIAL_PARAMETER = re.compile(
    r"auth|token|key|secret|passw|^pwd$|^pass$|cookie|session|signature|^sig$|credential",
    re.IGNORECASE,
)
# What a derived source's input whose KPI was deleted is imported as: an id no KPI has, as
# autoincrementing keys start at 1.
DANGLING_KPI_ID = 0


# Export


def _dump_row(row: models.Model, fields: dict[str, Kind], usernames: dict[int, str]) -> dict:
    out = {}
    for name, kind in fields.items():
        if kind.derived:
            continue
        if kind.user:
            user_id = getattr(row, f"{name}_id")
            out[name] = usernames[user_id] if user_id else None
            continue
        value = getattr(row, name)
        out[name] = None if value is None else kind.dump(value)
    return out


def _url_without_credentials(url: str) -> tuple[str, bool]:
    """`url` less the user name and password before its host and the query parameters that
    look like credentials, and whether any was there. The parameters kept keep their text."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    kept, removed = [], bool(userinfo)
    for pair in parts.query.split("&") if parts.query else []:
        if CREDENTIAL_PARAMETER.search(unquote_plus(pair.partition("=")[0])):
            removed = True
        else:
            kept.append(pair)
    if not (at or removed):
        return url, False
    return urlunsplit(parts._replace(netloc=host, query="&".join(kept))), removed


def _exported_config(
    source: MetricSource, kpi_names: dict[int, tuple[str, str]], code: str
) -> tuple[dict, bool]:
    """The source's configuration without credentials, and whether it had any; a derived
    source's inputs by KPI name."""
    config = dict(source.config)
    removed = False
    if isinstance(config.get("url"), str):
        config["url"], removed = _url_without_credentials(config["url"])
    if isinstance(config.get("headers"), dict):
        headers = {
            name: value
            for name, value in config["headers"].items()
            if not CREDENTIAL_HEADER.search(str(name))
        }
        removed = removed or len(headers) < len(config["headers"])
        config["headers"] = headers
    if source.kind == "derived" and isinstance(config.get("inputs"), dict):
        inputs = {}
        for name, kpi_id in config["inputs"].items():
            project_code, kpi_name = kpi_names.get(kpi_id, (None, None))
            if kpi_name is None:
                inputs[name] = {"missing": "kpi"}
            elif project_code == code:
                inputs[name] = {"kpi": kpi_name}
            else:
                inputs[name] = {"project": project_code, "kpi": kpi_name}
        config["inputs"] = inputs
    return config, removed


def _audit_payload_out(payload: dict, *, described: bool, names: dict[str, dict]) -> dict:
    out = {}
    for key, value in payload.items():
        target = AUDIT_REFERENCES.get(key)
        row_id = None
        if target and isinstance(value, int) and not isinstance(value, bool) and not described:
            row_id = value
        elif target and described and isinstance(value, str) and value.isdigit():
            row_id = int(value)
        if row_id is None:
            out[key] = value
        else:
            natural = names[target].get(row_id)
            out[key] = {target: natural} if natural is not None else {"missing": target}
    return out


def project_export(*, project: Project) -> dict:
    """The project and everything that belongs to it, as a JSON-ready dict."""
    User = get_user_model()
    usernames = dict(User.objects.values_list("pk", User.USERNAME_FIELD))
    phases = list(project.phases.order_by("order", "pk"))
    phase_refs = {phase.pk: ref for ref, phase in enumerate(phases, start=1)}
    items_by_phase = defaultdict(list)
    for item in ChecklistItem.objects.filter(phase__project=project).order_by("order", "pk"):
        items_by_phase[item.phase_id].append(item)

    risks = list(project.risks.order_by("key"))
    assessments, actions, escalations = defaultdict(list), defaultdict(list), defaultdict(list)
    for row in RiskAssessment.objects.filter(risk__project=project).order_by("assessed_at", "pk"):
        assessments[row.risk_id].append(row)
    for row in MitigationAction.objects.filter(risk__project=project).order_by("order", "pk"):
        actions[row.risk_id].append(row)
    for row in RiskEscalation.objects.filter(risk__project=project).order_by("escalated_at", "pk"):
        escalations[row.risk_id].append(row)
    key_sequence = RiskKeySequence.objects.filter(project=project).first()

    kpis = list(project.kpis.order_by("name"))
    kpi_names = {
        pk: (code, name)
        for pk, code, name in KPI.objects.filter(
            project__programme=project.programme_id
        ).values_list("pk", "project__code", "name")
    }
    sources_by_kpi = defaultdict(list)
    for source in MetricSource.objects.filter(kpi__project=project).order_by("pk"):
        sources_by_kpi[source.kpi_id].append(source)
    source_refs = {
        source.pk: ref
        for sources in sources_by_kpi.values()
        for ref, source in enumerate(sources, start=1)
    }
    measurements_by_kpi = defaultdict(list)
    for row in Measurement.objects.filter(kpi__project=project).order_by("kpi", "at"):
        measurements_by_kpi[row.kpi_id].append(row)

    gates = list(project.gates.order_by("order", "name"))
    criteria, approvers, delegations, signoffs, audit = (defaultdict(list) for _ in range(5))
    for row in GateCriterion.objects.filter(gate__project=project).order_by("order", "pk"):
        criteria[row.gate_id].append(row)
    for row in GateApprover.objects.filter(gate__project=project).order_by("pk"):
        approvers[row.gate_id].append(row)
    for row in GateDelegation.objects.filter(gate__project=project).order_by("starts_at", "pk"):
        delegations[row.gate_id].append(row)
    for row in SignOff.objects.filter(gate__project=project).order_by("signed_at", "pk"):
        signoffs[row.gate_id].append(row)
    for row in GateAuditEntry.objects.filter(gate__project=project).order_by("sequence"):
        audit[row.gate_id].append(row)

    def phase_out(phase):
        return {
            "ref": phase_refs[phase.pk],
            **_dump_row(phase, PHASE_FIELDS, usernames),
            "checklist": [
                _dump_row(item, CHECKLIST_ITEM_FIELDS, usernames)
                for item in items_by_phase[phase.pk]
            ],
        }

    def risk_out(risk):
        return {
            **_dump_row(risk, RISK_FIELDS, usernames),
            "assessments": [
                _dump_row(row, RISK_ASSESSMENT_FIELDS, usernames) for row in assessments[risk.pk]
            ],
            "actions": [
                _dump_row(row, MITIGATION_ACTION_FIELDS, usernames) for row in actions[risk.pk]
            ],
            "escalations": [
                _dump_row(row, RISK_ESCALATION_FIELDS, usernames) for row in escalations[risk.pk]
            ],
        }

    def source_out(source):
        config, credentials_removed = _exported_config(source, kpi_names, project.code)
        return {
            **_dump_row(source, METRIC_SOURCE_FIELDS, usernames),
            "ref": source_refs[source.pk],
            "config": config,
            "secret_set": bool(source.secret),
            "credentials_removed": credentials_removed,
        }

    def kpi_out(kpi):
        return {
            **_dump_row(kpi, KPI_FIELDS, usernames),
            "phase": phase_refs.get(kpi.phase_id),
            "sources": [source_out(source) for source in sources_by_kpi[kpi.pk]],
            "measurements": [
                {
                    **_dump_row(row, MEASUREMENT_FIELDS, usernames),
                    "source": source_refs.get(row.source_id),
                }
                for row in measurements_by_kpi[kpi.pk]
            ],
        }

    def gate_out(gate):
        criterion_refs = {row.pk: ref for ref, row in enumerate(criteria[gate.pk], start=1)}
        signoff_refs = {row.pk: ref for ref, row in enumerate(signoffs[gate.pk], start=1)}
        names = {
            "user": usernames,
            "signoff": signoff_refs,
            "criterion": criterion_refs,
            "kpi": {pk: name for pk, (code, name) in kpi_names.items() if code == project.code},
            "phase": phase_refs,
        }
        return {
            **_dump_row(gate, GATE_FIELDS, usernames),
            "phase": phase_refs.get(gate.phase_id),
            "criteria": [
                {
                    "ref": criterion_refs[row.pk],
                    **_dump_row(row, GATE_CRITERION_FIELDS, usernames),
                    "kpi": names["kpi"].get(row.kpi_id),
                    "phase": phase_refs.get(row.phase_id),
                }
                for row in criteria[gate.pk]
            ],
            "approvers": [
                _dump_row(row, GATE_APPROVER_FIELDS, usernames) for row in approvers[gate.pk]
            ],
            "delegations": [
                _dump_row(row, GATE_DELEGATION_FIELDS, usernames) for row in delegations[gate.pk]
            ],
            "signoffs": [
                {"ref": signoff_refs[row.pk], **_dump_row(row, SIGNOFF_FIELDS, usernames)}
                for row in signoffs[gate.pk]
            ],
            "audit": [
                {
                    **_dump_row(row, AUDIT_ENTRY_FIELDS, usernames),
                    "before": _audit_payload_out(
                        row.before, described=row.action in DESCRIBED_ACTIONS, names=names
                    ),
                    "after": _audit_payload_out(
                        row.after, described=row.action in DESCRIBED_ACTIONS, names=names
                    ),
                }
                for row in audit[gate.pk]
            ],
        }

    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "programme": _dump_row(project.programme, PROGRAMME_FIELDS, usernames),
        "project": _dump_row(project, PROJECT_FIELDS, usernames),
        "memberships": [
            _dump_row(row, MEMBERSHIP_FIELDS, usernames)
            for row in project.memberships.select_related("user").order_by("user__username")
        ],
        "phases": [phase_out(phase) for phase in phases],
        "risk_key_last_number": key_sequence.last_number if key_sequence else 0,
        "risks": [risk_out(risk) for risk in risks],
        "kpis": [kpi_out(kpi) for kpi in kpis],
        "gates": [gate_out(gate) for gate in gates],
        "status_snapshots": [
            _dump_row(row, STATUS_SNAPSHOT_FIELDS, usernames)
            for row in project.snapshots.order_by("taken_on")
        ],
    }


# Import: read and check the whole document first, then write it in one transaction.


def _read(obj, fields: dict[str, Kind], path: str) -> dict:
    """The values of `obj` (a JSON object) for `fields`, each checked: a missing field or one
    of the wrong form is refused, naming it."""
    if not isinstance(obj, dict):
        raise ProjectNotImported(f"{path} must be an object.")
    values = {}
    for name, kind in fields.items():
        if name not in obj:
            raise ProjectNotImported(f"{path}: the field '{name}' is missing.")
        value = obj[name]
        if value is None and kind.nullable:
            values[name] = None
            continue
        try:
            values[name] = kind.load(value)
        except (ValueError, TypeError, OverflowError):
            raise ProjectNotImported(
                f"{path}.{name} must be {kind.what}, not {value!r:.80}."
            ) from None
    return values


def _usernames_in(obj, fields: dict[str, Kind]) -> set[str]:
    return {obj[name] for name, kind in fields.items() if kind.user and isinstance(obj[name], str)}


def _source_to_do(row: dict, dangling: list[str]) -> list[str]:
    """What an imported source needs before it can be polled: the secret and credentials the
    export left out, KPIs for the inputs whose KPI was deleted. A source needing any is
    imported switched off."""
    to_do = []
    left_out = "the credentials left out of its headers or URL"
    if row["secret_set"] and row["credentials_removed"]:
        to_do.append(f"give it its secret and {left_out} again")
    elif row["secret_set"]:
        to_do.append("give it its secret again")
    elif row["credentials_removed"]:
        to_do.append(f"give it {left_out} again")
    if dangling:
        to_do.append(f"point its input(s) {', '.join(dangling)} at a KPI (theirs was deleted)")
    return to_do


class _Import:
    """One import: the document as read, the users it names, and the rows written so far."""

    def __init__(self, data, *, code, programme_slug, create_missing_users):
        self.data = data
        self.code = code
        self.programme_slug = programme_slug
        self.create_missing_users = create_missing_users
        self.users: dict[str, Any] = {}
        self.notes: list[str] = []
        self.usernames: set[str] = set()

    # Reading

    def read(self) -> dict:
        data = self.data
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
        doc = {
            "programme": _read(data.get("programme"), PROGRAMME_FIELDS, "programme"),
            "project": self._user_fields(data.get("project"), PROJECT_FIELDS, "project"),
            "risk_key_last_number": _read(data, {"risk_key_last_number": INTEGER}, "the document")[
                "risk_key_last_number"
            ],
        }
        for name in (
            "memberships",
            "phases",
            "risks",
            "kpis",
            "gates",
            "status_snapshots",
        ):
            _read(data, {name: LIST}, "the document")
        doc["memberships"] = [
            self._user_fields(row, MEMBERSHIP_FIELDS, f"memberships[{i}]")
            for i, row in enumerate(data["memberships"])
        ]
        doc["phases"] = [
            self._read_phase(row, f"phases[{i}]") for i, row in enumerate(data["phases"])
        ]
        refs = [phase["ref"] for phase in doc["phases"]]
        if len(set(refs)) != len(refs):
            raise ProjectNotImported("phases: two phases have the same 'ref'.")
        self.phase_refs = set(refs)
        doc["risks"] = [self._read_risk(row, f"risks[{i}]") for i, row in enumerate(data["risks"])]
        doc["kpis"] = [self._read_kpi(row, f"kpis[{i}]") for i, row in enumerate(data["kpis"])]
        self.kpi_names = {kpi["name"] for kpi in doc["kpis"]}
        doc["gates"] = [self._read_gate(row, f"gates[{i}]") for i, row in enumerate(data["gates"])]
        doc["status_snapshots"] = [
            _read(row, STATUS_SNAPSHOT_FIELDS, f"status_snapshots[{i}]")
            for i, row in enumerate(data["status_snapshots"])
        ]
        return doc

    def _user_fields(self, obj, fields, path) -> dict:
        values = _read(obj, fields, path)
        self.usernames |= _usernames_in(values, fields)
        return values

    def _children(self, obj, name, fields, path) -> list[dict]:
        return [
            self._user_fields(row, fields, f"{path}.{name}[{i}]") for i, row in enumerate(obj[name])
        ]

    def _read_phase(self, obj, path) -> dict:
        phase = self._user_fields(obj, PHASE_FIELDS, path)
        phase["checklist"] = self._children(phase, "checklist", CHECKLIST_ITEM_FIELDS, path)
        return phase

    def _read_risk(self, obj, path) -> dict:
        risk = self._user_fields(obj, RISK_FIELDS, path)
        risk["assessments"] = self._children(risk, "assessments", RISK_ASSESSMENT_FIELDS, path)
        risk["actions"] = self._children(risk, "actions", MITIGATION_ACTION_FIELDS, path)
        risk["escalations"] = self._children(risk, "escalations", RISK_ESCALATION_FIELDS, path)
        return risk

    def _phase_ref(self, ref, path):
        if ref is not None and ref not in self.phase_refs:
            raise ProjectNotImported(f"{path}: no phase has the ref {ref}.")

    def _read_kpi(self, obj, path) -> dict:
        kpi = self._user_fields(obj, KPI_FIELDS, path)
        self._phase_ref(kpi["phase"], f"{path}.phase")
        kpi["sources"] = self._children(kpi, "sources", METRIC_SOURCE_FIELDS, path)
        for i, (source, raw) in enumerate(zip(kpi["sources"], obj["sources"], strict=True)):
            # Absent from files written before credentials were marked: none was marked then.
            removed = raw.get("credentials_removed", False)
            if not isinstance(removed, bool):
                raise ProjectNotImported(
                    f"{path}.sources[{i}].credentials_removed must be true or false, "
                    f"not {removed!r:.80}."
                )
            source["credentials_removed"] = removed
        source_refs = {source["ref"] for source in kpi["sources"]}
        if len(source_refs) != len(kpi["sources"]):
            raise ProjectNotImported(f"{path}.sources: two sources have the same 'ref'.")
        kpi["measurements"] = self._children(kpi, "measurements", MEASUREMENT_FIELDS, path)
        for i, row in enumerate(kpi["measurements"]):
            if row["source"] is not None and row["source"] not in source_refs:
                raise ProjectNotImported(
                    f"{path}.measurements[{i}].source: the KPI has no source with the ref "
                    f"{row['source']}."
                )
        return kpi

    def _read_gate(self, obj, path) -> dict:
        gate = self._user_fields(obj, GATE_FIELDS, path)
        self._phase_ref(gate["phase"], f"{path}.phase")
        gate["criteria"] = self._children(gate, "criteria", GATE_CRITERION_FIELDS, path)
        for i, row in enumerate(gate["criteria"]):
            self._phase_ref(row["phase"], f"{path}.criteria[{i}].phase")
            if row["kpi"] is not None and row["kpi"] not in self.kpi_names:
                raise ProjectNotImported(
                    f"{path}.criteria[{i}].kpi: the project has no KPI named {row['kpi']!r}."
                )
        gate["approvers"] = self._children(gate, "approvers", GATE_APPROVER_FIELDS, path)
        gate["delegations"] = self._children(gate, "delegations", GATE_DELEGATION_FIELDS, path)
        gate["signoffs"] = self._children(gate, "signoffs", SIGNOFF_FIELDS, path)
        gate["audit"] = self._children(gate, "audit", AUDIT_ENTRY_FIELDS, path)
        sequences = [entry["sequence"] for entry in gate["audit"]]
        if sequences != list(range(1, len(sequences) + 1)):
            raise ProjectNotImported(
                f"{path}.audit: the entries must be numbered 1, 2, 3, … in order, without gaps."
            )
        for entry in gate["audit"]:
            for side in ("before", "after"):
                for value in entry[side].values():
                    if isinstance(value, dict) and value.get("user"):
                        self.usernames.add(value["user"])
        return gate

    # Users

    def resolve_users(self) -> None:
        User = get_user_model()
        found = {
            user.get_username(): user
            for user in User.objects.filter(**{f"{User.USERNAME_FIELD}__in": self.usernames})
        }
        missing = sorted(self.usernames - set(found))
        if missing and not self.create_missing_users:
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
            self.notes.append(
                f"Added {len(missing)} inactive placeholder user(s): {', '.join(missing)}."
            )
        self.users = found

    def user(self, username):
        return self.users[username] if username else None

    # Writing

    def _values(self, values: dict, fields: dict[str, Kind]) -> dict:
        """Model field values: users looked up, lists and refs left to the caller."""
        out = {}
        for name, kind in fields.items():
            if kind.derived:
                continue
            out[name] = self.user(values[name]) if kind.user else values[name]
        return out

    def _save(self, row: models.Model, path: str, *, exclude=()) -> models.Model:
        try:
            row.full_clean(exclude=list(exclude))
        except ValidationError as error:
            raise ProjectNotImported(f"{path}: {_messages(error)}") from None
        row.save()
        return row

    def write(self, doc: dict) -> Project:
        programme = self._programme(doc["programme"])
        fields = self._values(doc["project"], PROJECT_FIELDS)
        fields["code"] = self.code or fields["code"]
        if Project.objects.filter(programme=programme, code=fields["code"]).exists():
            raise ProjectNotImported(
                f"The programme '{programme.slug}' already has a project with the code "
                f"'{fields['code']}'; give the import another with --code."
            )
        project = self._save(Project(programme=programme, **fields), "project")
        kept = defaultdict(list)  # model → [(row, {field: value})]
        kept[Project].append((project, fields))

        for i, values in enumerate(doc["memberships"]):
            fields = self._values(values, MEMBERSHIP_FIELDS)
            row = self._save(Membership(project=project, **fields), f"memberships[{i}]")
            kept[Membership].append((row, fields))

        phases = {}
        for i, values in enumerate(doc["phases"]):
            path = f"phases[{i}]"
            phase = self._save(Phase(project=project, **self._values(values, PHASE_FIELDS)), path)
            phases[values["ref"]] = phase
            for j, item in enumerate(values["checklist"]):
                fields = self._values(item, CHECKLIST_ITEM_FIELDS)
                self._save(ChecklistItem(phase=phase, **fields), f"{path}.checklist[{j}]")

        for i, values in enumerate(doc["risks"]):
            self._write_risk(project, values, f"risks[{i}]", kept)
        RiskKeySequence.objects.update_or_create(
            project=project, defaults={"last_number": doc["risk_key_last_number"]}
        )

        kpis, sources = {}, {}
        for i, values in enumerate(doc["kpis"]):
            fields = self._values(values, KPI_FIELDS)
            fields["phase"] = phases.get(values["phase"])
            kpi = self._save(KPI(project=project, **fields), f"kpis[{i}]")
            kpis[values["name"]] = kpi
            kept[KPI].append((kpi, fields))
        for i, values in enumerate(doc["kpis"]):
            self._sources_and_measurements(project, kpis, values, f"kpis[{i}]", sources, kept)

        for i, values in enumerate(doc["gates"]):
            self._write_gate(project, values, f"gates[{i}]", phases, kpis, kept)

        for i, values in enumerate(doc["status_snapshots"]):
            fields = self._values(values, STATUS_SNAPSHOT_FIELDS)
            self._save(StatusSnapshot(project=project, **fields), f"status_snapshots[{i}]")

        for model, rows in kept.items():
            for row, fields in rows:
                for name in KEPT_TIMES[model]:
                    setattr(row, name, fields[name])
            model.objects.bulk_update([row for row, _ in rows], KEPT_TIMES[model], batch_size=500)
        return project

    def _programme(self, exported: dict) -> Programme:
        if self.programme_slug:
            programme = Programme.objects.filter(slug=self.programme_slug).first()
            if programme is None:
                raise ProjectNotImported(f"No programme with the slug '{self.programme_slug}'.")
            return programme
        programme = Programme.objects.filter(slug=exported["slug"]).first()
        if programme is None:
            programme = self._save(Programme(**exported), "programme")
            self.notes.append(f"Added the programme '{programme.slug}'.")
        return programme

    def _write_risk(self, project, values, path, kept) -> None:
        fields = self._values(values, RISK_FIELDS)
        risk = self._save(Risk(project=project, **fields), path)
        kept[Risk].append((risk, fields))
        for j, row in enumerate(values["assessments"]):
            self._save(
                RiskAssessment(risk=risk, **self._values(row, RISK_ASSESSMENT_FIELDS)),
                f"{path}.assessments[{j}]",
            )
        for j, row in enumerate(values["actions"]):
            self._save(
                MitigationAction(risk=risk, **self._values(row, MITIGATION_ACTION_FIELDS)),
                f"{path}.actions[{j}]",
            )
        for j, row in enumerate(values["escalations"]):
            self._save(
                RiskEscalation(risk=risk, **self._values(row, RISK_ESCALATION_FIELDS)),
                f"{path}.escalations[{j}]",
            )

    def _imported_config(self, project, kpis, config: dict, path: str) -> tuple[dict, list]:
        """The configuration with a derived source's inputs as KPI ids, and the names of the
        inputs whose KPI had been deleted where the file was exported."""
        config = dict(config)
        if not isinstance(config.get("inputs"), dict):
            return config, []
        inputs, dangling = {}, []
        for name, ref in config["inputs"].items():
            if ref == {"missing": "kpi"}:
                inputs[name] = DANGLING_KPI_ID
                dangling.append(name)
                continue
            if not isinstance(ref, dict) or not isinstance(ref.get("kpi"), str):
                raise ProjectNotImported(
                    f'{path}.config.inputs.{name} must name a KPI: {{"kpi": "name"}}, '
                    f'or say that its KPI was deleted: {{"missing": "kpi"}}.'
                )
            if ref.get("project") in (None, project.code):
                kpi = kpis.get(ref["kpi"])
            else:
                kpi = KPI.objects.filter(
                    project__programme=project.programme,
                    project__code=ref["project"],
                    name=ref["kpi"],
                ).first()
            if kpi is None:
                where = f"project {ref['project']}" if ref.get("project") else "the project"
                raise ProjectNotImported(
                    f"{path}.config.inputs.{name}: {where} has no KPI named {ref['kpi']!r}."
                )
            inputs[name] = kpi.pk
        config["inputs"] = inputs
        return config, dangling

    def _sources_and_measurements(self, project, kpis, values, path, sources, kept) -> None:
        kpi = kpis[values["name"]]
        by_ref = {}
        for j, row in enumerate(values["sources"]):
            source_path = f"{path}.sources[{j}]"
            fields = self._values(row, METRIC_SOURCE_FIELDS)
            fields["config"], dangling = self._imported_config(
                project, kpis, row["config"], source_path
            )
            to_do = _source_to_do(row, dangling)
            if to_do and fields["is_active"]:
                fields["is_active"] = False
                self.notes.append(
                    f"The {row['kind']} source of the KPI '{kpi.name}' was imported switched "
                    f"off: {'; '.join(to_do)}, then switch it on."
                )
            source = self._save(MetricSource(kpi=kpi, **fields), source_path)
            by_ref[row["ref"]] = source
            kept[MetricSource].append((source, fields))
        rows = []
        for row in values["measurements"]:
            fields = self._values(row, MEASUREMENT_FIELDS)
            fields["source"] = by_ref.get(row["source"])
            rows.append((Measurement(kpi=kpi, **fields), fields))
        try:
            with transaction.atomic():
                Measurement.objects.bulk_create([row for row, _ in rows], batch_size=1000)
        except IntegrityError:
            raise ProjectNotImported(
                f"{path}.measurements: two values share a moment (or a source and slot); "
                "a KPI has one value a moment."
            ) from None
        kept[Measurement].extend(rows)

    def _write_gate(self, project, values, path, phases, kpis, kept) -> None:
        fields = self._values(values, GATE_FIELDS)
        fields["phase"] = phases.get(values["phase"])
        gate = self._save(Gate(project=project, **fields), path)
        kept[Gate].append((gate, fields))
        criteria = {}
        for j, row in enumerate(values["criteria"]):
            fields = self._values(row, GATE_CRITERION_FIELDS)
            fields["kpi"] = kpis.get(row["kpi"])
            fields["phase"] = phases.get(row["phase"])
            criteria[row["ref"]] = self._save(
                GateCriterion(gate=gate, **fields), f"{path}.criteria[{j}]"
            )
        for j, row in enumerate(values["approvers"]):
            self._save(
                GateApprover(gate=gate, **self._values(row, GATE_APPROVER_FIELDS)),
                f"{path}.approvers[{j}]",
            )
        for j, row in enumerate(values["delegations"]):
            fields = self._values(row, GATE_DELEGATION_FIELDS)
            delegation = self._save(GateDelegation(gate=gate, **fields), f"{path}.delegations[{j}]")
            kept[GateDelegation].append((delegation, fields))
        signoffs = {}
        for j, row in enumerate(values["signoffs"]):
            signoffs[row["ref"]] = self._save(
                SignOff(gate=gate, **self._values(row, SIGNOFF_FIELDS)), f"{path}.signoffs[{j}]"
            )
        ids = {
            "user": {name: user.pk for name, user in self.users.items()},
            "signoff": {ref: row.pk for ref, row in signoffs.items()},
            "criterion": {ref: row.pk for ref, row in criteria.items()},
            "kpi": {name: kpi.pk for name, kpi in kpis.items()},
            "phase": {ref: phase.pk for ref, phase in phases.items()},
        }
        previous = GENESIS
        for j, row in enumerate(values["audit"]):
            entry_path = f"{path}.audit[{j}]"
            described = row["action"] in DESCRIBED_ACTIONS
            entry = GateAuditEntry(
                gate=gate,
                **self._values(row, AUDIT_ENTRY_FIELDS),
                previous_hash=previous,
            )
            entry.before = _audit_payload_in(row["before"], described, ids, f"{entry_path}.before")
            entry.after = _audit_payload_in(row["after"], described, ids, f"{entry_path}.after")
            entry.entry_hash = _entry_hash(entry)
            self._save(entry, entry_path)
            previous = entry.entry_hash
        Gate.objects.filter(pk=gate.pk).update(audit_head="" if previous == GENESIS else previous)


def _audit_payload_in(payload: dict, described: bool, ids: dict, path: str) -> dict:
    out = {}
    for key, value in payload.items():
        target = AUDIT_REFERENCES.get(key)
        if not (target and isinstance(value, dict) and set(value) == {target}):
            out[key] = value  # a plain value, or a reference to a row no longer there
            continue
        row_id = ids[target].get(value[target])
        if row_id is None:
            raise ProjectNotImported(f"{path}.{key}: no {target} {value[target]!r} in the file.")
        out[key] = str(row_id) if described else row_id
    return out


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


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
    run = _Import(
        data, code=code, programme_slug=programme_slug, create_missing_users=create_missing_users
    )
    doc = run.read()
    with transaction.atomic():
        run.resolve_users()
        project = run.write(doc)
    if notes is not None:
        notes.extend(run.notes)
    return project
