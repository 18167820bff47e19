"""The secret addresses people subscribe to from a calendar app or a feed reader.

Kept apart from notifications.services: the token is a way of reaching people, but it
has nothing to do with the outbox. The feeds themselves need campaign data and are built
in campaigns.subscriptions; this module only knows who a token belongs to.
"""

import hashlib
import secrets
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event
from notifications.models import SubscriptionToken

# 32 bytes → 43 URL-safe characters; the column holds 64.
TOKEN_BYTES = 32


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def subscription_token_get_or_create(*, user: User) -> SubscriptionToken:
    """The person's token, created on first use.

    Its own short transaction, with the audit entry of the creation. Idempotent: two
    concurrent first calls end with one row and one entry (the loser of the unique
    constraint on `user` rolls back and reads the winner's)."""
    try:
        return SubscriptionToken.objects.get(user=user)
    except SubscriptionToken.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            token = SubscriptionToken.objects.create(user=user, token=_new_token())
            record_audit_event(actor=user, action=AuditAction.TOKEN_CREATED, target=user)
            return token
    except IntegrityError:
        return SubscriptionToken.objects.get(user=user)


def subscription_token_find(*, user: User) -> SubscriptionToken | None:
    """The person's token if they created one; a read, never a write (GET pages call it)."""
    return SubscriptionToken.objects.filter(user=user).first()


# --- the latest validator of each address (an unchanged feed answered without a query) ---

FEED_KINDS = ("atom", "ical")


def _validator_key(token: str, kind: str) -> str:
    # Hashed: the token is a credential, and cache keys show up in monitoring.
    return f"subscription:latest:{kind}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


# Left in a forgotten address's place for SUBSCRIPTION_FRESH_SECONDS, instead of nothing:
# a request that found the address live just before it stopped working is still
# computing its validator (three queries), and must not remember it again afterwards.
_FORGOTTEN = "forgotten"


def subscription_validator_remembered(
    *, token: str, kind: str, along: str | None = None
) -> tuple[str | None, object]:
    """The validator this address's feed had at most SUBSCRIPTION_FRESH_SECONDS ago, and
    the cached value under the key `along`, read in the same round trip (the document
    kept for the address, which a client without the validator gets); None for either
    when there is none."""
    if settings.SUBSCRIPTION_FRESH_SECONDS <= 0:
        return None, None
    key = _validator_key(token, kind)
    found = cache.get_many([key, along] if along else [key])
    validator = found.get(key)
    if not isinstance(validator, str) or validator == _FORGOTTEN:
        validator = None
    return validator, found.get(along)


def subscription_validator_remember(*, token: str, kind: str, validator: str) -> None:
    """Remember the validator just computed for a live address, unless the address was
    forgotten meanwhile (the check and the write are two round trips apart, where the
    computation they replace took three queries)."""
    if settings.SUBSCRIPTION_FRESH_SECONDS <= 0:
        return
    key = _validator_key(token, kind)
    if cache.get(key) != _FORGOTTEN:
        cache.set(key, validator, settings.SUBSCRIPTION_FRESH_SECONDS)


def subscription_validators_forget(*, token: str) -> None:
    """After a revocation: the old address gets no more answers, not even a 304.

    A remembered validator also stands for "this address is live": the feeds serve the
    document kept for it without looking the address up (feed.subscription_views). So it
    is forgotten on every way an address stops working: here on regeneration, and by
    notifications.receivers on any deletion of the token or deactivation of its owner,
    whoever makes it (a service, erasure, the admin, a cascade)."""
    keys = [_validator_key(token, kind) for kind in FEED_KINDS]
    if settings.SUBSCRIPTION_FRESH_SECONDS > 0:
        cache.set_many(dict.fromkeys(keys, _FORGOTTEN), settings.SUBSCRIPTION_FRESH_SECONDS)
    else:
        cache.delete_many(keys)


def subscription_validators_forget_on_commit(*tokens: str) -> None:
    # After the commit: the cache is not rolled back with a transaction, and a read in
    # between would remember the address again from the not yet committed rows.
    for token in tokens:
        transaction.on_commit(partial(subscription_validators_forget, token=token))


def subscription_token_regenerate(*, user: User) -> SubscriptionToken:
    """Replace the person's token: every address built on the old one stops working.

    One transaction: the person's row updated (or created) with the audit entries, the
    old token's revocation then the new one's creation. Not idempotent by design: each
    call issues a fresh token."""
    old = subscription_token_find(user=user)
    with transaction.atomic():
        token, created = SubscriptionToken.objects.update_or_create(
            user=user, defaults={"token": _new_token()}
        )
        if not created:
            record_audit_event(actor=user, action=AuditAction.TOKEN_REVOKED, target=user)
        record_audit_event(actor=user, action=AuditAction.TOKEN_CREATED, target=user)
    if old is not None:
        subscription_validators_forget(token=old.token)
    return token


def subscription_user(*, token: str) -> User | None:
    """The active person a token belongs to, or None for an unknown or revoked token.

    The lookup goes through the unique index; the final comparison is constant-time so
    the answer's timing says nothing about how much of a stored token matched."""
    max_length = SubscriptionToken._meta.get_field("token").max_length
    if not token or (max_length is not None and len(token) > max_length):
        return None
    if "\x00" in token:
        # No token holds one, and PostgreSQL refuses it in a query (an error, not "none").
        return None
    row = (
        SubscriptionToken.objects.select_related("user")
        .filter(token=token, user__is_active=True)
        .first()
    )
    if row is None or not constant_time_compare(row.token, token):
        return None
    return row.user
