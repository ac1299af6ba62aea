"""A gate as a record: the same facts for the API, the exports and the PDF. A signature always
carries the signer's printed name, the date and time with its time zone, and its meaning."""

from django.utils import timezone

from core.people import display_name
from core.words import moment_words
from gates import evidence, selectors, services
from gates.audit_words import audit_sentences
from gates.evaluation import evaluate_gate
from gates.models import Gate, SignOffDecision

MEANINGS = {
    SignOffDecision.APPROVE: "Approved: the criteria shown are met and the change may proceed.",
    SignOffDecision.REJECT: "Rejected: the change must not proceed.",
    SignOffDecision.APPROVE_WITH_CONDITIONS: "Approved on the conditions stated.",
}


def _when(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%d %b %Y, %H:%M:%S} {local.tzname()}"


def _comparison(as_signed) -> dict | None:
    if as_signed is None:
        return None
    comparison = as_signed.comparison
    return {
        "signer": as_signed.signer,
        "signed_at": _when(as_signed.signed_at),
        "recommendation_as_signed": comparison.signed_recommendation,
        "recommendation_now": comparison.now_recommendation,
        "changed": comparison.changed,
        "criteria": [
            {
                "text": row.text,
                "critical": row.critical,
                "as_signed": row.then_result,
                "as_signed_evidence": row.then_evidence,
                "now": row.now_result,
                "now_evidence": row.now_evidence,
                "changed": row.changed,
            }
            for row in comparison.criteria
        ],
        "risks": [
            {"risk": name, "as_signed": then, "now": now, "changed": changed}
            for name, then, now, changed in comparison.risks
        ],
    }


def gate_record(gate: Gate) -> dict:
    evaluation = evaluate_gate(gate)
    pack = evidence.evidence_pack(gate, evaluation)
    intact, verification = services.gate_audit_verify(gate=gate)
    signoffs = list(
        gate.signoffs.select_related("signer", "on_behalf_of", "evidence").order_by("signed_at")
    )
    entries = list(gate.audit_entries.select_related("actor").order_by("sequence"))
    return {
        "gate": gate.pk,
        "project": gate.project.code,
        "name": gate.name,
        "kind": gate.get_kind_display(),
        "rollout_percent": gate.rollout_percent,
        "state": gate.get_state_display(),
        "decision": gate.get_decision_display() if gate.decision else None,
        "decided_at": _when(gate.decided_at) if gate.decided_at else None,
        "decision_rule": gate.get_decision_rule_display(),
        "rollback_recommended": bool(gate.rollback_recommended_at),
        "recommendation": evaluation.recommendation.label,
        "overridden_recommendation": gate.get_overridden_recommendation_display() or None,
        "override_reason": gate.override_reason or None,
        "rollback_unjudged": gate.rollback_unjudged or None,
        # What a signer signs: the evidence as shown here, sent back as `evidence` with the
        # signature; `content_hash` is its fingerprint.
        "content_hash": evidence.pack_hash(pack),
        "evidence": evidence.pack_token(pack),
        "criteria": [
            {
                "text": c.text,
                "critical": c.critical,
                "result": c.result_label,
                "evidence": c.evidence,
                "value": c.value,
                "unit": c.unit,
                "measured_at": _when(c.measured_at) if c.measured_at else None,
                "source": c.source or None,
            }
            for c in evaluation.criteria
        ],
        "linked_risks": pack["risks"],
        "evidence_as_signed": _comparison(selectors.evidence_as_signed(gate, signoffs, pack)),
        "signatures": [
            {
                "id": s.pk,
                "signer": display_name(s.signer, ""),
                "on_behalf_of": display_name(s.on_behalf_of, "") or None,
                "decision": s.get_decision_display(),
                "meaning": MEANINGS[s.decision],
                "signed_at": s.signed_at.isoformat(),
                "signed_at_display": _when(s.signed_at),
                "conditions": s.conditions,
                "comment": s.comment,
                "content_hash": s.content_hash,
                "evidence_as_signed": s.evidence.content if s.evidence_id else None,
                "override_reason": s.override_reason or None,
                "invalidated_at": _when(s.invalidated_at) if s.invalidated_at else None,
                "invalidated_reason": s.invalidated_reason or None,
            }
            for s in signoffs
        ],
        "audit": {
            "intact": intact,
            "verification": verification,
            "entries": [
                {
                    "sequence": e.sequence,
                    "at_utc": e.at.isoformat(),
                    "at_display": moment_words(e.at),
                    "actor": display_name(e.actor, ""),
                    "action": e.get_action_display(),
                    "sentence": sentence,
                    "before": e.before,
                    "after": e.after,
                    "entry_hash": e.entry_hash,
                }
                for e, sentence in zip(entries, audit_sentences(entries), strict=True)
            ],
        },
    }
