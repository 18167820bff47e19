"""What the benchmark scripts share: they drop and recreate their database."""

import sys

BENCH_SUFFIX = "_bench"


def recreate_bench_database(name: str) -> None:
    """Drop and recreate `name`, which must end in "_bench": a DATABASE_URL left
    exported for development must never be wiped by a benchmark."""
    if not name.endswith(BENCH_SUFFIX):
        sys.exit(
            f"Refusing to drop database {name!r}: benchmarks only recreate a database whose "
            f"name ends in {BENCH_SUFFIX!r} (e.g. passerelle_bench)."
        )
    from django.db import connection

    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
