"""A phase's checklist and facts: its ticked lists, tasks, steps and deliverables, its goal,
owners and success criteria; and the checklists that stand outside the phases."""

import re
from dataclasses import replace

from plans.markdown import reader
from plans.markdown.blocks import title_key
from plans.markdown.gates import signoff
from plans.markdown.imported import Draft, PlanItem, PlanPhase
from plans.markdown.phases import parent_title, phase_by_label, phase_named
from plans.markdown.reader import ListItem, Section, plain

PHASE_LABELS = {
    "key deliverables": "deliverables",
    "deliverables": "deliverables",
    "resource requirements": "resources",
    "resources": "resources",
    "success criteria": "success_criteria",
    "owner": "owners",
    "owners": "owners",
    "goal": "goal",
    "objective": "goal",
}


def phase_field(phase: PlanPhase, field_name: str, value: str, item: ListItem) -> None:
    """A labelled fact of the phase ('**Deliverables:** a; b', '**Owner:** …')."""
    parts = [part.strip() for part in re.split(r";\s*", value) if part.strip()]
    if field_name == "deliverables":
        phase.deliverables.extend(parts)
        for part in parts:
            phase.items.append(
                PlanItem(part, item.line, section="Deliverables", kind="deliverable")
            )
    elif field_name == "success_criteria":
        phase.success_criteria.extend(parts)
    elif field_name == "resources":
        phase.resources = value
    elif field_name == "owners":
        phase.owners = value
    elif field_name == "goal":
        phase.goal = value


def phase_goals(draft: Draft, items: list[ListItem], phase: PlanPhase) -> None:
    """A list under a phase's 'Objectives' heading: the phase's goal."""
    lines = [
        f"{n}. {plain(i.text)}" if i.ordered else f"- {plain(i.text)}"
        for n, i in enumerate(items, 1)
    ]
    phase.goal = "\n".join(filter(None, [*lines, phase.goal]))
    draft.used.add(id(items))


def external_dependencies(draft: Draft, items: list[ListItem], title: str) -> None:
    """External dependencies: things to have in hand before the work needs them."""
    first = draft.plan.phases[0] if draft.plan.phases else phase_named(draft, title, 0)
    for item in items:
        first.items.append(PlanItem(plain(item.text), item.line, section="External dependencies"))
    draft.used.add(id(items))


def checked_list(draft: Draft, items: list[ListItem], section: Section, phase, title: str) -> None:
    """A checklist: its items go to the phase whose section holds it, or make the criteria
    of a sign-off gate when the section is a sign-off or approval."""
    draft.used.add(id(items))
    if re.search(r"sign-?off|approv|validation", title) or re.search(
        r"sign-?off|approv|validation", title_key(parent_title(section))
    ):
        signoff(draft, items, section)
        return
    named = phase_by_label(draft, plain(section.title))
    if "success criteria" in title and (named or phase):
        target = named or phase
        target.success_criteria.extend(plain(item.text) for item in items)
        return
    group = "" if phase is not None else plain(section.title)
    if phase is None:
        # A checklist outside the phases makes a stage of its own, named after the part
        # of the plan that holds it ("Production Deployment Strategy", not its
        # "Pre-Deployment Checklist").
        stage = parent_title(section) if section.level > 2 else ""
        phase = named or phase_named(draft, plain(stage or section.title), section.line)
    if "dependenc" in title:
        # "Requires from Track D: ✅ …": the marks list what is needed, not what is done.
        items = [replace(item, checked=False) for item in items]
    checklist(items, phase, section=group)


def checklist(items: list[ListItem], phase: PlanPhase, section: str) -> None:
    for item in items:
        text = plain(item.text)
        if any(child.checked is not None for child in item.children):
            # A line with checklist sub-items names a group ("Week 1-2: Schema design"):
            # its children are the items, in a section named after it.
            checklist(item.children, phase, section=text)
            continue
        phase.items.append(
            PlanItem(text, item.line, done=bool(item.checked), section=section, detail=item.detail)
        )


def deployment_steps(draft: Draft, items: list[ListItem], section: Section, label: str) -> bool:
    """Under a deployment heading, the list after '**Phase 1: Track D (Off-Hours Window)**':
    steps of that phase to carry out and tick off. False when the plan has no such phase."""
    target = phase_by_label(draft, label)
    if target is None:
        return False
    window = re.search(r"\(([^)]*)\)\s*$", label)
    group = plain(section.title) + (f" ({window.group(1)})" if window else "")
    for item in items:
        target.items.append(
            PlanItem(plain(item.text), item.line, section=group, detail=item.detail)
        )
    draft.used.add(id(items))
    return True


def phase_steps(draft: Draft, items: list[ListItem], section: Section, label: str) -> None:
    """The list after a phase's name ('**Phase 2 (Dual-Write):**'): numbered steps or labelled
    facts ("Why first: …") describe the phase; other items are its tasks."""
    target = phase_by_label(draft, label)
    if target is None:
        return
    described = all((pair := reader.labelled(i.text)) and pair[1].strip() for i in items)
    if described or (items and items[0].ordered):
        lines = [f"{n}. {plain(i.text)}" for n, i in enumerate(items, 1)]
        if described:
            lines = [plain(i.text) for i in items]
        target.goal = (target.goal + "\n" + "\n".join(lines)).strip()
    else:
        for item in items:
            target.items.append(PlanItem(plain(item.text), item.line, section=plain(section.title)))
    draft.used.add(id(items))


def labelled_tasks(
    draft: Draft, items: list[ListItem], section: Section, phase: PlanPhase, label: str
) -> None:
    """The list after '**Tasks:**', '**Tests:**', '**Checklist:**', '**Deliverables:**' or
    '**Steps:**' in a phase's section: its items, grouped by the section (and label)."""
    kind = label.lower()
    name = plain(section.title)
    group = name if kind in ("tasks", "steps", "checklist") else f"{name}: {label}"
    for item in items:
        title = reader.labelled(item.text)
        text = title[0] if title and not title[1] else plain(item.text)
        phase.items.append(
            PlanItem(
                text,
                item.line,
                done=bool(item.checked),
                section=group,
                kind="deliverable" if kind == "deliverables" else "task",
                detail=item.detail,
            )
        )
    draft.used.add(id(items))
