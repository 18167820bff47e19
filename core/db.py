"""Small database expressions shared by the apps' selectors."""

from django.db import models
from django.db.models import Func


class RowValue(Func):
    """A SQL row value, `(a, b)`. Compared as a whole, `(key, id) > (%s, %s)` is one
    index range on PostgreSQL, where the spelled-out OR would scan every earlier row."""

    function = ""
    template = "(%(expressions)s)"
    output_field = models.Field()
