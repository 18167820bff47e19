from typing import Any

from django.core.management.base import BaseCommand

from campaigns.demo import DEMO_PASSWORD, LOGINS, demo_seed


class Command(BaseCommand):
    help = (
        "Fill the database with demo teams, people and campaigns (French B2B data). "
        "Idempotent: a second run creates nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = demo_seed()
        if options["verbosity"] == 0:
            return
        if not any(counts[key] for key in ("teams", "users", "memberships", "campaigns")):
            self.stdout.write("Demo data already present: nothing created.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data: {teams} teams, {users} people, {memberships} memberships and "
                "{campaigns} campaigns created ({campaigns_existing} already there); "
                "{events} timeline events, {notifications} notifications.".format(**counts)
            )
        )
        self.stdout.write(f"Log in as {', '.join(LOGINS)} with the password {DEMO_PASSWORD!r}.")
