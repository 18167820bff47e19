"""`Idempotency-Key` on the API's POSTs: a retried request gets the first answer.

The key's row is inserted in the same transaction as the work the request does, and the
answer is written to it before that transaction commits. So either both the campaign and
its answer exist, or neither: a client that timed out can always send again. Two copies
of one request sent at once meet on the row's unique index: the second waits for the
first to commit, then replays its answer (PostgreSQL; SQLite runs one writer at a time).

Server errors, rate limits and authentication failures are not kept: the work was not
done, so sending again must be able to do it."""

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import IdempotentRequest
from api.problems import problem
from api.services import IDEMPOTENCY_KEEP

API_PREFIX = "/api/v1/"
KEY_MAX_LENGTH = 255
_NOT_KEPT = frozenset({401, 403, 429})
_REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def _principal(request: HttpRequest) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return "bearer:" + hashlib.sha256(authorization.encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), ""):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(row: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(row.response_body), status=row.status_code or 200)
    for name, value in row.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        principal = _principal(request)
        if principal is None:  # the API answers 401; nothing to remember
            return self.get_response(request)
        if not key or len(key) > KEY_MAX_LENGTH or not key.isascii() or not key.isprintable():
            return problem(
                400,
                _("The Idempotency-Key must be 1 to %(max)d printable ASCII characters.")
                % {"max": KEY_MAX_LENGTH},
                errors={"Idempotency-Key": [_("Not a usable key.")]},
            )
        fingerprint = _fingerprint(request)
        cutoff = timezone.now() - IDEMPOTENCY_KEEP
        IdempotentRequest.objects.filter(
            principal=principal, key=key, created_at__lt=cutoff
        ).delete()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotentRequest.objects.create(
                        principal=principal, key=key, fingerprint=fingerprint
                    )
            except IntegrityError:
                row = None
            if row is not None:
                response = self.get_response(request)
                if response.status_code >= 500 or response.status_code in _NOT_KEPT:
                    transaction.set_rollback(True)
                    return response
                row.status_code = response.status_code
                row.response_body = response.content
                row.response_headers = {
                    name: response[name] for name in _REPLAYED_HEADERS if name in response
                }
                row.save(update_fields=["status_code", "response_body", "response_headers"])
                return response
        first = IdempotentRequest.objects.filter(principal=principal, key=key).first()
        if first is None or first.status_code is None:
            return problem(
                409,
                _("A request with this Idempotency-Key is still being processed: retry soon."),
                code="idempotency_in_progress",
                headers={"Retry-After": "1"},
            )
        if first.fingerprint != fingerprint:
            return problem(
                422,
                _(
                    "This Idempotency-Key was used for a different request in the last 24 "
                    "hours: use a new key for a new request."
                ),
                code="idempotency_key_reused",
            )
        return _replay(first)
