"""The evidence pack: what an approver is shown, kept with their signature exactly as shown.

A pack holds the gate's definition (rule, slots, criteria as set up, linked risks), every
criterion as judged (verdict, value, unit, measured-at time, source), checklist state,
attestations, the linked risks with their scores, the phase's baseline and forecast dates, and
the recommendation. The page and the API hand the pack to the approver as a token signed with
the portal's key, so what comes back with a signature is what was shown, without a write on
every read; the signature stores it once, hashed, and binds to that hash.
"""

import hashlib
import json
from dataclasses import dataclass

from django.core import signing

from core.people import display_name
from gates.evaluation import RESULT_LABELS, GateEvaluation, Result, evaluate_gate
from gates.models import EvidencePack, Gate, Recommendation
from projects.models import ChecklistItem

TOKEN_SALT = "gates.evidence"  # noqa: S105 (a namespace for the signing key, no secret)


class EvidenceRefused(Exception):
    """The evidence sent back with a signature is not one this portal showed for this gate."""


def canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def pack_hash(pack: dict) -> str:
    return hashlib.sha256(canonical(pack)).hexdigest()


def _date(value) -> str | None:
    return value.isoformat() if value else None


def evidence_pack(gate: Gate, evaluation: GateEvaluation | None = None) -> dict:
    """The gate's evidence now, as a plain, canonical structure (what `pack_hash` hashes).
    A constant number of queries."""
    evaluation = evaluation or evaluate_gate(gate)
    criteria = list(gate.criteria.select_related("phase", "attested_by").order_by("order", "pk"))
    slots = sorted(
        (slot.pk, slot.user_id or 0, slot.role, slot.title, slot.group_id or 0)
        for slot in gate.approvers.all()
    )
    groups = sorted(
        (group.pk, group.name, group.rule, group.quorum, group.veto)
        for group in gate.approver_groups.all()
    )
    risks = list(gate.risks.order_by("-score", "key"))
    phase_ids = [c.phase_id for c in criteria if c.phase_id]
    items = ChecklistItem.objects.filter(phase_id__in=phase_ids, deleted_at__isnull=True)
    checklists = {}
    for phase_id, phase_name, title, done in items.order_by("phase_id", "order", "pk").values_list(
        "phase_id", "phase__name", "title", "done"
    ):
        entry = checklists.setdefault(phase_id, {"phase": phase_name, "done": 0, "open": []})
        entry["done"] += int(done)
        if not done:
            entry["open"].append(title)
    phase = gate.phase
    pack = {
        "gate": gate.pk,
        "project": gate.project.code,
        "name": gate.name,
        "definition": {
            "kind": gate.kind,
            "rollout_percent": gate.rollout_percent,
            "decision_rule": gate.decision_rule,
            "quorum": gate.quorum,
            "approvers": [list(slot) for slot in slots],
            "groups": [list(group) for group in groups],
            "criteria": [
                {
                    "id": c.pk,
                    "text": c.text,
                    "kind": c.kind,
                    "critical": c.critical,
                    "kpi": c.kpi_id,
                    "comparator": c.comparator,
                    "threshold": c.threshold,
                    "threshold_high": c.threshold_high,
                    "conditional_limit": c.conditional_limit,
                    "phase": c.phase_id,
                    "rollback": c.rollback,
                }
                for c in criteria
            ],
            "risks": [risk.pk for risk in risks],
        },
        "recommendation": evaluation.recommendation.value,
        "criteria": [
            {
                "id": c.criterion_id,
                "text": c.text,
                "critical": c.critical,
                "result": c.result.value,
                "evidence": c.evidence,
                "value": c.value,
                "unit": c.unit,
                "measured_at": _date(c.measured_at),
                "source": c.source,
            }
            for c in evaluation.criteria
        ],
        "checklists": [
            {**entry, "total": entry["done"] + len(entry["open"])}
            for _, entry in sorted(checklists.items())
        ],
        "attestations": [
            {"criterion": c.text, "by": display_name(c.attested_by), "at": _date(c.attested_at)}
            for c in criteria
            if c.attested_at
        ],
        "risks": [
            {
                "key": risk.key,
                "title": risk.title,
                "likelihood": risk.likelihood,
                "impact": risk.impact,
                "score": risk.likelihood * risk.impact,
                "band": risk.band.label,
                "status": risk.get_status_display(),
            }
            for risk in risks
        ],
        "phase": {
            "name": phase.name,
            "baseline_start": _date(phase.baseline_start),
            "baseline_end": _date(phase.baseline_end),
            "forecast_start": _date(phase.forecast_start),
            "forecast_end": _date(phase.forecast_end),
        }
        if phase
        else None,
    }
    return json.loads(canonical(pack))


def pack_token(pack: dict) -> str:
    """The pack as the page hands it to the approver: signed, so it comes back unchanged."""
    return signing.dumps(pack, salt=TOKEN_SALT, compress=True)


