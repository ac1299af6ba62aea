"""The gates' audit trails held against what the database cannot rewrite.

Whoever owns the database can rewrite anything in it, triggers included: empty a trail, chain a
new one with plain SHA-256, change a decision and the head the gate keeps. So every trail is
also checkpointed outside the database: after each committed append to it, and for every gate
periodically (`gates.tasks.gate_audit_checkpoint`, `manage.py checkpoint_gate_audit`), a line of
JSON is appended to `AUDIT_CHECKPOINT_FILE` and written to the `waymark.audit` log. It names the
database and, per gate, its id, project code, name, head, entry count, state and decision, and
carries an HMAC-SHA256 over its canonical JSON under `AUDIT_SIGNING_KEY`, a key the database
never holds.

A trail verifies when its chain is whole, its signatures (and the evidence each was given on)
and decision agree with it, and every authentic checkpoint of the gate still holds: the
checkpointed head is the entry at its sequence, and a decision checkpointed stands. A line that
does not authenticate is reported as a tampered checkpoint file. Removing lines from the file is
not seen here; the log keeps a copy.
"""

import hashlib
import hmac
import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from gates.evidence import canonical, pack_hash
from gates.models import AuditAction, Decision, Gate, GateAuditEntry, GateState

audit_log = logging.getLogger("waymark.audit")

# Gates per line of a full checkpoint: each line stays one modest write and one log record.
GATES_PER_LINE = 100


def _mac(key: bytes, body: dict) -> str:
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


def _database() -> str:
    """The database a checkpoint belongs to: checkpoints of another (a copy restored under
    another name, a test database) are not held against this one."""
    return str(connection.settings_dict["NAME"])


# Writing checkpoints


def gate_audit_checkpoint(*, gate_ids=None) -> int:
    """Checkpoint the trails of `gate_ids` (every gate with a trail when None): append their
    heads, entry counts, states and decisions to the checkpoint file and the log. Returns how
    many gates were checkpointed."""
    head_sequence = GateAuditEntry.objects.filter(
        gate=OuterRef("pk"), entry_hash=OuterRef("audit_head")
    ).values("sequence")[:1]
    gates = Gate.objects.exclude(audit_head="")
    if gate_ids is not None:
        gates = gates.filter(pk__in=gate_ids)
    rows = gates.annotate(entries=Subquery(head_sequence)).values(
        "pk", "project__code", "name", "audit_head", "entries", "state", "decision", "decided_at"
    )
    named = []
    for row in rows.order_by("pk"):
        if row["entries"] is None:
            audit_log.warning(
                "%s: %s (gate #%s) is not checkpointed: its head is not an entry of its trail",
                row["project__code"],
                row["name"],
                row["pk"],
            )
            continue
        named.append(
            {
                "gate": row["pk"],
                "project": row["project__code"],
                "name": row["name"],
                "head": row["audit_head"],
                "entries": row["entries"],
                "state": row["state"],
                "decision": row["decision"],
                "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
            }
        )
    body = {
        "at": timezone.now().isoformat(),
        "database": _database(),
        "kind": "full" if gate_ids is None else "commit",
    }
    for start in range(0, len(named), GATES_PER_LINE):
        _append({**body, "gates": named[start : start + GATES_PER_LINE]})
    return len(named)


def _append(body: dict) -> None:
    """One authenticated line, appended in one write: lines of processes writing at once
    never interleave."""
    line = canonical({**body, "mac": _mac(settings.AUDIT_SIGNING_KEY.encode(), body)})
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(descriptor, line + b"\n")
    finally:
        os.close(descriptor)
    if written != len(line) + 1:
        raise OSError(f"checkpoint line cut short in {path} ({written} of {len(line) + 1} bytes)")
    audit_log.info("gate audit checkpoint %s", line.decode())


class _CheckpointAfterCommit:
    def __init__(self, gate_id: int):
        self.gate_id, self.done = gate_id, False

    def __call__(self) -> None:
        self.done = True
        gate_audit_checkpoint(gate_ids=[self.gate_id])


