"""How a gate's approvers decide it: its groups, their rules, vetoes, and who may not approve.

A gate's rule is one or more approver groups combined with AND: the gate's own approvers (the
slots in no group, under the gate's rule) and each further group (`ApproverGroup`), each with
its rule (all / any / a quorum of N) and, for a group, a veto. Slots are people: one person
fills at most one slot of a gate (`policy.fill_slots`). Nobody approves their own work: whoever
opened the gate or changed its criteria, attested one of them, or owns an item of a checklist a
criterion judges may reject the gate but not approve it.

Everything here is pure: the queries are the callers'.
"""

from dataclasses import dataclass

from gates.models import Decision, DecisionRule

OWN_GROUP = None  # the key of the gate's own approvers: the slots in no group


@dataclass(frozen=True)
class Group:
    key: int | None  # the ApproverGroup's id, or OWN_GROUP
    name: str
    rule: str  # DecisionRule value
    quorum: int | None
    veto: bool
    slots: tuple[int, ...]

    @property
    def needed(self) -> int:
        """How many of its slots must be filled by approvals."""
        if self.rule == DecisionRule.ALL:
            return len(self.slots)
        if self.rule == DecisionRule.ANY:
            return 1
        return self.quorum or 1

    def in_words(self) -> str:
        """The group's rule as a person reads it: "all 2 must approve", "2 of 3 must approve,
        and one rejection decides NO-GO"."""
        count = len(self.slots)
        if self.rule == DecisionRule.ALL:
            words = "the one approver must approve" if count == 1 else f"all {count} must approve"
        elif self.rule == DecisionRule.ANY:
            words = f"any one of {count} approves"
        else:
            words = f"{self.quorum} of {count} must approve"
        if self.veto or (self.rule == DecisionRule.ALL and count > 1):
            words += ", and one rejection decides NO-GO"
        return words


@dataclass(frozen=True)
class GroupStanding:
    group: Group
    filled: int  # slots filled by approvals
    satisfied: bool
    failed: bool  # vetoed, or it can no longer be satisfied
    why_failed: str


def groups_of(gate, slots) -> list[Group]:
    """The gate's groups, its own approvers first, from its slots (each with `group`, and
    `group_id`); a group without slots asks nothing and is left out."""
    groups = {OWN_GROUP: (gate.name, gate.decision_rule, gate.quorum, False, [])}
    for slot in slots:
        if slot.group_id is not None and slot.group_id not in groups:
            group = slot.group
            groups[group.pk] = (group.name, group.rule, group.quorum, group.veto, [])
        groups[slot.group_id][4].append(slot.pk)
    ordered = sorted(
        groups.items(),
        key=lambda item: (item[0] is not None, item[1][0] if item[0] is not None else ""),
    )
    return [
        Group(key, name, rule, quorum, veto, tuple(sorted(members)))
        for key, (name, rule, quorum, veto, members) in ordered
        if members
    ]


def standing(
    groups: list[Group],
    holders: dict[int, set[int]],
    *,
    approving: set[int],
    rejecting: set[int],
    barred: set[int],
    fill_slots,
) -> list[GroupStanding]:
    """How each group stands on the signatures so far. `holders`: who may fill each slot;
    `approving`/`rejecting`: the people (ids) who approved or rejected; `barred`: who may not
    approve (their own work). `fill_slots` assigns people to slots, one each."""
    filled = fill_slots(holders, approving - barred)
    standings = []
    for group in groups:
        members = set().union(*(holders[slot] for slot in group.slots))
        filled_here = sum(1 for slot in group.slots if slot in filled)
        rejected = members & rejecting
        own_slots = {slot: holders[slot] for slot in group.slots}
        reachable = len(fill_slots(own_slots, members - rejecting - barred))
        # A group that nobody could ever satisfy (too few distinct people who may approve) is
        # a gate to set up again, shown on its page: it is not decided NO-GO for that.
        possible = len(fill_slots(own_slots, members - barred)) >= group.needed
        why = ""
        if rejected and (group.veto or group.rule == DecisionRule.ALL):
            why = "vetoed" if group.veto else "a required approver rejected"
        elif possible and reachable < group.needed:
            why = "too few approvers left who could approve"
        standings.append(
            GroupStanding(
                group=group,
                filled=filled_here,
                satisfied=filled_here >= group.needed,
                failed=bool(why),
                why_failed=why,
            )
        )
    return standings


def outcome(standings: list[GroupStanding]) -> str | None:
    """NO-GO once any group failed; GO once every group is satisfied; else undecided."""
    if not standings:
        return None
    if any(s.failed for s in standings):
        return Decision.NO_GO
    if all(s.satisfied for s in standings):
        return Decision.GO
    return None
