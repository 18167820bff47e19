"""Reads of the integration API's own data: the tokens a page lists, the token a request
presents."""

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet

from accounts.models import User
from api.models import ApiToken


def personal_tokens(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, kind=ApiToken.Kind.PERSONAL)


def service_tokens() -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(kind=ApiToken.Kind.SERVICE).select_related("user", "created_by")


@cache
def _token_with_user_sql() -> str:
    token_table, user_table = ApiToken._meta.db_table, User._meta.db_table
    columns = [f'"{token_table}"."{f.column}"' for f in ApiToken._meta.concrete_fields] + [
        f'"{user_table}"."{f.column}"' for f in User._meta.concrete_fields
    ]
    user_fk = ApiToken._meta.get_field("user").column
    user_pk = User._meta.pk.column
    prefix = ApiToken._meta.get_field("prefix").column
    return (
        f'SELECT {", ".join(columns)} FROM "{token_table}" '  # noqa: S608 - the models' own names
        f'JOIN "{user_table}" ON "{user_table}"."{user_pk}" = "{token_table}"."{user_fk}" '
        f'WHERE "{token_table}"."{prefix}" = %s'
    )


def _instance[M: Model](model: type[M], alias: str, values: Sequence[Any]) -> M:
    """`model` from its columns' raw values, converted as the ORM converts them (SQLite
    returns dates as text, for one)."""
    connection = connections[alias]
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in (
            *connection.ops.get_db_converters(column),
            *field.get_db_converters(connection),
        ):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(alias, [f.attname for f in fields], converted)


def token_by_prefix(prefix: str) -> ApiToken | None:
    """The token with this prefix, its person loaded with it, or None. Written out, in
    one query: it runs on every API request, and building the same join through the ORM
    cost three times the query itself (1.5 ms against 0.5 on the benchmark's machine)."""
    alias = router.db_for_read(ApiToken)
    with connections[alias].cursor() as cursor:
        cursor.execute(_token_with_user_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(ApiToken._meta.concrete_fields)
    token = _instance(ApiToken, alias, row[:split])
    token.user = _instance(User, alias, row[split:])
    return token
