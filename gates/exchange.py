"""The gates' part of the exchange document: gates with their criteria, approvers, delegations,
sign-offs, the conditions of their decision and audit trails.

Sign-offs and audit entries are imported as they were: their times, signers and contents kept.
A gate's audit trail is chained by hashes over database ids, so the import writes each entry as
exported and seals the chain anew for the ids it was given (`gate_audit_seal`), advancing the
gate's head entry by entry, and checkpoints the trail once committed; sign-offs keep the hash of
the evidence that was signed, and the evidence itself. A gate's `conditions` name the sign-off
that stated them by its ref; a document written before conditions were tracked has none, and
imports so.
"""

from collections import defaultdict

from django.db.models import Model

from core.exchange import (
    BOOLEAN,
    DATE,
    DATE_OR_NULL,
    DATETIME,
    DATETIME_OR_NULL,
    INTEGER,
    INTEGER_OR_NULL,
    LATER_DATETIME_OR_NULL,
    LATER_INTEGER_OR_NULL,
    LATER_LIST,
    LATER_OBJECT_OR_NULL,
    LATER_REF_OR_NULL,
    LATER_TEXT,
    LIST,
    NAME_OR_NULL,
    NUMBER_OR_NULL,
    OBJECT,
    REF,
    REF_OR_NULL,
    TEXT,
    TEXT_OR_NULL,
    USER,
    USER_OR_NULL,
    DocumentRefused,
    ExportContext,
    ImportContext,
)
from gates.evidence import pack_hash, pack_store
from gates.integrity import gate_audit_checkpoint_on_commit
from gates.models import (
    ApproverGroup,
    AuditAction,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCondition,
    GateCriterion,
    GateDelegation,
    SignOff,
)
from gates.services import gate_audit_seal
from projects.exchange import check_phase_ref
from projects.models import Project

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
    "rollback_unjudged": LATER_TEXT,
    "overridden_recommendation": LATER_TEXT,
    "override_reason": LATER_TEXT,
    "watch_days": LATER_INTEGER_OR_NULL,
    "approval_stale_at": LATER_DATETIME_OR_NULL,
    "approval_stale_reasons": LATER_TEXT,
    "created_at": DATETIME,
    "criteria": LIST,
    "approvers": LIST,
    "approver_groups": LATER_LIST,
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
GATE_APPROVER_FIELDS = {
    "title": TEXT,
    "user": USER_OR_NULL,
    "role": TEXT,
    "group": LATER_REF_OR_NULL,
}
APPROVER_GROUP_FIELDS = {
    "ref": REF,
    "order": INTEGER,
    "name": TEXT,
    "rule": TEXT,
    "quorum": INTEGER_OR_NULL,
    "veto": BOOLEAN,
}
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
    "override_reason": LATER_TEXT,
}
# Written and read beside the fields above: a gate's linked risks by key, and the evidence a
# signer was shown, kept as it was seen (its ids are the exporting installation's), whose hash
# is the signature's `content_hash`.
LINKED = {"risks": LATER_LIST}
SHOWN = {"evidence": LATER_OBJECT_OR_NULL}
CONDITION_FIELDS = {
    "ref": REF,
    "signoff": REF,
    "order": INTEGER,
    "text": TEXT,
    "owner": USER_OR_NULL,
    "due_date": DATE,
    "met_at": DATETIME_OR_NULL,
    "met_by": USER_OR_NULL,
    "escalated_at": DATETIME_OR_NULL,
    "created_at": DATETIME,
}
AUDIT_ENTRY_FIELDS = {
    "sequence": INTEGER,
    "at": DATETIME,
    "actor": USER_OR_NULL,
    "action": TEXT,
    "before": OBJECT,
    "after": OBJECT,
}
# The rows of a gate's lists in the document, each list in its order: name → (model, order).
LISTS = {
    "criteria": (GateCriterion, ("order", "pk")),
    "approvers": (GateApprover, ("pk",)),
    "approver_groups": (ApproverGroup, ("order", "pk")),
    "delegations": (GateDelegation, ("starts_at", "pk")),
    "signoffs": (SignOff, ("signed_at", "pk")),
    "conditions": (GateCondition, ("order", "pk")),
    "audit": (GateAuditEntry, ("sequence",)),
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
    "owner": "user",
    "met_by": "user",
    "condition": "condition",
    "criterion": "criterion",
    "kpi": "kpi",
    "phase": "phase",
}


