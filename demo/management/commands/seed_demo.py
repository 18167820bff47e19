from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.seed import (
    DEMO_PASSWORD,
    Demo,
    DemoDataError,
    demo_foreign_accounts,
    demo_load,
    demo_seed,
)


def refuse_foreign_data(demo: Demo, *, command: str) -> None:
    """CommandError when the database holds accounts other than the demo people."""
    count, sample = demo_foreign_accounts(demo)
    if count:
        raise CommandError(
            f"Refusing to run {command}: this database holds {count} account(s) that are not "
            f"demo accounts (e.g. {', '.join(sample)}). The demo adds a superuser with a "
            "public password. Point DATABASE_URL (or DATA_DIR) at a development database, "
            "or pass --force if this one really is disposable."
        )


class Command(BaseCommand):
    help = (
        "Fill the database with demo teams, people and campaigns (French B2B data, from "
        "demo/data/). Idempotent: a second run creates nothing. Refuses a database that "
        "holds other accounts unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though the database holds accounts that are not demo accounts.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            demo = demo_load()
        except DemoDataError as error:
            raise CommandError(f"The demo data cannot be played: {error}") from error
        if not options["force"]:
            refuse_foreign_data(demo, command="seed_demo")
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
