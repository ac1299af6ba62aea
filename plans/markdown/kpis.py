"""KPIs and their targets as plans write them: a metrics table, lines under a KPI heading
("p95 write latency < 15ms"), and the metrics a monitoring section lists for a phase."""

import re

from plans.markdown import reader
from plans.markdown.blocks import cell_text, column_of, item_text, title_key
from plans.markdown.imported import Draft, Note, PlanKPI, Unrecognised
from plans.markdown.reader import ListItem, Section, Table, plain
from plans.markdown.targets import parse_target, split_kpi_line


def kpi_heading(title: str) -> bool:
    return bool(re.search(r"kpi|metric|indicator", title))


def _kind_and_category(title: str) -> tuple[str, str]:
    kind = "leading" if "leading" in title else "counter" if "counter" in title else "lagging"
    category = (
        "business" if "business" in title else "project" if "project" in title else "technical"
    )
    return kind, category


def kpi_line(draft: Draft, item: ListItem, title: str, numeric_only: bool = False) -> bool:
    """A KPI from a line ("p95 write latency < 15ms"); with `numeric_only`, only one that
    states a target."""
    line = reader.plain(item.text)
    split = split_kpi_line(line)
    if numeric_only and split.target is None:
        return False
    kind, category = _kind_and_category(title)
    draft.plan.kpis.append(
        PlanKPI(
            name=split.name,
            line=item.line,
            kind=kind,
            category=category,
            target_text=line,
            target=split.target,
        )
    )
    return True


def kpi_table(draft: Draft, table: Table, header: list[str], title: str) -> None:
    kind, category = _kind_and_category(title)
    columns = {
        "baseline": column_of(header, "baseline"),
        "target": column_of(header, "target", "threshold"),
        "method": column_of(header, "method", "why"),
        "cadence": column_of(header, "cadence", "frequency"),
        "owner": column_of(header, "owner"),
        "category": column_of(header, "category"),
        "unit": column_of(header, "unit"),
    }
    for row, line in zip(table.rows, table.row_lines, strict=False):
        name = cell_text(row, 0)
        if not name:
            continue
        stated_category = cell_text(row, columns["category"]).lower()
        if stated_category in ("technical", "business", "project"):
            category = stated_category
        target_text = cell_text(row, columns["target"])
        draft.plan.kpis.append(
            PlanKPI(
                name=name,
                line=line,
                kind=kind,
                category=category,
                baseline_text=cell_text(row, columns["baseline"]),
                target_text=target_text,
                target=parse_target(target_text),
                method=cell_text(row, columns["method"]),
                cadence_text=cell_text(row, columns["cadence"]),
                owner=cell_text(row, columns["owner"]),
                unit=cell_text(row, columns["unit"]),
            )
        )


def phase_metrics(draft: Draft, items: list[ListItem], section: Section, label: str) -> None:
    """The metrics a monitoring section lists for a phase ('**Phase 1:**'): each with a numeric
    target is a KPI; the others are listed as not understood and kept in the notes."""
    kept = []
    for item in items:
        if re.search(r"\blogs?\b", plain(item.text), re.IGNORECASE):
            # "Slow query logs (> 100ms)": the figure says what is logged, not a target.
            why = "a log to watch, not a metric with a target"
        elif kpi_line(draft, item, title_key(section.title), numeric_only=True):
            continue
        else:
            why = "a metric without a numeric target"
        draft.plan.unrecognised.append(Unrecognised(item.line, plain(item.text), why))
        kept.append(item_text(item, 0))
    if kept:  # the lines that are not metrics stay in the notes
        draft.plan.notes.append(
            Note(f"{plain(section.title)}: {label}", items[0].line, "\n".join(kept))
        )
    draft.used.add(id(items))