# Export


def export(project: Project, context: ExportContext) -> dict:
    """The gates, each with its criteria (naming KPIs and phases by their keys in the
    document), approvers, delegations, sign-offs, conditions and audit trail."""
    rows = {name: defaultdict(list) for name in LISTS}
    for name, (model, order) in LISTS.items():
        queryset = model.objects.filter(gate__project=project)
        if model is SignOff:
            queryset = queryset.select_related("evidence")
        for row in queryset.order_by(*order):
            rows[name][row.gate_id].append(row)
    return {
        "gates": [
            _gate_out(gate, {name: rows[name][gate.pk] for name in LISTS}, context)
            for gate in project.gates.prefetch_related("risks").order_by("order", "name")
        ]
    }


def _gate_out(gate: Gate, rows: dict[str, list[Model]], context: ExportContext) -> dict:
    phase_refs = context.keys["phase"]
    criterion_refs = {row.pk: ref for ref, row in enumerate(rows["criteria"], start=1)}
    signoff_refs = {row.pk: ref for ref, row in enumerate(rows["signoffs"], start=1)}
    group_refs = {row.pk: ref for ref, row in enumerate(rows["approver_groups"], start=1)}
    condition_refs = {row.pk: ref for ref, row in enumerate(rows["conditions"], start=1)}
    names = {
        "user": context.usernames,
        "signoff": signoff_refs,
        "condition": condition_refs,
        "criterion": criterion_refs,
        "kpi": context.keys["kpi"],
        "phase": phase_refs,
    }
    return {
        **context.dump(gate, GATE_FIELDS),
        "phase": phase_refs.get(gate.phase_id),
        "risks": sorted(risk.key for risk in gate.risks.all()),
        "criteria": [
            {
                "ref": criterion_refs[row.pk],
                **context.dump(row, GATE_CRITERION_FIELDS),
                "kpi": names["kpi"].get(row.kpi_id),
                "phase": phase_refs.get(row.phase_id),
            }
            for row in rows["criteria"]
        ],
        "approvers": [
            {**context.dump(row, GATE_APPROVER_FIELDS), "group": group_refs.get(row.group_id)}
            for row in rows["approvers"]
        ],
        "approver_groups": [
            {"ref": group_refs[row.pk], **context.dump(row, APPROVER_GROUP_FIELDS)}
            for row in rows["approver_groups"]
        ],
        "delegations": [context.dump(row, GATE_DELEGATION_FIELDS) for row in rows["delegations"]],
        "signoffs": [
            {
                "ref": signoff_refs[row.pk],
                **context.dump(row, SIGNOFF_FIELDS),
                "evidence": row.evidence.content if row.evidence_id else None,
            }
            for row in rows["signoffs"]
        ],
        "conditions": [
            {
                "ref": condition_refs[row.pk],
                **context.dump(row, CONDITION_FIELDS),
                "signoff": signoff_refs[row.signoff_id],
            }
            for row in rows["conditions"]
        ],
        "audit": [
            {
                **context.dump(row, AUDIT_ENTRY_FIELDS),
                "before": _audit_payload_out(
                    row.before, described=row.action in DESCRIBED_ACTIONS, names=names
                ),
                "after": _audit_payload_out(
                    row.after, described=row.action in DESCRIBED_ACTIONS, names=names
                ),
            }
            for row in rows["audit"]
        ],
    }


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


# Import


def read(data: dict, context: ImportContext) -> dict:
    """This part of `data`, checked against the phases and KPIs read before it."""
    return {
        "gates": [
            _read_gate(row, context, f"gates[{i}]")
            for i, row in enumerate(context.read_list(data, "gates", "the document"))
        ]
    }


