"""Writing to the audit log.

`record_audit_event` is called by the service that makes a change, inside that change's
transaction: the entry commits with the change, and a change rolled back leaves none.
What goes in is cleaned here, once, for every caller: secrets are never kept, URLs keep
only their scheme and host, and people are referenced by id, never by name or e-mail.
"""

import ipaddress
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest

from accounts.models import User
from audit.models import AuditAction, AuditEvent

REDACTED = "[redacted]"
LABEL_MAX = AuditEvent._meta.get_field("target_label").max_length or 200

# Keys whose value is a secret: never stored, whatever it is.
_SECRET_KEY = re.compile(r"password|token|secret|api_?key|signature|credential", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Only the scheme and host of a URL: a webhook's path and query are its secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}"


def clean_value(value: Any, *, key: str = "") -> Any:
    """`value` made JSON-safe and free of secrets (see the module docstring)."""
    if key and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): clean_value(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_value(v, key=key) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return redact_url(text) if _URL.match(text) else text


def _is_person(obj: models.Model) -> bool:
    return isinstance(obj, get_user_model())


def target_label_of(target: models.Model) -> str:
    """A label snapshot for `target`: its text, unless it is a person or its text names one
    (a membership reads "Alice (Lead, Sales)"): then its kind and id, so no name is kept."""
    if _is_person(target):
        return ""
    text = str(target)
    user_model = get_user_model()
    for field in target._meta.concrete_fields:
        if field.is_relation and field.related_model is user_model:
            person = getattr(target, field.name, None)
            names = [getattr(person, attr, "") for attr in ("full_name", "email", "username")]
            if person is not None and any(name and str(name) in text for name in names):
                return f"{target._meta.verbose_name} #{target.pk}"
    return text


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address, read as the login rate limits read it (accounts.adapter:
    behind TRUSTED_PROXY_COUNT proxies, from X-Forwarded-For; else REMOTE_ADDR), so the
    log names the person's machine, not the proxy's. None when it cannot be told."""
    if request is None:
        return None
    try:
        raw = str(get_adapter(request).get_client_ip(request)).strip()
    except PermissionDenied:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def record_audit_event(
    *,
    actor: User | None,
    action: AuditAction | str,
    target: models.Model | None = None,
    target_label: str | None = None,
    details: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to the audit log and return it.

    Must run inside the transaction of the change it records (refused otherwise, with a
    RuntimeError: an entry committed apart from its change could outlive a rollback). Not
    idempotent: each call is one more entry. `actor` is the person who acted, None for the
    system. `details` is cleaned (secrets dropped, URLs cut to scheme and host); callers
    pass people as ids, never as names or e-mails."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "record_audit_event runs inside the transaction of the change it records."
        )
    action = AuditAction(action)
    target_type, target_id = "", None
    if target is not None:
        target_type = target._meta.label_lower
        target_id = target.pk if isinstance(target.pk, int) else None
        if target_label is None:
            target_label = target_label_of(target)
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=(target_label or "")[:LABEL_MAX],
        details=clean_value(dict(details or {})),
        ip=client_ip(request),
    )
