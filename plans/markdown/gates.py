"""Approval gates and their criteria: a gate table, sign-off checklists, "Approval Gate:" lines,
the go/no-go and exit gates that success criteria imply, and staged rollout percentages."""

import re

from plans.markdown import reader
from plans.markdown.blocks import cell_text, column_of, section_texts, title_key
from plans.markdown.imported import Draft, PlanCriterion, PlanGate
from plans.markdown.reader import ListItem, Paragraph, Section, Table, plain

GATE_KINDS = {
    "phase exit": "phase_exit",
    "go / no-go": "go_no_go",
    "go/no-go": "go_no_go",
    "rollout stage": "rollout_stage",
}
ROLLOUT = re.compile(r"(\d{1,3})\s*%(?:\s*(?:→|->|,)\s*\d{1,3}\s*%){2,}")
PERCENT = re.compile(r"(\d{1,3})\s*%")
ROLLBACK = re.compile(r"rollback\s+if\s+(.+)$|automated\s+rollback\s+if\s+(.+)$", re.IGNORECASE)


def _gate_kind(text: str) -> str:
    """A gate's kind from a table cell such as 'Rollout stage 25%'."""
    text = text.lower()
    return next((kind for word, kind in GATE_KINDS.items() if text.startswith(word)), "phase_exit")


def _step(timing: str) -> str:
    """The step a gate's timing names: "After D1" and "Before D1" both name D1."""
    match = re.search(r"\b([A-Z]?\d+)\b", timing)
    return match.group(1) if match else ""


def gate_add(draft: Draft, gate: PlanGate) -> None:
    """A gate the plan names twice (a table row and a success-criteria list) is one."""
    if any(title_key(known.name) == title_key(gate.name) for known in draft.plan.gates):
        return
    draft.plan.gates.append(gate)


def gate_table(draft: Draft, table: Table, header: list[str]) -> None:
    draft.gate_table_seen = True
    name_col = column_of(header, "gate")
    approver_col = column_of(header, "approver")
    timing_col = column_of(header, "timing", "when")
    criteria_col = column_of(header, "criteria", "criterion")
    kind_col = column_of(header, "kind", "type")
    for row, line in zip(table.rows, table.row_lines, strict=False):
        name = cell_text(row, name_col)
        if not name:
            continue
        raw = row[criteria_col] if criteria_col is not None and criteria_col < len(row) else ""
        if reader.BREAK.search(raw):  # one criterion a line
            parts = [plain(part) for part in reader.BREAK.split(raw)]
        else:
            parts = re.split(r"\s+\+\s+|,\s+", plain(raw))
        kind = _gate_kind(cell_text(row, kind_col))
        percent = PERCENT.search(cell_text(row, kind_col)) if kind == "rollout_stage" else None
        gate_add(
            draft,
            PlanGate(
                name=name,
                kind=kind,
                line=line,
                approvers=[
                    a.strip()
                    for a in re.split(r"\s*\+\s*|\s*,\s*", cell_text(row, approver_col))
                    if a.strip()
                ],
                timing=cell_text(row, timing_col),
                criteria=[PlanCriterion(part, line) for part in parts if part.strip()],
                rollout_percent=int(percent.group(1)) if percent else None,
            ),
        )


def inline_gate(draft: Draft, block: Paragraph, section: Section, value: str) -> None:
    """'**Approval Gate:** …' at the end of a step's section ("D1: Observability")."""
    step = re.match(r"[A-Z]?\d+\b", plain(section.title))
    draft.plan.gates.append(
        PlanGate(
            name=f"{plain(section.title)}: {value}",
            kind="phase_exit",
            line=block.line,
            timing=f"After {step.group(0)}" if step else "",
            description=value,
            criteria=[PlanCriterion(value, block.line)],
            blocks=[id(block)],
            inline=True,
        )
    )


def release_gate(draft: Draft, value: str, line: int) -> None:
    """'**Success Criteria:** a; b' in the overview: the criteria of the release's go/no-go."""
    parts = [part.strip() for part in re.split(r";\s*", value) if part.strip()]
    gate_add(
        draft,
        PlanGate(
            name="Release go/no-go",
            kind="go_no_go",
            line=line,
            derived=True,
            criteria=[PlanCriterion(part, line) for part in parts],
        ),
    )


def success_criteria_gate(draft: Draft, items: list[ListItem], section: Section) -> None:
    """A success-criteria list outside the phases: the go/no-go of the part of the plan that
    holds it (of the release, under a summary or overview)."""
    where = plain(section.title)
    overview = re.search(r"summary|overview|solution", where, re.IGNORECASE)
    if overview:
        draft.plan.overview.setdefault("success_criteria", "; ".join(plain(i.text) for i in items))
    gate_add(
        draft,
        PlanGate(
            name="Release go/no-go" if overview else f"{where} go/no-go",
            derived=True,
            kind="go_no_go",
            line=items[0].line if items else section.line,
            criteria=[PlanCriterion(plain(item.text), item.line) for item in items],
            blocks=[id(items)],
        ),
    )
    draft.used.add(id(items))