def _read_gate(obj, context: ImportContext, path: str) -> dict:
    gate = context.read(obj, GATE_FIELDS, path)
    check_phase_ref(gate["phase"], context, f"{path}.phase")
    gate["criteria"] = context.read_children(gate, "criteria", GATE_CRITERION_FIELDS, path)
    for i, row in enumerate(gate["criteria"]):
        check_phase_ref(row["phase"], context, f"{path}.criteria[{i}].phase")
        if row["kpi"] is not None and row["kpi"] not in context.keys["kpi"]:
            raise DocumentRefused(
                f"{path}.criteria[{i}].kpi: the project has no KPI named {row['kpi']!r}."
            )
    gate["approver_groups"] = context.read_children(
        gate, "approver_groups", APPROVER_GROUP_FIELDS, path
    )
    gate["approvers"] = context.read_children(gate, "approvers", GATE_APPROVER_FIELDS, path)
    group_refs = {group["ref"] for group in gate["approver_groups"]}
    for i, row in enumerate(gate["approvers"]):
        if row["group"] is not None and row["group"] not in group_refs:
            raise DocumentRefused(
                f"{path}.approvers[{i}].group: the gate has no approver group {row['group']}."
            )
    gate["delegations"] = context.read_children(gate, "delegations", GATE_DELEGATION_FIELDS, path)
    gate["signoffs"] = context.read_children(gate, "signoffs", {**SIGNOFF_FIELDS, **SHOWN}, path)
    gate["risks"] = context.read(obj, LINKED, path)["risks"]
    for i, key in enumerate(gate["risks"]):
        if not isinstance(key, str):
            raise DocumentRefused(
                f"{path}.risks[{i}] must be a risk's key (text), not {key!r:.40}."
            )
    for i, row in enumerate(gate["signoffs"]):
        if row["evidence"] is not None and pack_hash(row["evidence"]) != row["content_hash"]:
            raise DocumentRefused(
                f"{path}.signoffs[{i}].evidence: it is not the evidence this signature was "
                "given on (its hash differs from the signature's content_hash)."
            )
    # Written before conditions were tracked: none.
    gate["conditions"] = context.read_list(obj, "conditions", path) if "conditions" in obj else []
    gate["conditions"] = context.read_children(gate, "conditions", CONDITION_FIELDS, path)
    signoff_refs = {row["ref"] for row in gate["signoffs"]}
    for i, row in enumerate(gate["conditions"]):
        if row["signoff"] not in signoff_refs:
            raise DocumentRefused(
                f"{path}.conditions[{i}].signoff: the gate has no sign-off {row['signoff']!r}."
            )
    gate["audit"] = context.read_children(gate, "audit", AUDIT_ENTRY_FIELDS, path)
    sequences = [entry["sequence"] for entry in gate["audit"]]
    if sequences != list(range(1, len(sequences) + 1)):
        raise DocumentRefused(
            f"{path}.audit: the entries must be numbered 1, 2, 3, … in order, without gaps."
        )
    for entry in gate["audit"]:
        for side in ("before", "after"):
            for value in entry[side].values():
                if isinstance(value, dict) and value.get("user"):
                    context.usernames.add(value["user"])
    return gate


def write(part: dict, project: Project, context: ImportContext) -> None:
    for i, values in enumerate(part["gates"]):
        _write_gate(project, values, f"gates[{i}]", context)