def gate_audit_checkpoint_on_commit(gate_id: int) -> None:
    """Checkpoint the gate once the transaction appending to its trail commits: once however
    many entries the transaction appends. A checkpoint that cannot be written is logged and
    leaves the committed work alone; the periodic checkpoint covers the gate again."""
    pending = getattr(transaction.get_connection(), "run_on_commit", [])
    if any(
        isinstance(callback, _CheckpointAfterCommit)
        and callback.gate_id == gate_id
        and not callback.done
        for _, callback, _ in pending
    ):
        return
    transaction.on_commit(_CheckpointAfterCommit(gate_id), robust=True)


# Reading checkpoints


@dataclass(frozen=True)
class Anchor:
    """What one authentic checkpoint said of a gate."""

    line: int
    at: str
    project: str
    name: str
    head: str
    entries: int
    state: str
    decision: str | None
    decided_at: str | None


@dataclass
class CheckpointFile:
    """The checkpoint file as read so far, for this database: per gate, each distinct thing
    its authentic checkpoints said, and the lines naming it that do not authenticate; and the
    lines that cannot be read as a checkpoint at all. A process reads the file once, then only
    the lines appended to it (all of it again if it is replaced or shrinks)."""

    path: Path
    key: bytes
    database: str
    exists: bool = False
    identity: tuple[int, int] | None = None
    offset: int = 0
    lines: int = 0
    anchors: dict[int, dict[tuple, Anchor]] = field(default_factory=lambda: defaultdict(dict))
    forged: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    unreadable: list[int] = field(default_factory=list)

    def refresh(self) -> None:
        """Read the lines appended since the last read; a last line still without its newline
        is left for the next."""
        try:
            with open(self.path, "rb") as file:
                stat = os.fstat(file.fileno())
                if (stat.st_dev, stat.st_ino) != self.identity or stat.st_size < self.offset:
                    self._forget()
                    self.identity = (stat.st_dev, stat.st_ino)
                file.seek(self.offset)
                data = file.read()
        except FileNotFoundError:
            self._forget()
            return
        self.exists = True
        complete = data.rfind(b"\n") + 1
        for raw in data[:complete].split(b"\n")[:-1]:
            self.lines += 1
            self._take(self.lines, raw)
        self.offset += complete

    def _forget(self) -> None:
        self.exists, self.identity, self.offset, self.lines = False, None, 0, 0
        self.anchors.clear()
        self.forged.clear()
        self.unreadable.clear()

    def _take(self, number: int, raw: bytes) -> None:
        try:
            record = json.loads(raw)
            mac = record.pop("mac")
            if record["database"] != self.database:
                return  # another database's checkpoint: not this one's to answer
            named = [entry["gate"] for entry in record["gates"]]
            if not named or any(type(gate_id) is not int for gate_id in named):
                raise ValueError("a checkpoint names gates by their ids")
            if not hmac.compare_digest(str(mac), _mac(self.key, record)):
                for gate_id in named:
                    self.forged[gate_id].append(number)
                return
            anchors = [
                Anchor(
                    line=number,
                    at=record["at"],
                    project=entry["project"],
                    name=entry["name"],
                    head=entry["head"],
                    entries=entry["entries"],
                    state=entry["state"],
                    decision=entry["decision"],
                    decided_at=entry["decided_at"],
                )
                for entry in record["gates"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            self.unreadable.append(number)
            return
        for gate_id, anchor in zip(named, anchors, strict=True):
            said = (anchor.entries, anchor.head, anchor.state, anchor.decision, anchor.decided_at)
            self.anchors[gate_id].setdefault(said, anchor)


_file: CheckpointFile | None = None
_file_lock = threading.Lock()
Read = TypeVar("Read")


def _checkpoints(read: Callable[[CheckpointFile], Read]) -> Read:
    """`read(file)` on the checkpoint file brought up to date, under the lock that keeps one
    copy of it per process."""
    global _file
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    key, database = settings.AUDIT_SIGNING_KEY.encode(), _database()
    with _file_lock:
        if _file is None or (_file.path, _file.key, _file.database) != (path, key, database):
            _file = CheckpointFile(path=path, key=key, database=database)
        _file.refresh()
        return read(_file)


# Verifying


def gate_trail_verify(*, gate: Gate, entry_hash, genesis: str) -> tuple[bool, str]:
    """Walk the gate's trail (each entry hashes, by `entry_hash`, to what it says, follows
    the one before from `genesis` and leaves no gap; the last is the gate's head). If the
    chain holds, hold it against the signatures, the gate's decision and the checkpoints.
    A constant number of queries, whatever the trail's length."""
    # The file first: a checkpoint names only what had been committed when it was written.
    anchors, forged = _checkpoints(
        lambda file: (
            list(file.anchors.get(gate.pk, {}).values()),
            list(file.forged.get(gate.pk, [])),
        )
    )
    # Then the gate, its signatures and its trail as of one moment: under the gate's row lock,
    # which every change to them holds until it commits (on SQLite, the database's).
    with transaction.atomic():
        current = (
            Gate.objects.select_for_update(no_key=True)
            .values("audit_head", "state", "decision", "decided_at")
            .get(pk=gate.pk)
        )
        signoffs = list(
            gate.signoffs.values_list("pk", "signer_id", "signer__username", "content_hash")
        )
        packs = list(
            gate.signoffs.filter(evidence__isnull=False).values_list(
                "pk",
                "signer__username",
                "content_hash",
                "evidence__content_hash",
                "evidence__content",
            )
        )
        entries = list(gate.audit_entries.order_by("sequence"))
    broken = _chain_problem(entries, current["audit_head"], entry_hash, genesis)
    if broken:
        return False, broken
    problems = [
        *_signature_problems(entries, signoffs),
        *_evidence_problems(packs),
        *_decision_problems(entries, current),
        *_checkpoint_problems(entries, current, anchors),
        *(
            f"Checkpoint line {line} for this gate fails its authentication: the checkpoint "
            "file was tampered with."
            for line in forged
        ),
    ]
    if problems:
        return False, " ".join(problems)
    return True, f"{len(entries)} entries, intact."


def _chain_problem(entries, head: str, entry_hash, genesis: str) -> str:
    previous, expected_sequence = genesis, 1
    for entry in entries:
        if entry.sequence != expected_sequence:
            return f"Entry {expected_sequence} is missing."
        if entry.previous_hash != previous:
            return f"Entry {entry.sequence} does not follow entry {entry.sequence - 1}."
        if entry_hash(entry) != entry.entry_hash:
            return f"Entry {entry.sequence} was changed after it was written."
        previous, expected_sequence = entry.entry_hash, expected_sequence + 1
    if previous != (head or genesis):
        return "The latest entries are missing: the trail ends before the gate's head."
    return ""


def _signature_problems(entries, signoffs) -> list[str]:
    """Every signature has its SIGNED entry (same signer, same hash of what was signed) and
    every SIGNED entry's signature is still there."""
    recorded = {
        entry.after["signoff"]: entry
        for entry in entries
        if entry.action == AuditAction.SIGNED and type(entry.after.get("signoff")) is int
    }
    problems = []
    present = set()
    for pk, signer_id, username, content_hash in signoffs:
        present.add(pk)
        entry = recorded.get(pk)
        if entry is None:
            problems.append(
                f"A signature without its entry: {username}'s signature (#{pk}) is not in "
                "the trail."
            )
        elif (entry.after.get("signer"), entry.after.get("content_hash")) != (
            signer_id,
            content_hash,
        ):
            problems.append(
                f"{username}'s signature (#{pk}) is not the one entry {entry.sequence} "
                "records: its signer or what was signed changed."
            )
    problems += [
        f"A deleted signature: entry {entry.sequence} records signature #{pk}, which is no "
        "longer there."
        for pk, entry in recorded.items()
        if pk not in present
    ]
    return problems


def _evidence_problems(packs) -> list[str]:
    """Every signature's evidence pack still hashes to what the signature binds to."""
    return [
        f"{username}'s signature (#{pk}): the evidence it was given on was changed after signing."
        for pk, username, bound, stored, content in packs
        if not (pack_hash(content) == stored == bound)
    ]


def _said(state: str, decision: str | None, decided_at) -> str:
    if state != GateState.DECIDED:
        return GateState(state).label.lower() if state in GateState.values else state
    label = Decision(decision).label if decision in Decision.values else decision
    when = decided_at.isoformat() if hasattr(decided_at, "isoformat") else decided_at
    return f"decided {label} at {when}"


def _decision_problems(entries, current: dict) -> list[str]:
    """The gate's decision and its time are those of the trail's latest DECIDED entry; a
    gate whose trail records no decision is not decided."""
    now = _said(current["state"], current["decision"], current["decided_at"])
    decided = [entry for entry in entries if entry.action == AuditAction.DECIDED]
    if not decided:
        if entries and current["state"] == GateState.DECIDED:
            return [f"The gate says it was {now}, but its trail records no decision."]
        return []
    entry = decided[-1]
    recorded = (GateState.DECIDED, entry.after.get("decision"), entry.at)
    decided_at = current["decided_at"]
    stands = (
        current["state"],
        current["decision"],
        decided_at.replace(microsecond=0) if decided_at else None,
    )
    if stands != recorded:
        return [
            f"The gate says it is {now}, but entry {entry.sequence} of its trail records it "
            f"{_said(*recorded)}."
        ]
    return []


def _checkpoint_problems(entries, current: dict, anchors: list[Anchor]) -> list[str]:
    """Every checkpointed head is still the entry at its sequence, and a decision
    checkpointed is still the gate's; the latest disagreement of each kind is told."""
    hashes = {entry.sequence: entry.entry_hash for entry in entries}
    now = _said(current["state"], current["decision"], current["decided_at"])
    decided_at = current["decided_at"].isoformat() if current["decided_at"] else None
    stands = (current["state"], current["decision"], decided_at)
    cut = rewritten = overturned = None
    for anchor in sorted(anchors, key=lambda anchor: (anchor.entries, anchor.line)):
        if anchor.entries > len(entries):
            cut = anchor
        elif hashes.get(anchor.entries) != anchor.head:
            rewritten = anchor
        said = (anchor.state, anchor.decision, anchor.decided_at)
        if anchor.state == GateState.DECIDED and said != stands:
            overturned = anchor
    problems = []
    if cut:
        problems.append(
            f"The trail has {len(entries)} entries, but held {cut.entries} when checkpointed "
            f"at {cut.at}: entries were removed."
        )
    if rewritten:
        problems.append(
            f"Entry {rewritten.entries} is not the one checkpointed at {rewritten.at}: the "
            "trail was rewritten."
        )
    if overturned:
        then = _said(overturned.state, overturned.decision, overturned.decided_at)
        problems.append(
            f"When checkpointed at {overturned.at} the gate was {then}; now it is {now}."
        )
    return problems


def checkpoint_file_problems(*, gate_ids: set[int], read_before: int) -> list[str]:
    """What the checkpoint file says that no single gate's verification does: gates named in
    its first `read_before` lines (read before `gate_ids`, every gate there is, were) that no
    longer exist, and lines that are not checkpoints this portal wrote."""

    def read(file: CheckpointFile) -> list[str]:
        problems = []
        for gate_id, said in sorted(file.anchors.items()):
            earlier = [anchor for anchor in said.values() if anchor.line <= read_before]
            if gate_id in gate_ids or not earlier:
                continue
            last = max(earlier, key=lambda anchor: (anchor.entries, anchor.line))
            problems.append(
                f"{last.project}: {last.name} (gate #{gate_id}) no longer exists; the "
                f"checkpoint of {last.at} names it with {last.entries} audit entries."
            )
        problems += [
            f"Checkpoint line {number} of {file.path} is not a checkpoint this portal wrote "
            "(unreadable, or failing its authentication): the checkpoint file was tampered with."
            for number in file.unreadable
        ]
        problems += [
            f"Checkpoint line {number} of {file.path} names gate #{gate_id}, which is not "
            "there, and fails its authentication: the checkpoint file was tampered with."
            for gate_id, numbers in sorted(file.forged.items())
            if gate_id not in gate_ids
            for number in numbers
        ]
        return problems

    return _checkpoints(read)


def checkpoint_file_state() -> tuple[Path, bool, int]:
    """The checkpoint file's path, whether it exists, and how many lines were read from it."""
    return _checkpoints(lambda file: (file.path, file.exists, file.lines))
