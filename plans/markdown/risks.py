"""Risks as plans write them: a risk table, prose lines ("Data loss: high probability, high
impact") and arrows to a mitigation; one risk written twice is one."""

import re

from plans.markdown.blocks import cell_lines, cell_text, column_of, title_key
from plans.markdown.imported import Draft, PlanRisk, Unrecognised
from plans.markdown.reader import ListItem, Section, Table, plain

LIKELIHOOD_WORDS = ("likelihood", "probability")
SECTION_RATINGS = {"critical": (4, 5), "high": (3, 4), "medium": (3, 3), "low": (2, 2)}
PROSE_RISK = re.compile(
    r"^(?P<title>.+?)\s*[:—–-]\s*(?P<l>[a-z ]+?)\s+(?:probability|likelihood)\s*,\s*"
    r"(?P<i>[a-z ]+?)\s+impact\b",
    re.IGNORECASE,
)
ARROW_MITIGATION = re.compile(
    r"^(?P<title>.+?)\s*(?:→|->)\s*(?:mitigation\s*:\s*)?(?P<m>.+)$", re.I
)
GENERIC_WORDS = {
    "issues",
    "issue",
    "problems",
    "risk",
    "risks",
    "with",
    "from",
    "between",
    "during",
    "delays",
    "the",
    "and",
    "for",
    "existing",
    "due",
}


def _level_of(word: str) -> int | None:
    from risks.scoring import level_from

    try:
        return level_from(word.strip().split()[-1])
    except (ValueError, IndexError):
        return None


def risk_table(draft: Draft, table: Table, header: list[str], section: Section) -> None:
    key_col = column_of(header, "risk id", "id")
    title_col = column_of(header, "description", "risk")
    if title_col == key_col:
        title_col = column_of(header[key_col + 1 :], "description", "risk")
        title_col = None if title_col is None else title_col + key_col + 1
    columns = {
        "likelihood": column_of(header, *LIKELIHOOD_WORDS),
        "impact": column_of(header, "impact"),
        "category": column_of(header, "category"),
        "mitigation": column_of(header, "mitigation"),
        "owner": column_of(header, "owner"),
    }
    # A table under "High Risk" states the rating once for all its rows.
    first_word = title_key(section.title).split()[0] if section.title.strip() else ""
    rating = SECTION_RATINGS.get(first_word)
    for row, line in zip(table.rows, table.row_lines, strict=False):
        raw_title = row[title_col] if title_col is not None and title_col < len(row) else ""
        title, description = _title_and_description(raw_title)
        if not title:
            draft.plan.unrecognised.append(
                Unrecognised(line, " | ".join(row), "a risk row without a description")
            )
            continue
        likelihood = (
            _level_of(cell_text(row, columns["likelihood"]))
            if columns["likelihood"] is not None
            else None
        )
        impact = (
            _level_of(cell_text(row, columns["impact"])) if columns["impact"] is not None else None
        )
        stated = likelihood is not None and impact is not None
        if not stated and rating:
            likelihood, impact, stated = rating[0], rating[1], True
        _add_risk(
            draft,
            PlanRisk(
                title=title,
                line=line,
                likelihood=likelihood or 3,
                impact=impact or 3,
                levels_stated=stated,
                description=description,
                category=cell_text(row, columns["category"]),
                mitigation=cell_lines(row[columns["mitigation"]])
                if columns["mitigation"] is not None and columns["mitigation"] < len(row)
                else "",
                owner=cell_text(row, columns["owner"]),
                key=cell_text(row, key_col) if key_col is not None else "",
            ),
        )


def _title_and_description(cell: str) -> tuple[str, str]:
    """'**Data loss** - Migration script drops records' → ('Data loss', 'Migration …')."""
    bold = re.match(r"^\s*\*\*(.+?)\*\*\s*(?:[-–—:]\s*(.*))?$", cell, re.DOTALL)
    if bold:
        return plain(bold.group(1)), plain(bold.group(2) or "")
    return plain(cell), ""


def prose_risk(draft: Draft, item: ListItem) -> bool:
    """'Data loss: high probability, high impact', or else an arrow to a mitigation."""
    text = plain(item.text)
    match = PROSE_RISK.match(text)
    if not match:
        return arrow_risk(draft, item)
    likelihood, impact = _level_of(match.group("l")), _level_of(match.group("i"))
    if likelihood is None or impact is None:
        draft.plan.unrecognised.append(
            Unrecognised(item.line, text, "the likelihood or impact is not a level")
        )
        return True
    _add_risk(draft, PlanRisk(match.group("title").strip(), item.line, likelihood, impact))
    return True


def arrow_risk(draft: Draft, item: ListItem) -> bool:
    """'Data loss → Mitigation: snapshots before each step': a risk with no levels stated."""
    match = ARROW_MITIGATION.match(plain(item.text))
    if not match:
        return False
    _add_risk(
        draft,
        PlanRisk(
            match.group("title").strip(),
            item.line,
            levels_stated=False,
            mitigation=match.group("m").strip(),
        ),
    )
    return True


def _add_risk(draft: Draft, risk: PlanRisk) -> None:
    for known in draft.plan.risks:
        if _same_risk(known, risk):
            known.mitigation = known.mitigation or risk.mitigation
            if risk.levels_stated and not known.levels_stated:
                known.title, known.line = risk.title, risk.line  # the matrix names it
                known.likelihood, known.impact, known.levels_stated = (
                    risk.likelihood,
                    risk.impact,
                    True,
                )
            return
    draft.plan.risks.append(risk)


def _same_risk(known: PlanRisk, new: PlanRisk) -> bool:
    """The same title; or, where one of the two states no levels (a plan that lists its risks
    twice, once with mitigations and once in a matrix), nearly the same words."""
    if title_key(known.title) == title_key(new.title):
        return True
    if known.levels_stated and new.levels_stated:
        return False
    a, b = _content_words(known.title), _content_words(new.title)
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= 0.75


def _content_words(title: str) -> set[str]:
    return {
        word for word in re.findall(r"[a-z0-9/]+", title.lower()) if len(word) > 2
    } - GENERIC_WORDS
