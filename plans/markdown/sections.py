"""What each block of a section speaks of: a table by its header, a list by its section's title
or the label announcing it, a paragraph by its label; each is handed to what reads it."""

import re

from plans.markdown import reader
from plans.markdown.blocks import title_key
from plans.markdown.checklists import (
    PHASE_LABELS,
    checked_list,
    checklist,
    deployment_steps,
    external_dependencies,
    labelled_tasks,
    phase_field,
    phase_goals,
    phase_steps,
)
from plans.markdown.gates import (
    gate_table,
    inline_gate,
    release_gate,
    signoff_criteria,
    success_criteria_gate,
)
from plans.markdown.imported import Draft, PlanPhase
from plans.markdown.kpis import kpi_heading, kpi_line, kpi_table, phase_metrics
from plans.markdown.phases import PHASE_TITLE, phase_of
from plans.markdown.reader import CodeBlock, ListItem, Paragraph, Section, Table, plain
from plans.markdown.risks import LIKELIHOOD_WORDS, arrow_risk, prose_risk, risk_table

OVERVIEW_LABELS = {
    "project name": "name",
    "initiative": "summary",
    "project": "name",
    "current status": "status",
    "status": "status",
    "target delivery": "target_delivery",
    "target date": "target_delivery",
    "date": "date",
    "project manager": "manager",
    "document owner": "manager",
    "owner": "manager",
    "stakeholders": "stakeholders",
    "approach": "approach",
    "rationale": "approach_rationale",
    "timeline": "timeline",
    "estimated duration": "timeline",
    "scope": "scope",
    "phase": "stage",
    "budget": "budget",
}
TASK_LABELS = ("tasks", "tests", "checklist", "deliverables", "steps")


def section_read(draft: Draft, section: Section) -> None:
    title = title_key(section.title)
    phase = phase_of(section)
    pending = None  # a label ending in nothing ("**Tasks:**") announces the next list
    label_block = None
    for block in section.blocks:
        if isinstance(block, Table):
            _table(draft, block, section)
        elif isinstance(block, list) and pending is not None:
            _announced_list(draft, block, section, phase, pending)
            draft.label_of[id(block)] = id(label_block)
        elif isinstance(block, list):
            _list(draft, block, section, phase, title)
        elif isinstance(block, Paragraph):
            pair = reader.labelled(block.text)
            if pair and not pair[1].strip():
                pending, label_block = pair[0], block
                continue
            _paragraph(draft, block, section, phase)
        elif isinstance(block, CodeBlock):
            items = reader.code_checklist(block)
            if items and phase is not None:
                checklist(items, phase, section=plain(section.title))
                draft.used.add(id(block))
        pending = None


def _table(draft: Draft, table: Table, section: Section) -> None:
    header = [title_key(cell) for cell in table.header]
    draft.used.add(id(table))
    if any(word in cell for cell in header for word in LIKELIHOOD_WORDS) or (
        header and "risk" in header[0]
    ):
        risk_table(draft, table, header, section)
    elif (
        header
        and any("gate" in cell for cell in header)
        and any("approver" in cell for cell in header)
    ):
        gate_table(draft, table, header)
    elif header and re.search(r"metric|kpi|indicator", header[0]):
        kpi_table(draft, table, header, title_key(section.title))
    else:
        draft.used.discard(id(table))


def _announced_list(
    draft: Draft, items: list[ListItem], section: Section, phase: PlanPhase | None, label: str
) -> None:
    """The list after '**Tasks:**', '**Tests:**' or '**Phase 2 (Dual-Write):**': tasks of
    the phase, or (numbered, after a phase's name) the steps that describe it."""
    if any(item.checked is not None for item in items):
        checked_list(draft, items, section, phase, title_key(section.title))
        return
    named = PHASE_TITLE.match(label)
    if named and re.search(r"monitor|metric|kpi", title_key(section.title)):
        phase_metrics(draft, items, section, label)
        return
    if (
        named
        and re.search(r"deploy|rollout|release", title_key(section.title))
        and deployment_steps(draft, items, section, label)
    ):
        return
    if "signif" in label.lower() or (
        phase is None and re.search(r"approv|sign-?off", title_key(section.title))
    ):
        signoff_criteria(draft, items, section)
        return
    if named:
        phase_steps(draft, items, section, label)
        return
    kind = label.lower()
    if phase is None and kind == "success criteria":
        success_criteria_gate(draft, items, section)
        return
    if phase is None or kind not in TASK_LABELS:
        return
    labelled_tasks(draft, items, section, phase, label)


def _list(
    draft: Draft, items: list[ListItem], section: Section, phase: PlanPhase | None, title: str
) -> None:
    if any(item.checked is not None for item in items):
        checked_list(draft, items, section, phase, title)
        return
    if phase is not None and re.fullmatch(r"(?:objectives?|goals?|aims?)\W*", title):
        phase_goals(draft, items, phase)
        return
    if phase is None and "dependenc" in title:
        external_dependencies(draft, items, title)
        return
    recognised = False
    for item in items:
        pair = reader.labelled(item.text)
        if pair:
            recognised |= _labelled_item(draft, pair, item, phase)
        elif "risk" in title and prose_risk(draft, item):
            recognised = True
        elif kpi_heading(title) and phase is None:
            kpi_line(draft, item, title)
            recognised = True
    if recognised:
        draft.used.add(id(items))


def _labelled_item(draft: Draft, pair, item: ListItem, phase: PlanPhase | None) -> bool:
    label, raw = pair[0].lower(), pair[1]
    value = plain(raw)
    if phase is not None and label in PHASE_LABELS:
        phase_field(phase, PHASE_LABELS[label], value, item)
    elif label in OVERVIEW_LABELS and phase is None:
        draft.plan.overview.setdefault(OVERVIEW_LABELS[label], value)
    elif label == "success criteria" and phase is None:
        draft.plan.overview.setdefault("success_criteria", value)
        release_gate(draft, value, item.line)
    elif label == "risk assessment":
        for child in item.children:
            arrow_risk(draft, child)
    else:
        return False
    return True


def _paragraph(draft: Draft, block: Paragraph, section: Section, phase: PlanPhase | None) -> None:
    """A labelled paragraph ('**Owner:** Backend Lead'); one label a line when each of
    its lines starts with one ('**Status:** …' / '**Date:** …')."""
    lines = [line.strip() for line in block.text.splitlines() if line.strip()]
    pairs = [reader.labelled(line) for line in lines]
    if len(lines) < 2 or not all(pairs):
        pairs = [reader.labelled(block.text)]
    understood = [_labelled_line(draft, pair, block, section, phase) for pair in pairs if pair]
    if understood and all(understood):
        draft.used.add(id(block))


def _labelled_line(
    draft: Draft, pair, block: Paragraph, section: Section, phase: PlanPhase | None
) -> bool:
    label, value = pair[0].lower(), plain(pair[1])
    if phase is None and label in OVERVIEW_LABELS and value:
        draft.plan.overview.setdefault(OVERVIEW_LABELS[label], value)
        return True
    if label == "approval gate" and value and phase is not None:
        inline_gate(draft, block, section, value)
        return True
    return False
