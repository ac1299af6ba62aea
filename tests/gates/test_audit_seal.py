from datetime import timedelta

import pytest
from django.utils import timezone

from gates import services
from gates.models import AuditAction, Gate, GateAuditEntry
from tests.factories import GateFactory, UserFactory

pytestmark = pytest.mark.django_db


def _entries(gate, actor) -> list[GateAuditEntry]:
    at = timezone.now().replace(microsecond=0) - timedelta(days=3)
    return [
        GateAuditEntry(
            gate=gate,
            sequence=1,
            at=at,
            actor=actor,
            action=AuditAction.OPENED,
            before={},
            after={},
        ),
        GateAuditEntry(
            gate=gate,
            sequence=2,
            at=at + timedelta(hours=1),
            actor=None,
            action=AuditAction.CANCELLED,
            before={"state": "open"},
            after={"state": "cancelled"},
        ),
    ]


def test_a_trail_written_elsewhere_verifies_once_sealed():
    gate = GateFactory()
    entries = _entries(gate, UserFactory())
    head = services.gate_audit_seal(entries=entries)
    for entry in entries:  # as the import writes them: the head advances entry by entry
        entry.save()
        Gate.objects.filter(pk=gate.pk).update(audit_head=entry.entry_hash)

    assert entries[0].previous_hash == services.GENESIS
    assert entries[1].previous_hash == entries[0].entry_hash
    assert head == entries[1].entry_hash
    assert services.gate_audit_verify(gate=gate) == (True, "2 entries, intact.")


def test_sealing_no_entries_leaves_the_gate_without_a_head():
    assert services.gate_audit_seal(entries=[]) == ""