def pack_from_token(token: str, gate: Gate) -> dict:
    try:
        pack = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise EvidenceRefused(
            "The evidence sent with the signature is not what this portal showed; "
            "reload the gate and sign what you see."
        ) from None
    if pack.get("gate") != gate.pk:
        raise EvidenceRefused("The evidence sent with the signature belongs to another gate.")
    return pack


def _recommendation_label(value: str) -> str:
    return Recommendation(value).label


def decisive_changes(shown: dict, now: dict) -> list[str]:
    """What changed between the pack an approver was shown and the gate now that should stop
    them signing, in words: the gate's definition, a criterion's verdict, the recommendation.
    A newer value with the same verdict is no change."""
    changes = []
    if shown["definition"] != now["definition"] or shown["name"] != now["name"]:
        changes.append("the gate's definition changed (its criteria, approvers or linked risks)")
    else:
        before = {c["id"]: c for c in shown["criteria"]}
        for criterion in now["criteria"]:
            was = before.get(criterion["id"])
            if was and was["result"] != criterion["result"]:
                changes.append(
                    f"“{criterion['text']}” is now {RESULT_LABELS[Result(criterion['result'])]}"
                    f" (it was {RESULT_LABELS[Result(was['result'])]})"
                )
    if shown["recommendation"] != now["recommendation"]:
        changes.append(
            f"the recommendation is now {_recommendation_label(now['recommendation'])}"
            f" (it was {_recommendation_label(shown['recommendation'])})"
        )
    return changes


@dataclass(frozen=True)
class CriterionThenNow:
    text: str
    critical: bool
    then_result: str  # in words
    then_evidence: str
    now_result: str
    now_evidence: str
    changed: bool  # the verdict, or the value behind it, differs


@dataclass(frozen=True)
class EvidenceComparison:
    """The evidence as signed beside the evidence now, differences marked."""

    signed_recommendation: str
    now_recommendation: str
    criteria: list[CriterionThenNow]
    risks: list[tuple[str, str, str, bool]]  # (risk, then, now, changed)

    @property
    def changed(self) -> bool:
        return (
            self.signed_recommendation != self.now_recommendation
            or any(c.changed for c in self.criteria)
            or any(changed for *_, changed in self.risks)
        )


def compare(signed: dict, now: dict) -> EvidenceComparison:
    """The signed pack beside the current one. Criteria are paired by id, or by their text
    for a pack kept by another installation (an imported project)."""
    same_installation = signed["gate"] == now["gate"]
    key = (lambda c: c["id"]) if same_installation else (lambda c: c["text"])
    now_by_key = {key(c): c for c in now["criteria"]}
    signed_keys = {key(c) for c in signed["criteria"]}
    rows = []
    for then in signed["criteria"]:
        current = now_by_key.get(key(then))
        rows.append(
            CriterionThenNow(
                text=then["text"],
                critical=then["critical"],
                then_result=RESULT_LABELS[Result(then["result"])],
                then_evidence=then["evidence"],
                now_result=RESULT_LABELS[Result(current["result"])] if current else "Removed",
                now_evidence=current["evidence"] if current else "",
                changed=current is None
                or (current["result"], current["value"]) != (then["result"], then["value"]),
            )
        )
    for current in now["criteria"]:
        if key(current) not in signed_keys:
            rows.append(
                CriterionThenNow(
                    text=current["text"],
                    critical=current["critical"],
                    then_result="Not a criterion then",
                    then_evidence="",
                    now_result=RESULT_LABELS[Result(current["result"])],
                    now_evidence=current["evidence"],
                    changed=True,
                )
            )
    now_risks = {risk["key"]: risk for risk in now["risks"]}
    risks = []
    for then in signed["risks"]:
        current = now_risks.get(then["key"])
        then_words = f"score {then['score']} ({then['band']})"
        now_words = f"score {current['score']} ({current['band']})" if current else "not linked"
        risks.append(
            (f"{then['key']}: {then['title']}", then_words, now_words, then_words != now_words)
        )
    return EvidenceComparison(
        signed_recommendation=_recommendation_label(signed["recommendation"]),
        now_recommendation=_recommendation_label(now["recommendation"]),
        criteria=rows,
        risks=risks,
    )


def pack_store(gate: Gate, pack: dict) -> EvidencePack:
    """Keep `pack` once for `gate` (the caller holds the gate's lock)."""
    digest = pack_hash(pack)
    stored, _ = EvidencePack.objects.get_or_create(
        gate=gate, content_hash=digest, defaults={"content": pack}
    )
    return stored


def pack_intact(stored: EvidencePack) -> bool:
    """Does the stored pack still hash to the hash its signatures bind to?"""
    return pack_hash(stored.content) == stored.content_hash


def current_token(gate: Gate) -> str:
    """The gate's evidence now, sealed, as a page or the API hands it to an approver."""
    return pack_token(evidence_pack(gate))
