"""Small database expressions and helpers shared by the apps."""

from typing import Any

from django.db import models
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
