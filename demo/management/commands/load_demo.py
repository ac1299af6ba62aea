from django.conf import settings
from django.core.management.base import BaseCommand

from demo.loader import USERS, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo programme built from the plans in demo/data/plans. Idempotent: only "
        "what is missing is created, and nothing users changed is overwritten. With DEBUG on, "
        "demo users get the documented demo password; with DEBUG off, random ones."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set every demo user's password again (the demo password with DEBUG on), "
            "even if the user exists.",
        )
        parser.add_argument(
            "--demo-password-without-debug",
            action="store_true",
            help="With DEBUG off, give demo users the documented demo password all the same "
            "(anyone who has read the README can then log in as them).",
        )

    def handle(self, *args, reset_passwords=False, demo_password_without_debug=False, **options):
        result = demo_load(
            reset_passwords=reset_passwords,
            demo_password_without_debug=demo_password_without_debug,
        )
        if result.created:
            made = ", ".join(f"{count} {name}" for name, count in sorted(result.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Demo programme loaded: created {made}."))
        else:
            self.stdout.write("Demo programme already loaded: nothing to create.")
        if result.passwords:
            self.stdout.write("\nDemo logins (username / password, role):")
            for username, password in result.passwords.items():
                title = USERS[username][2]
                self.stdout.write(f"  {username:<12} {password:<20} {title}")
        else:
            self.stdout.write(
                "Demo users exist and keep their passwords; "
                "run with --reset-passwords to set them again."
            )
        if result.passwords and not result.demo_password:
            self.stderr.write(
                "DEBUG is off: the public demo password was not set; the "
                "passwords above are random. Pass --demo-password-without-debug to use it."
            )
        for username in result.not_demo_users:
            self.stderr.write(
                f"A user named {username} exists and was not made by the demo: its password "
                "was left alone."
            )
        if not settings.DEBUG and result.demo_password:
            self.stderr.write(
                "DEBUG is off and the demo users have the public demo password: anyone who "
                "has read the README can log in as them."
            )
