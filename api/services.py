"""Writes of the integration API: API tokens (made, used, revoked) and idempotent answers.

A token is `psl_<prefix>_<secret>`: the prefix finds the row, the secret is compared
with its SHA-256 hash in constant time. A hash without salt is enough here because the
secret is 32 random bytes, not a password a person chose: there is nothing to guess."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from api.models import ApiToken, IdempotentRequest
from api.selectors import token_by_prefix
from audit.models import AuditAction
from audit.services import record_audit_event
from core.errors import DomainError, NotFound, PermissionRefused
from core.text import header_safe
from teams.roles import MARKETER, Actor

TOKEN_PREFIX = "psl"  # noqa: S105 - a visible marker, not a secret
NAME_MAX_LENGTH = 100
EXPIRY_CHOICES_DAYS = (30, 90, 365)
# Service accounts get addresses no mail server answers for (RFC 2606's .invalid).
SERVICE_ACCOUNT_DOMAIN = "integrations.invalid"
# Writing last_used_at on every request would turn each read into a write: once a minute.
LAST_USED_PRECISION = timedelta(minutes=1)
IDEMPOTENCY_KEEP = timedelta(hours=24)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class MadeToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def _check(name: str, scope: str, expires_in_days: int | None) -> str:
    # One line of visible text (an integration's name becomes its account's full name,
    # shown on timelines and in e-mail headers): line breaks, tabs and bidi controls go.
    name = header_safe(name)
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name, to know later what uses it.")]
    elif len(name) > NAME_MAX_LENGTH:
        message = _("The name must be at most %(max)d characters.")
        errors["name"] = [message % {"max": NAME_MAX_LENGTH}]
    if scope not in ApiToken.Scope.values:
        errors["scope"] = [_("Choose what the token may do: read, or read and write.")]
    if expires_in_days is not None and expires_in_days not in EXPIRY_CHOICES_DAYS:
        errors["expires_in_days"] = [_("Choose one of the offered expiry periods.")]
    if errors:
        raise DomainError.for_fields(errors)
    return name


def _make(
    *, user: User, created_by: User, kind: str, name: str, scope: str, expires_in_days: int | None
) -> MadeToken:
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        created_by=created_by,
        kind=kind,
        name=name,
        scope=scope,
        prefix=prefix,
        key_hash=_hash(secret),
        expires_at=(timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None),
    )
    record_audit_event(
        actor=created_by,
        action=AuditAction.API_TOKEN_CREATED,
        target=token,
        target_label=name,
        details={"kind": kind, "scope": scope, "user": user.pk, "expires_at": token.expires_at},
    )
    return MadeToken(token=token, secret=secret)


def api_token_create(
    *, actor: User, name: str, scope: str, expires_in_days: int | None
) -> MadeToken:
    """A personal token acting as `actor`, with their rights and no more (the scope can
    only narrow them). One transaction with its audit entry; the secret is returned once
    and never stored."""
    name = _check(name, scope, expires_in_days)
    if expires_in_days is None:
        raise DomainError.for_fields(
            {"expires_in_days": [_("A personal token must expire; choose a period.")]}
        )
    with transaction.atomic():
        return _make(
            user=actor,
            created_by=actor,
            kind=ApiToken.Kind.PERSONAL,
            name=name,
            scope=scope,
            expires_in_days=expires_in_days,
        )


def service_token_create(
    *, actor: User, name: str, scope: str, expires_in_days: int | None
) -> MadeToken:
    """A token for an integration (a HubSpot sync, a CRM), made by a manager.

    It acts as an account of its own, named after the integration and given the marketer
    role: what it creates is owned by "HubSpot sync", not by the manager who set it up,
    and the audit log and timelines say which tool did what. The account cannot sign in
    (no usable password). Its teams and roles are changed like anyone's."""
    if not Actor.of(actor).is_manager:
        raise PermissionRefused(_("Only managers can create integration tokens."))
    name = _check(name, scope, expires_in_days)
    with transaction.atomic():
        slug = slugify(name)[:40] or "integration"
        email = f"{slug}-{secrets.token_hex(3)}@{SERVICE_ACCOUNT_DOMAIN}"
        account = User.objects.create_user(email=email, password=None, full_name=name)
        account.groups.add(Group.objects.get(name=MARKETER))
        return _make(
            user=account,
            created_by=actor,
            kind=ApiToken.Kind.SERVICE,
            name=name,
            scope=scope,
            expires_in_days=expires_in_days,
        )


def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a token at once: its owner's own, or any (managers). Idempotent."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None or (token.user_id != actor.pk and not Actor.of(actor).is_manager):
            raise NotFound(_("This token does not exist."))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_audit_event(
                actor=actor,
                action=AuditAction.API_TOKEN_REVOKED,
                target=token,
                target_label=token.name,
                details={"kind": token.kind, "user": token.user_id},
            )
    return token


def api_token_authenticate(secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """The usable token `secret` is, with its user, or None. Notes the last use, at most
    once a minute (one conditional UPDATE, no lock)."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 12:
        return None
    token = token_by_prefix(parts[1])
    if token is None or not hmac.compare_digest(token.key_hash, _hash(secret)):
        return None
    now = now or timezone.now()
    if not token.usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def idempotent_requests_purge(*, now: datetime | None = None) -> int:
    """Forget answers older than a day (beat). Idempotent."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEEP
    deleted, _counts = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
