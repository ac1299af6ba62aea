"""What a plan says, recognised from its sections: overview, phases with their checklists,
risks, KPIs and gates. Every item keeps the line it came from; what is not understood is kept
as a project note and listed, never dropped."""

import re

from plans.markdown.blocks import block_text, title_key
from plans.markdown.gates import gates_settle
from plans.markdown.imported import (
    Draft,
    ImportedPlan,
    Note,
    PlanCriterion,
    PlanGate,
    PlanItem,
    PlanKPI,
    PlanPhase,
    PlanRisk,
    Unrecognised,
)
from plans.markdown.phases import phase_inherit, phases_find, spans_below
from plans.markdown.reader import Section, plain
from plans.markdown.sections import section_read

__all__ = [
    "ImportedPlan",
    "Note",
    "PlanCriterion",
    "PlanGate",
    "PlanItem",
    "PlanKPI",
    "PlanPhase",
    "PlanRisk",
    "Unrecognised",
    "recognise",
]

PLAN_WORDS = re.compile(
    r"\s*[-–:]?\s*\b(?:migration|implementation|project)?\s*plan\b\s*[-–:]?\s*", re.I
)


def recognise(root: Section) -> ImportedPlan:
    draft = Draft()
    _keep_notes_section(draft, root)
    phases_find(draft, root)
    spans_below(root)
    phase_inherit(root, None)
    for section in root.walk():
        section_read(draft, section)
    gates_settle(draft, root)
    _leftovers(draft, root)
    draft.plan.overview.setdefault("name", _document_name(root))
    return draft.plan


def _keep_notes_section(draft: Draft, root: Section) -> None:
    """A '## Notes' section (as an export writes) is kept as it stands, unread."""
    for section in list(root.walk()):
        for child in list(section.children):
            if title_key(child.title) == "notes":
                section.children.remove(child)
                draft.plan.notes.append(Note("Notes", child.line, child.body, verbatim=True))


def _leftovers(draft: Draft, root: Section) -> None:
    """Every block nothing was read from, kept as a note under its section's title."""
    # A label that announced a list ("**Tasks:**") went wherever its list went.
    draft.used |= {label for items, label in draft.label_of.items() if items in draft.used}
    for section in root.walk():
        unused = [block for block in section.blocks if id(block) not in draft.used]
        if not unused:
            continue
        text = "\n\n".join(block_text(block) for block in unused).strip()
        if text:
            draft.plan.notes.append(Note(plain(section.title) or "Preamble", section.line, text))


def _document_name(root: Section) -> str:
    """The plan's name from its title ('# Sprint 8 - Implementation Plan' → 'Sprint 8'); a title
    in capitals defers to the subtitle under it."""
    for section in root.walk():
        if section.level != 1 or not re.search(r"\bplan\b", section.title, re.I):
            continue
        name = PLAN_WORDS.sub(" ", plain(section.title)).strip(" :-–")
        subtitle = section.children[0].title if section.children else ""
        if (not name or name.isupper()) and subtitle:
            return plain(subtitle)
        if name:
            return name
    titled = next((s for s in root.walk() if s.level), None)
    return plain(titled.title) if titled else "Imported plan"
