from django.core.management.base import BaseCommand

from demo.loader import USERS, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo programme built from the plans in demo/data/plans. Idempotent: only "
        "what is missing is created, and nothing users changed is overwritten."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give every demo user a new password (printed) even if the user exists.",
        )

    def handle(self, *args, reset_passwords: bool = False, **options):
        result = demo_load(reset_passwords=reset_passwords)
        if result.created:
            made = ", ".join(f"{count} {name}" for name, count in sorted(result.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Demo programme loaded: created {made}."))
        else:
            self.stdout.write("Demo programme already loaded: nothing to create.")
        if result.passwords:
            self.stdout.write("\nDemo logins (username / password, role):")
            for username, password in result.passwords.items():
                title = USERS[username][2]
                self.stdout.write(f"  {username:<12} {password:<14} {title}")
        else:
            self.stdout.write(
                "Demo users exist and keep their passwords; "
                "run with --reset-passwords to set new ones."
            )
