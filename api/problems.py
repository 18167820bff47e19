"""Every error the API answers, in one shape: RFC 9457 problem details.

`{"type", "title", "status", "detail", "errors"}` with `application/problem+json`. The
`type` is a stable URI per kind of problem (documented at /api/v1/docs), so a client can
branch on it rather than on English text; `errors` maps each field to its messages."""

import json
from collections.abc import Mapping

from django.http import HttpResponse

PROBLEM_BASE = "https://passerelle.invalid/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# status → (type slug, title): one per status the API uses.
KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid", "The request is not valid"),
    401: ("unauthenticated", "Authentication is required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Refused in the campaign's current state"),
    412: ("precondition-failed", "The resource changed since you read it"),
    422: ("idempotency-key-reused", "The Idempotency-Key was used for another request"),
    428: ("precondition-required", "Send If-Match with the version you read"),
    429: ("rate-limited", "Too many requests"),
}


def problem(
    status: int,
    detail: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    code: str = "",
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    slug, title = KINDS.get(status, ("error", "Error"))
    body: dict[str, object] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = {field: list(messages) for field, messages in errors.items()}
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response
