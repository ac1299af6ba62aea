"""A gate's audit entries as sentences, for people: "Alex Morgan signed for Jordan Reyes:
approved." What an entry records (before, after, its hashes) stays as it is for machines; this
is how it reads."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model

from core.people import PORTAL, display_name
from core.words import day_words, moment_words, number_words
from gates.models import (
    ApproverGroup,
    AuditAction,
    CriterionKind,
    Decision,
    DecisionRule,
    GateAuditEntry,
    GateCondition,
    Recommendation,
    SignOff,
    SignOffDecision,
)
from metrics.models import COMPARATOR_WORDS, KPI, Comparator
from projects.models import Phase, Role

# What each kind of entry names by id and its sentence needs by name (the actor it has).
NAMED = {
    AuditAction.SIGNED: {"people": ("on_behalf_of",)},
    AuditAction.DELEGATED: {"people": ("delegator", "delegate")},
    AuditAction.INVALIDATED: {"signoffs": ("signoff",)},
    AuditAction.CRITERION_CHANGED: {
        "people": ("attested_by",),
        "kpis": ("kpi",),
        "phases": ("phase",),
    },
    AuditAction.APPROVER_CHANGED: {"people": ("user",), "groups": ("group",)},
    AuditAction.CONDITION_ADDED: {"people": ("owner",)},
    AuditAction.CONDITION_CHANGED: {"people": ("owner",), "conditions": ("condition",)},
    AuditAction.CONDITION_ESCALATED: {"people": ("owner",)},
}

SIGNED = {
    SignOffDecision.APPROVE: "approved",
    SignOffDecision.REJECT: "rejected",
    SignOffDecision.APPROVE_WITH_CONDITIONS: "approved with conditions",
}


@dataclass
class Names:
    """What an entry names by id, by name: people, signatures, conditions, KPIs, phases and
    approver groups. Found in one query each for a whole trail."""

    people: dict[int, str]
    signers: dict[int, str]  # signature id → who signed it
    conditions: dict[int, str]  # condition id → its text
    kpis: dict[int, str]
    phases: dict[int, str]
    groups: dict[int, str]

    def person(self, value) -> str:
        key = _id(value)
        return self.people.get(key, "someone") if key is not None else "nobody"


def _id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def names_for(entries: Iterable[GateAuditEntry]) -> Names:
    ids: dict[str, set[int]] = {
        key: set() for key in ("people", "signoffs", "conditions", "kpis", "phases", "groups")
    }
    for entry in entries:
        for kind, keys in NAMED.get(entry.action, {}).items():
            for record in (entry.before, entry.after):
                ids[kind].update(_id(record.get(key)) for key in keys)
    ids = {kind: {pk for pk in found if pk is not None} for kind, found in ids.items()}

    def fetch(model, kind, label, *related):
        if not ids[kind]:
            return {}
        rows = model.objects.filter(pk__in=ids[kind])
        return {row.pk: label(row) for row in rows.select_related(*related)}

    return Names(
        people=fetch(get_user_model(), "people", display_name),
        signers=fetch(
            SignOff,
            "signoffs",
            lambda s: display_name(s.on_behalf_of or s.signer),
            "signer",
            "on_behalf_of",
        ),
        conditions=fetch(GateCondition, "conditions", lambda c: c.text),
        kpis=fetch(KPI, "kpis", lambda k: k.name),
        phases=fetch(Phase, "phases", lambda p: p.name),
        groups=fetch(ApproverGroup, "groups", lambda g: g.name),
    )


def audit_sentences(entries: list[GateAuditEntry]) -> list[str]:
    """Each entry of a trail as a sentence, in order."""
    names = names_for(entries)
    return [audit_sentence(entry, names=names) for entry in entries]


def audit_sentence(entry: GateAuditEntry, *, names: Names) -> str:
    """One entry as a sentence: who did what, in words."""
    who = display_name(entry.actor, PORTAL)
    before, after = entry.before, entry.after
    action = entry.action
    if action == AuditAction.OPENED:
        return f"{who} opened the gate for sign-off."
    if action == AuditAction.CANCELLED:
        return f"{who} cancelled the gate" + _because(after.get("reason"))
    if action == AuditAction.SIGNED:
        return _signed(who, after, names)
    if action == AuditAction.DECIDED:
        return _decided(who, after)
    if action == AuditAction.DELEGATED:
        until = _moment(after.get("until"))
        return (
            f"{who} let {names.person(after.get('delegate'))} sign for "
            f"{names.person(after.get('delegator'))}" + (f" until {until}." if until else ".")
        )
    if action == AuditAction.INVALIDATED:
        signer = names.signers.get(_id(before.get("signoff")), "a")
        whose = f"{signer}'s" if signer != "a" else "a"
        return f"{whose} signature was invalidated" + _because(after.get("reason"))
    if action == AuditAction.CRITERION_CHANGED:
        return _definition_changed(who, before, after, names, what="criterion")
    if action == AuditAction.APPROVER_CHANGED:
        return _definition_changed(who, before, after, names, what="approver")
    if action == AuditAction.ATTESTED:
        return f"{who} attested the criterion “{after.get('text', '')}”."
    if action == AuditAction.ROLLBACK_RECOMMENDED:
        return "Rollback was recommended" + _because(after.get("reason"))
    if action == AuditAction.ROLLBACK_CLEARED:
        return "Rollback is no longer recommended: the rollback triggers hold again."
    if action == AuditAction.CONDITION_ADDED:
        return (
            f"The condition “{after.get('text', '')}” was recorded, owned by "
            f"{names.person(after.get('owner'))}, due {_day(after.get('due_date'))}."
        )
    if action == AuditAction.CONDITION_CHANGED:
        return _condition_changed(who, before, after, names)
    if action == AuditAction.CONDITION_MET:
        return f"{who} marked the condition “{after.get('text', '')}” met."
    if action == AuditAction.CONDITION_ESCALATED:
        return (
            f"The condition “{after.get('text', '')}”, due {_day(after.get('due_date'))} and "
            f"owned by {names.person(after.get('owner'))}, was overdue and escalated."
        )
    if action == AuditAction.APPROVAL_STALE:
        reasons = after.get("reasons") or []
        return "The approval went stale" + _because("; ".join(reasons))
    if action == AuditAction.REAPPROVAL_OPENED:
        return f"{who} opened a re-approval round: “{after.get('name', '')}”."
    return f"{who}: {entry.get_action_display().lower()}."


def _because(reason) -> str:
    reason = (reason or "").strip().rstrip(".")
    return f": {reason}." if reason else "."


def _label(choices, value) -> str:
    return str(dict(choices.choices).get(value, value))


def _moment(value) -> str:
    try:
        return moment_words(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return ""


def _day(value) -> str:
    try:
        return day_words(date.fromisoformat(value))
    except (TypeError, ValueError):
        return "an unknown day"


def _signed(who: str, after: dict, names: Names) -> str:
    behalf = after.get("on_behalf_of")
    sentence = f"{who} signed" + (f" for {names.person(behalf)}" if behalf else "")
    sentence += f": {SIGNED.get(after.get('decision'), 'signed')}"
    if after.get("conditions"):
        sentence += f" (“{after['conditions']}”)"
    advice = _label(Recommendation, after.get("recommendation"))
    if after.get("override_reason"):
        return (
            sentence
            + f", against the {advice} recommendation, because: "
            + (after["override_reason"].rstrip(".") + ".")
        )
    return sentence + (f"; the criteria recommended {advice}." if advice else ".")


def _decided(who: str, after: dict) -> str:
    sentence = f"The gate was decided {_label(Decision, after.get('decision'))}"
    against = after.get("overridden_recommendation")
    if against:
        sentence += f" against the {_label(Recommendation, against)} recommendation"
    sentence += f" when {who} signed."
    conditions = [c.strip().rstrip(".") for c in after.get("conditions") or [] if c.strip()]
    if conditions:
        sentence += " Conditions: " + "; ".join(conditions) + "."
    return sentence


def _condition_changed(who: str, before: dict, after: dict, names: Names) -> str:
    text = names.conditions.get(_id(after.get("condition")), "")
    subject = f"the condition “{text}”" if text else "a condition"
    changes = []
    if "owner" in after:
        changes.append(
            f"gave {subject} to {names.person(after['owner'])} "
            f"(it was {names.person(before.get('owner'))}'s)"
        )
    if "due_date" in after:
        changes.append(
            f"moved the due date of {subject} from {_day(before.get('due_date'))} to "
            f"{_day(after['due_date'])}"
        )
    return f"{who} " + (" and ".join(changes) or f"changed {subject}") + "."


# Fields of a criterion or an approver as they read in a sentence; ids and the order are
# left out (the order is only a position).
FIELD_WORDS = {
    "text": "wording",
    "kind": "kind",
    "critical": "critical",
    "kpi": "KPI",
    "comparator": "condition",
    "threshold": "threshold",
    "threshold_high": "upper threshold",
    "conditional_limit": "conditional limit",
    "phase": "phase",
    "rollback": "rollback trigger",
    "attested_by": "attested by",
    "attested_at": "attested on",
    "title": "title",
    "user": "person",
    "role": "role",
    "group": "group",
    "name": "name",
    "rule": "rule",
    "quorum": "quorum",
    "veto": "veto",
}


def _value(key: str, value, names: Names) -> str:
    """A described field's stored text ("None", "True", "500.0", an id) in words."""
    if value in (None, "None", ""):
        return "nothing"
    if value in ("True", "False", True, False):
        return "yes" if value in ("True", True) else "no"
    if key in ("user", "attested_by"):
        return names.person(value)
    lookups = {"kpi": names.kpis, "phase": names.phases, "group": names.groups}
    if key in lookups:
        return lookups[key].get(_id(value), "one since removed")
    if key == "comparator":
        return "between" if value == Comparator.BETWEEN else COMPARATOR_WORDS.get(value, str(value))
    choices = {"kind": CriterionKind, "role": Role, "rule": DecisionRule}
    if key in choices:
        return _label(choices[key], value)
    if key == "attested_at":
        return _moment(value) or str(value)
    try:
        return number_words(float(value))
    except (TypeError, ValueError):
        return f"“{value}”"


