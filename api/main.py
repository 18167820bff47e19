"""The integration API, version 1: one NinjaAPI, its routers, and the one mapping from
errors to problem details (api.problems).

Why django-ninja rather than Django REST framework: the API is a thin layer over the
services, which already hold every rule; Ninja gives typed inputs and outputs from
pydantic schemas, an OpenAPI 3.1 schema generated from them (drf-spectacular emits 3.0),
and views as plain functions, with nothing (serializers' save(), viewsets' permission
classes) that would tempt a second place for rules."""

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.auth import API_AUTH
from api.endpoints import campaigns, people
from api.problems import KINDS, PROBLEM_CONTENT_TYPE, problem
from api.ratelimit import Limited
from core.errors import DomainError, NotFound, PermissionRefused

logger = logging.getLogger(__name__)

# Refusals about what was sent (a field, an unknown KPI) are 400; every other refusal a
# service raises is about the campaign's state at this moment, a conflict (409).
_BAD_INPUT_CODES = frozenset({"invalid", "unknown_kpi", "not_a_question", "required"})

DESCRIPTION = """
Campaigns in from marketing tools, acknowledgements and results out.

**Authentication**: `Authorization: Bearer psl_…` with a personal token (made on your
profile page) or a service token (made by a manager for an integration); the browser's
session works too, with the `X-CSRFToken` header on writes. A read token may only `GET`.

**Errors** are RFC 9457 problem details (`application/problem+json`): `type`, `title`,
`status`, `detail`, and `errors` by field. 400 bad input, 401 no or bad token, 403 not
allowed, 404 not found (or not visible to you), 409 refused in the campaign's current
state, 412 `If-Match` no longer matches, 422 `Idempotency-Key` reused for another
request, 429 rate limited (see `Retry-After`).

**Idempotency**: send `Idempotency-Key` on any POST; a retry within 24 hours gets the
first answer (`Idempotent-Replayed: true`). Sync jobs create or update by an external
reference with `PUT /campaigns/by-ref/{source}/{external_id}`.

**Concurrency**: every campaign has an `etag` (also the `ETag` header); send it as
`If-Match` on `PATCH` to be refused with 412 if someone changed it since you read it.
"""


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    }


class PasserelleAPI(NinjaAPI):
    """Ninja's schema, with the errors every operation may answer documented as problem
    details: a client (and Schemathesis, in CI) can rely on each status and its shape."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["components"].setdefault("schemas", {})["Problem"] = _problem_schema()
        problem_ref = {
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        }
        for item in schema["paths"].values():
            for method, operation in item.items():
                statuses = [400, 401, 403, 404, 429]
                if method != "get":
                    statuses += [409, 422]
                if method == "patch":
                    statuses.append(412)
                for status in statuses:
                    operation["responses"].setdefault(
                        str(status),
                        {"description": KINDS[status][1], **problem_ref},
                    )
        return schema


api = PasserelleAPI(
    title="Passerelle API",
    version="1.0.0",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=API_AUTH,
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", people.router)
api.add_router("/campaigns", campaigns.router)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status = 400 if exc.code in _BAD_INPUT_CODES else 409
    return problem(status, exc.message, errors=exc.field_errors, code=exc.code)


@api.exception_handler(NotFound)
def _not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return problem(404, exc.message, code=exc.code)


@api.exception_handler(Http404)
def _http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(404, _("Not found."))


@api.exception_handler(PermissionRefused)
def _permission(request: HttpRequest, exc: PermissionRefused) -> HttpResponse:
    return problem(403, exc.message, code=exc.code)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        401,
        _("Send a valid API token as `Authorization: Bearer …`, or sign in."),
        headers={"WWW-Authenticate": 'Bearer realm="passerelle"'},
    )


@api.exception_handler(Limited)
def _limited(request: HttpRequest, exc: Limited) -> HttpResponse:
    return problem(
        429,
        _("More than %(limit)d requests a minute: wait %(seconds)d seconds.")
        % {"limit": exc.limit, "seconds": exc.retry_after},
        headers={"Retry-After": str(exc.retry_after)},
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        # ("body", "payload", "title") → "title": the field as the client named it.
        location = [str(part) for part in error.get("loc", ()) if part not in ("payload",)]
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:] or location
        field = ".".join(location) or "request"
        errors.setdefault(field, []).append(str(error.get("msg", "invalid")))
    return problem(400, _("Some fields are not valid: see `errors`."), errors=errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(exc.status_code, str(exc))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Logged with its traceback (the error report of every other page), and the client
    # still reads a problem document rather than HTML.
    logger.exception("API request failed: %s %s", request.method, request.path)
    return problem(500, _("Something went wrong on our side; it was logged."))
