"""CSV import benchmark: 5,000 people in 10 teams, checked then imported, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle_import_bench \
        uv run python benchmarks/people_import.py --rows 5000

Prints the time of the preview (people_import_check), of the import
(people_import_apply, invitations included) and of importing the same file again (which
changes nothing). The target (issue "People and sign-in"): under 10 s for 5,000 rows.
It drops and recreates the database named in DATABASE_URL, which must end in "_bench".
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import configure_production_environment, recreate_bench_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--teams", type=int, default=10)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name ends in _bench.")
    configure_production_environment("import")
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    recreate_bench_database(connection.settings_dict["NAME"])
    call_command("migrate", verbosity=0)

    from teams.imports import people_import_apply, people_import_check
    from teams.models import Team
    from tests.factories import make_manager

    manager = make_manager(email="bench-manager@example.com")
    names = [f"Équipe {n:02d}" for n in range(args.teams)]
    for n, name in enumerate(names):
        Team.objects.create(name=name, slug=f"equipe-{n:02d}")
    rows = [
        f"advisor{n}@example.com,Conseiller {n},{names[n % args.teams]},"
        f"{'lead' if n < args.teams else 'member'}"
        for n in range(args.rows)
    ]
    text = "email,name,team,role\n" + "\n".join(rows) + "\n"

    started = time.perf_counter()
    check = people_import_check(text)
    preview = time.perf_counter() - started
    assert check.errors == 0, check.file_errors

    started = time.perf_counter()
    result = people_import_apply(actor=manager, text=text, send_invitations=True)
    imported = time.perf_counter() - started

    started = time.perf_counter()
    again = people_import_apply(actor=manager, text=text, send_invitations=True)
    reimported = time.perf_counter() - started

    print(f"{args.rows:,} rows in {args.teams} teams, PostgreSQL")
    print(f"  preview (check every row):        {preview:6.2f} s")
    print(
        f"  import (accounts, memberships):    {imported:6.2f} s  "
        f"({len(result.invitation_ids):,} invitations queued)"
    )
    print(
        f"  same file again (changes nothing): {reimported:6.2f} s  ({again.check.changes} changes)"
    )
    total = preview + imported
    print(f"  preview + import: {total:.2f} s (target < 10 s): {'PASS' if total < 10 else 'FAIL'}")


if __name__ == "__main__":
    main()
