from django.core.management.base import BaseCommand

from gates import integrity


class Command(BaseCommand):
    help = (
        "Checkpoint every gate's audit trail outside the database: its head, entry count, state "
        "and decision, appended to the checkpoint file and the log, authenticated with "
        "AUDIT_SIGNING_KEY."
    )

    def handle(self, *args, **options):
        count = integrity.gate_audit_checkpoint()
        path, _, _ = integrity.checkpoint_file_state()
        self.stdout.write(self.style.SUCCESS(f"Checkpointed {count} gate trail(s) in {path}."))
