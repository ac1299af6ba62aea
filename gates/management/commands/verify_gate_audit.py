from django.core.management.base import BaseCommand, CommandError

from gates.models import Gate
from gates.services import gate_audit_verify


class Command(BaseCommand):
    help = "Check every gate's audit trail: each entry intact, in sequence and chained."

    def handle(self, *args, **options):
        broken = 0
        for gate in Gate.objects.select_related("project").order_by("project__code", "order"):
            intact, message = gate_audit_verify(gate=gate)
            if not intact:
                broken += 1
                self.stderr.write(f"{gate}: {message}")
            elif options["verbosity"] > 1:
                self.stdout.write(f"{gate}: {message}")
        if broken:
            raise CommandError(f"{broken} gate trail(s) failed verification.")
        self.stdout.write(self.style.SUCCESS("Every gate's audit trail is intact."))
