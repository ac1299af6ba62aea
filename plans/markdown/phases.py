"""Phases as the plan's headings name them (Phase 1, Track D, Week 3, Sprint 2), the time each
takes, and the phase every section below such a heading belongs to."""

import re

from plans.markdown.blocks import title_key
from plans.markdown.imported import Draft, PlanPhase
from plans.markdown.reader import Section, plain
from plans.markdown.timing import Span, span_of

PHASE_TITLE = re.compile(
    r"^(?:(phase|stage|sprint|track|milestone)\s+([A-Z]|\d+)\b|(week|month|day)s?\s+\d+)",
    re.IGNORECASE,
)
PHASE_MENTION = re.compile(r"\b(phase|stage|sprint|track|milestone)\s+([A-Z]|\d+)\b", re.I)


def phases_find(draft: Draft, root: Section) -> None:
    """Phases are the headings that name one (Phase 1, Track D, Week 3, Sprint 2) at the
    shallowest level where such headings stand."""
    titles = [s for s in root.children if s.level == 1]
    document_title = titles[0] if len(titles) == 1 else None  # "# Sprint 8 - Plan"
    candidates = [
        s
        for s in root.walk()
        if s.level and s is not document_title and PHASE_TITLE.match(plain(s.title))
    ]
    if not candidates:
        return
    level = min(section.level for section in candidates)
    for section in candidates:
        if section.level == level:
            _phase_from(draft, section)


def _phase_from(draft: Draft, section: Section) -> PlanPhase:
    title = plain(section.title)
    match = PHASE_TITLE.match(title)
    key = (match.group(2) or "").upper() if match else ""
    span = span_of(title)
    name = re.sub(r"\s*\((?:[^)]*\b(?:week|month|day|sprint)s?\b[^)]*)\)", "", title, flags=re.I)
    name = re.sub(r"^(?:phase|stage|sprint|milestone)\s+\w+\s*[:.–-]?\s*", "", name, flags=re.I)
    if title.lower().startswith(("week", "month", "day")):
        name = title
    phase = PlanPhase(
        order=len(draft.plan.phases) + 1,
        name=name.strip(" :-–") or title,
        line=section.line,
        timing=_timing_words(title, span),
        span=span,
        key=key,
    )
    draft.plan.phases.append(phase)
    for mention in PHASE_MENTION.finditer(title):  # "Phase 1: Track D" answers to both
        draft.phase_by_key.setdefault(mention.group(2).upper(), phase)
    draft.phase_by_key.setdefault(title_key(phase.name), phase)
    section.phase = phase
    return phase


def _timing_words(title: str, span: Span | None) -> str:
    """The phase's timing as its heading writes it: the parenthesis holding the span ("After
    Day 10"), else the span's own words."""
    if span is None:
        return ""
    for words in re.findall(r"\(([^)]*)\)", title):
        if span.text in words:
            return words.strip()
    return span.text


def spans_below(root: Section) -> None:
    """A phase whose heading names no time takes it from its sub-sections (D1 (Day 1) …
    D6 (Day 4): days 1–4)."""
    for section in root.walk():
        phase = getattr(section, "phase", None)
        if phase is None or phase.span is not None:
            continue
        spans = [span_of(plain(s.title)) for s in section.walk() if s is not section]
        spans = [span for span in spans if span]
        if spans:
            start = min(span.start_day for span in spans)
            end = max(span.end_day for span in spans)
            unit_day = all(span.text.lower().startswith("day") for span in spans)
            timing = f"Days {start + 1}-{end + 1}" if unit_day else ""
            phase.span = Span(start, end, timing)
            phase.timing = timing


def phase_inherit(section: Section, phase) -> None:
    """Every section below a phase's heading belongs to that phase; each knows its parent's
    title."""
    own = getattr(section, "phase", None) or phase
    if own is not None and getattr(section, "phase", None) is None:
        section.enclosing_phase = own
    for child in section.children:
        child.parent_title = section.title
        phase_inherit(child, own)


def phase_of(section: Section) -> PlanPhase | None:
    """The phase a section names in its heading, or the one whose heading it stands under."""
    return getattr(section, "phase", None) or getattr(section, "enclosing_phase", None)


def parent_title(section: Section) -> str:
    return getattr(section, "parent_title", "")


def phase_by_label(draft: Draft, label: str) -> PlanPhase | None:
    """The phase a label names ("Phase 2 (Dual-Write)", "Track D"), if the plan has it."""
    match = PHASE_TITLE.match(plain(label))
    key = (match.group(2) or "").upper() if match else ""
    return draft.phase_by_key.get(key) if key else None


def phase_named(draft: Draft, name: str, line: int) -> PlanPhase:
    """The phase of that name, added after the others when the plan has none."""
    phase = draft.phase_by_key.get(title_key(name))
    if phase is None:
        phase = PlanPhase(order=len(draft.plan.phases) + 1, name=name, line=line)
        draft.plan.phases.append(phase)
        draft.phase_by_key[title_key(name)] = phase
    return phase
