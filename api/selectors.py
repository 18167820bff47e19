"""Reads of the integration API's own data: the tokens a page lists."""

from django.db.models import QuerySet

from accounts.models import User
from api.models import ApiToken


def personal_tokens(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, kind=ApiToken.Kind.PERSONAL)


def service_tokens() -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(kind=ApiToken.Kind.SERVICE).select_related("user", "created_by")
