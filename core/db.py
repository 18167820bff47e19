"""Small database expressions and helpers shared by the apps."""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Func, QuerySet


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


# A query's SQL and parameters for one database, compiled ahead of its runs.
type CompiledQuery = tuple[str, tuple[Any, ...]]


def compiled(rows: QuerySet[Any], alias: str) -> CompiledQuery | None:
    """`rows`' SQL and parameters on database `alias`; None when they can match nothing
    (an empty `__in`, a viewer who sees nothing). For a query run on every request with
    the same inputs, where building and compiling it through the ORM cost more than
    running it: keep the result (functools.lru_cache) and run it with `compiled_rows`."""
    try:
        sql, params = rows.query.get_compiler(alias).as_sql()
    except EmptyResultSet:
        return None
    return sql, tuple(params)


def compiled_rows(alias: str, query: CompiledQuery | None) -> list[tuple[Any, ...]]:
    """The rows `query` (from `compiled`) reads on database `alias`; none without a query."""
    if query is None:
        return []
    sql, params = query
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows
