from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_PASSWORD, DemoDataError, demo_load, demo_seed


class Command(BaseCommand):
    help = (
        "Fill the database with demo teams, people and campaigns (French B2B data, from "
        "demo/data/). Idempotent: a second run creates nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            demo = demo_load()
        except DemoDataError as error:
            raise CommandError(f"The demo data cannot be played: {error}") from error
        counts = demo_seed(demo)
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
        self.stdout.write(
            f"Log in as {', '.join(demo.logins)} with the password {DEMO_PASSWORD!r}."
        )
