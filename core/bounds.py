"""The largest values the integer columns hold, stated once.

PostgreSQL refuses a value beyond its column type (psycopg raises DataError, a 500),
while SQLite stores it; so each integer model field carries its bound as a validator
(`*_RANGE` below), and forms built from the models, the admin's included, refuse an
out-of-range number with a message on every database. Ids typed or posted as text are
read by `core.http.parse_id` against `BIGINT_MAX`.
"""

from django.core.validators import MaxValueValidator, MinValueValidator

SMALLINT_MAX = 2**15 - 1
INT4_MAX = 2**31 - 1  # PostgreSQL `integer`: IntegerField, PositiveIntegerField
BIGINT_MAX = 2**63 - 1  # PostgreSQL `bigint`: BigAutoField ids

# Hours added to "now" for a due date: a year is already more than any team needs, and a
# bound far below INT4_MAX keeps `now + timedelta(hours=…)` inside datetime's range.
HOURS_MAX = 24 * 366


def positive_int4() -> list[MinValueValidator | MaxValueValidator]:
    """Validators of a PositiveIntegerField: 0 to INT4_MAX."""
    return [MinValueValidator(0), MaxValueValidator(INT4_MAX)]


def positive_smallint() -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(0), MaxValueValidator(SMALLINT_MAX)]


def hours() -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(0), MaxValueValidator(HOURS_MAX)]
