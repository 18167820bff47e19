"""Small database expressions and helpers shared by the apps."""

from collections.abc import Callable
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import Func, Model, QuerySet


class RowValue(Func):
    """A SQL row value, `(a, b)`. Compared as a whole, `(key, id) > (%s, %s)` is one
    index range on PostgreSQL, where the spelled-out OR would scan every earlier row."""

    function = ""
    template = "(%(expressions)s)"
    output_field = models.Field()


def delete_in_batches(rows: QuerySet[Any], batch_size: int = 1000) -> int:
    """Delete `rows` a batch at a time, each batch its own short statement (autocommit),
    so a first purge of years of history neither holds locks for minutes nor loses its
    progress if the task is stopped. The batch re-applies the filter, so a row that
    changed since it was read is left alone. Returns how many rows of `rows`' model went."""
    deleted = 0
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        _total, by_model = rows.filter(pk__in=ids).delete()
        deleted += by_model.get(rows.model._meta.label, 0)
        if len(ids) < batch_size:
            return deleted


def on_one_core[T](work: Callable[[], T], *, model: type[Model]) -> T:
    """`work()` with PostgreSQL kept to one core (no parallel workers), on the database
    `model`'s reads go to. For aggregates over many rows computed in the background,
    which PostgreSQL would spread over every core, taking them from the pages meanwhile:
    the dashboards' refresh of a quarter, once a minute, did (docs/PERFORMANCE.md). In a
    transaction of its own, so the setting (`SET LOCAL`) ends with it, as PgBouncer's
    transaction pooling requires; its reads share one snapshot too."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return work()
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return work()