def _write_gate(project: Project, values: dict, path: str, context: ImportContext) -> None:
    phases, kpis = context.rows["phase"], context.rows["kpi"]
    fields = context.values(values, GATE_FIELDS)
    fields["phase"] = phases.get(values["phase"])
    gate = context.save(Gate(project=project, **fields), path)
    context.keep_times(gate, {"created_at": fields["created_at"]})
    criteria = {}
    for j, row in enumerate(values["criteria"]):
        fields = context.values(row, GATE_CRITERION_FIELDS)
        fields["kpi"] = kpis.get(row["kpi"])
        fields["phase"] = phases.get(row["phase"])
        criteria[row["ref"]] = context.save(
            GateCriterion(gate=gate, **fields), f"{path}.criteria[{j}]"
        )
    groups = {}
    for j, row in enumerate(values["approver_groups"]):
        groups[row["ref"]] = context.save(
            ApproverGroup(gate=gate, **context.values(row, APPROVER_GROUP_FIELDS)),
            f"{path}.approver_groups[{j}]",
        )
    for j, row in enumerate(values["approvers"]):
        context.save(
            GateApprover(
                gate=gate,
                group=groups.get(row["group"]),
                **context.values(row, GATE_APPROVER_FIELDS),
            ),
            f"{path}.approvers[{j}]",
        )
    for j, row in enumerate(values["delegations"]):
        fields = context.values(row, GATE_DELEGATION_FIELDS)
        delegation = context.save(GateDelegation(gate=gate, **fields), f"{path}.delegations[{j}]")
        context.keep_times(delegation, {"created_at": fields["created_at"]})
    if values["risks"]:
        risks = {risk.key: risk for risk in project.risks.filter(key__in=values["risks"])}
        missing = [key for key in values["risks"] if key not in risks]
        if missing:
            raise DocumentRefused(f"{path}.risks: the project has no risk {missing[0]!r}.")
        gate.risks.set(risks.values())
    signoffs = {}
    for j, row in enumerate(values["signoffs"]):
        shown = pack_store(gate, row["evidence"]) if row["evidence"] is not None else None
        signoffs[row["ref"]] = context.save(
            SignOff(gate=gate, evidence=shown, **context.values(row, SIGNOFF_FIELDS)),
            f"{path}.signoffs[{j}]",
        )
    conditions = {}
    for j, row in enumerate(values["conditions"]):
        fields = context.values(row, CONDITION_FIELDS)
        conditions[row["ref"]] = context.save(
            GateCondition(gate=gate, signoff=signoffs[row["signoff"]], **fields),
            f"{path}.conditions[{j}]",
        )
    ids = {
        "user": {name: user.pk for name, user in context.users.items()},
        "signoff": {ref: row.pk for ref, row in signoffs.items()},
        "condition": {ref: row.pk for ref, row in conditions.items()},
        "criterion": {ref: row.pk for ref, row in criteria.items()},
        "kpi": {name: kpi.pk for name, kpi in kpis.items()},
        "phase": {ref: phase.pk for ref, phase in phases.items()},
    }
    entries = []
    for j, row in enumerate(values["audit"]):
        entry_path = f"{path}.audit[{j}]"
        described = row["action"] in DESCRIBED_ACTIONS
        entry = GateAuditEntry(gate=gate, **context.values(row, AUDIT_ENTRY_FIELDS))
        entry.before = _audit_payload_in(row["before"], described, ids, f"{entry_path}.before")
        entry.after = _audit_payload_in(row["after"], described, ids, f"{entry_path}.after")
        entries.append(entry)
    gate_audit_seal(entries=entries)
    for j, entry in enumerate(entries):
        context.save(entry, f"{path}.audit[{j}]")
        # The head advances one entry at a time: the database refuses it any other move.
        Gate.objects.filter(pk=gate.pk).update(audit_head=entry.entry_hash)
    if entries:
        gate_audit_checkpoint_on_commit(gate.pk)


def _audit_payload_in(payload: dict, described: bool, ids: dict, path: str) -> dict:
    out = {}
    for key, value in payload.items():
        target = AUDIT_REFERENCES.get(key)
        if not (target and isinstance(value, dict) and set(value) == {target}):
            out[key] = value  # a plain value, or a reference to a row no longer there
            continue
        row_id = ids[target].get(value[target])
        if row_id is None:
            raise DocumentRefused(f"{path}.{key}: no {target} {value[target]!r} in the file.")
        out[key] = str(row_id) if described else row_id
    return out
