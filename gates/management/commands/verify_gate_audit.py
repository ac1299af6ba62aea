from django.core.management.base import BaseCommand, CommandError

from gates import integrity
from gates.models import Gate
from gates.services import gate_audit_verify


class Command(BaseCommand):
    help = (
        "Check every gate's audit trail: each entry intact, in sequence and chained; the "
        "signatures and the decision as the trail records them; and the trail as the "
        "checkpoints kept outside the database last saw it."
    )

    def handle(self, *args, **options):
        # Read first, so that every checkpoint names what was committed before the gates are.
        path, exists, lines = integrity.checkpoint_file_state()
        broken, gate_ids = 0, set()
        for gate in Gate.objects.select_related("project").order_by("project__code", "order"):
            gate_ids.add(gate.pk)
            intact, message = gate_audit_verify(gate=gate)
            if not intact:
                broken += 1
                self.stderr.write(f"{gate}: {message}")
            elif options["verbosity"] > 1:
                self.stdout.write(f"{gate}: {message}")
        problems = integrity.checkpoint_file_problems(gate_ids=gate_ids, read_before=lines)
        for problem in problems:
            self.stderr.write(problem)
        if options["verbosity"] > 2:
            self.stdout.write(
                f"Checked against {lines} checkpoint line(s) in {path}."
                if exists
                else f"No checkpoint file at {path}: the trails were checked by their chains."
            )
        if broken or problems:
            failures = [f"{broken} gate trail(s) failed verification"] if broken else []
            if problems:
                failures.append(f"{len(problems)} problem(s) with the checkpoints")
            raise CommandError("; ".join(failures) + ".")
        self.stdout.write(self.style.SUCCESS("Every gate's audit trail is intact."))
