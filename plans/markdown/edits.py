"""The changes a person makes in the import preview, applied to the recognised plan before it
is saved: names and titles as edited, levels of risks, and what was left out."""

from plans.markdown.recognise import ImportedPlan


class EditRefused(ValueError):
    """An edit that cannot be applied; the message says which and why."""


def _kept(data, prefix: str) -> bool:
    return data.get(f"{prefix}-include") == "on"


def _text(data, key: str, current: str, limit: int) -> str:
    value = " ".join(str(data.get(key, "")).split())
    return value[:limit] if value else current


def _level(data, key: str, current: int, what: str) -> int:
    raw = str(data.get(key, current)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 5:
        raise EditRefused(f"{what} must be a level from 1 to 5, not {raw!r}.")
    return int(raw)


def plan_apply_edits(plan: ImportedPlan, data) -> ImportedPlan:
    """`plan` as the preview form `data` leaves it (the form names every row by its position:
    phase-0-name, item-0-3-include, risk-2-impact, …)."""
    if data.get("name", "").strip():
        plan.overview["name"] = " ".join(data["name"].split())[:200]
    phases = []
    for index, phase in enumerate(plan.phases):
        if not _kept(data, f"phase-{index}"):
            continue
        phase.name = _text(data, f"phase-{index}-name", phase.name, 200)
        phase.items = [
            item
            for position, item in enumerate(phase.items)
            if _kept(data, f"item-{index}-{position}")
        ]
        phases.append(phase)
    for order, phase in enumerate(phases, start=1):
        phase.order = order
    plan.phases = phases
    risks = []
    for index, risk in enumerate(plan.risks):
        if not _kept(data, f"risk-{index}"):
            continue
        risk.title = _text(data, f"risk-{index}-title", risk.title, 300)
        risk.likelihood = _level(data, f"risk-{index}-likelihood", risk.likelihood, risk.title)
        risk.impact = _level(data, f"risk-{index}-impact", risk.impact, risk.title)
        risks.append(risk)
    plan.risks = risks
    kpis = []
    for index, kpi in enumerate(plan.kpis):
        if _kept(data, f"kpi-{index}"):
            kpi.name = _text(data, f"kpi-{index}-name", kpi.name, 200)
            kpis.append(kpi)
    plan.kpis = kpis
    gates = []
    for index, gate in enumerate(plan.gates):
        if _kept(data, f"gate-{index}"):
            gate.name = _text(data, f"gate-{index}-name", gate.name, 200)
            gates.append(gate)
    plan.gates = gates
    return plan