def signoff(draft: Draft, items: list[ListItem], section: Section) -> None:
    """A sign-off checklist: its labelled lines name approvers, the others are criteria."""
    title = plain(section.title).rstrip(" ✓✅")
    gate = _signoff_gate(draft, section)
    for item in items:
        text = plain(item.text)
        approver = reader.labelled(item.text)
        if approver and re.fullmatch(r"[\w .&/+-]{2,40}", approver[0]):
            gate.approvers.append(approver[0])
        else:
            gate.criteria.append(
                PlanCriterion(f"{title}: {text}" if title else text, item.line, bool(item.checked))
            )


def signoff_criteria(draft: Draft, items: list[ListItem], section: Section) -> None:
    """A list the sign-off announces ('**Approval Signifies:**', or a list under Approvals)."""
    gate = _signoff_gate(draft, section)
    gate.criteria.extend(PlanCriterion(plain(i.text), i.line) for i in items)
    draft.used.add(id(items))


def _signoff_gate(draft: Draft, section: Section) -> PlanGate:
    for gate in draft.plan.gates:
        if gate.kind == "go_no_go" and gate.name == "Plan sign-off":
            return gate
    gate = PlanGate(name="Plan sign-off", kind="go_no_go", line=section.line)
    draft.plan.gates.append(gate)
    return gate


def gates_settle(draft: Draft, root: Section) -> None:
    """Once every section is read: exit gates for the phases' success criteria, rollout
    stages; and, where the plan has a gate table, its gates only."""
    _gates_from_criteria(draft)
    _rollout_stages(draft, root)
    if draft.gate_table_seen:
        _inline_gates_into_table(draft)
        # A plan with an approval-gates table names its gates there; success criteria stay
        # on their phases instead of becoming gates of their own.
        for gate in draft.plan.gates:
            if gate.derived:
                draft.used -= set(gate.blocks)  # what they were read from stays, as notes
        draft.plan.gates = [gate for gate in draft.plan.gates if not gate.derived]


def _gates_from_criteria(draft: Draft) -> None:
    """Phases with success criteria get an exit gate that judges them (unless the plan has
    its own approval gates as well)."""
    exits = []
    for phase in draft.plan.phases:
        if phase.success_criteria:
            exits.append(
                PlanGate(
                    name=f"Phase {phase.order} exit: {phase.name}",
                    kind="phase_exit",
                    line=phase.line,
                    derived=True,
                    criteria=[PlanCriterion(text, phase.line) for text in phase.success_criteria],
                )
            )
    known = {title_key(gate.name) for gate in draft.plan.gates}
    draft.plan.gates[:0] = [gate for gate in exits if title_key(gate.name) not in known]


def _rollout_stages(draft: Draft, root: Section) -> None:
    """Staged rollout percentages ("5% → 25% → 50% → 100%") anywhere in the plan become one
    rollout-stage gate per stage; a rollback rule ("Rollback if error rate > 1%") becomes
    each stage's rollback criterion."""
    stages, rollback, line = None, None, 0
    for section in root.walk():
        for text, at in section_texts(section):
            match = ROLLOUT.search(text)
            if match and stages is None:
                stages = [int(p) for p in PERCENT.findall(match.group(0))]
                line = at
            rule = ROLLBACK.search(text)
            if rule and rollback is None:
                rollback = (rule.group(1) or rule.group(2)).strip().rstrip(".")
    if not stages or draft.gate_table_seen:
        return
    for percent in stages:
        criteria = [PlanCriterion(f"Rollback if {rollback}", line)] if rollback else []
        draft.plan.gates.append(
            PlanGate(
                name=f"Rollout stage: {percent}% of traffic",
                kind="rollout_stage",
                derived=True,
                line=line,
                rollout_percent=percent,
                criteria=criteria,
            )
        )


def _inline_gates_into_table(draft: Draft) -> None:
    """An "Approval Gate: …" line after a step (D1) restates the table's gate for that step
    ("After D1", "Before D1"): it becomes that gate's description. One the table lacks
    stays a note."""
    table = [gate for gate in draft.plan.gates if not gate.inline]
    for inline in (gate for gate in draft.plan.gates if gate.inline):
        match = next(
            (
                gate
                for gate in table
                if _step(inline.timing) and _step(gate.timing) == _step(inline.timing)
            ),
            None,
        )
        if match is None:
            draft.used -= set(inline.blocks)
            continue
        match.description = "\n".join(filter(None, [match.description, inline.description]))
    draft.plan.gates = table
