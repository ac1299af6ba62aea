"""A gate as a record: the same facts for the API, the exports and the PDF. A signature always
carries the signer's printed name, the date and time with its time zone, and its meaning."""

from django.utils import timezone

from core.people import display_name
from gates import services
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


def gate_record(gate: Gate) -> dict:
    evaluation = evaluate_gate(gate)
    intact, verification = services.gate_audit_verify(gate=gate)
    signoffs = gate.signoffs.select_related("signer", "on_behalf_of").order_by("signed_at")
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
        "recommendation": evaluation.recommendation,
        # What a signer signs: the hash of the gate as shown here (criteria as judged,
        # approvers, rule), sent back as `seen_hash` with the signature.
        "content_hash": services.snapshot_hash(services.gate_snapshot(gate, evaluation)),
        "criteria": [
            {
                "text": c.text,
                "critical": c.critical,
                "result": c.result,
                "evidence": c.evidence,
            }
            for c in evaluation.criteria
        ],
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
                    "actor": display_name(e.actor, ""),
                    "action": e.get_action_display(),
                    "before": e.before,
                    "after": e.after,
                    "entry_hash": e.entry_hash,
                }
                for e in gate.audit_entries.select_related("actor").order_by("sequence")
            ],
        },
    }