def _definition_changed(who: str, before: dict, after: dict, names: Names, *, what: str) -> str:
    if "linked_risks" in after:
        was = ", ".join(before.get("linked_risks") or []) or "none"
        now = ", ".join(after["linked_risks"]) or "none"
        return f"{who} changed the risks linked to the gate from {was} to {now}."
    if "edited_in" in after:
        plural = "criteria" if what == "criterion" else "approvers"
        return f"{who} changed the gate's {plural} in the administration pages."
    row = after or before
    is_group = what == "approver" and "name" in row and "rule" in row
    noun = "approver group" if is_group else what
    subject = f"the {noun} “{_row_name(row, names, what=what)}”"
    if not before:
        return f"{who} added {subject}."
    if not after:
        return f"{who} removed {subject}."
    changes = [
        f"{FIELD_WORDS[key]} from {_value(key, before.get(key), names)} to "
        f"{_value(key, after.get(key), names)}"
        for key in FIELD_WORDS
        if key in after and before.get(key) != after.get(key)
    ]
    subject = f"the {noun} “{_row_name(before, names, what=what)}”"
    if not changes:
        return f"{who} reordered {subject}."
    return f"{who} changed {subject}: " + "; ".join(changes) + "."


def _row_name(row: dict, names: Names, *, what: str) -> str:
    if what == "criterion":
        return row.get("text", "")
    if "rule" in row:
        return row.get("name", "")
    title = row.get("title") or ""
    person = names.person(row.get("user")) if _id(row.get("user")) else ""
    role = _label(Role, row.get("role")) if row.get("role") else ""
    described = " / ".join(part for part in (person, f"any {role.lower()}" if role else "") if part)
    return f"{title} ({described})" if title and described else title or described
