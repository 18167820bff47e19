"""Invitation links: signed, expiring, and spent once the account is in use.

The token names the person and a fingerprint of their password and last sign-in: setting
a password or signing in (also through single sign-on) changes it, so a used or
forwarded invitation no longer opens anything. ACCOUNT_INVITATION_MAX_AGE_DAYS bounds it.
"""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from core.bounds import BIGINT_MAX

_SALT = "passerelle.accounts.invitation"


class InvitationInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired", "used" or "invalid"


def _fingerprint(person: User) -> str:
    state = f"{person.pk}:{person.password}:{person.last_login}:{person.email}"
    return salted_hmac(_SALT, state, algorithm="sha256").hexdigest()[:24]


def invitation_token_make(person: User) -> str:
    return signing.dumps({"u": person.pk, "f": _fingerprint(person)}, salt=_SALT, compress=True)


def invitation_token_read(token: str, *, lock: bool = False) -> User:
    """The person the invitation is for, if it can still be used; InvitationInvalid
    otherwise. `lock`: their row locked for the caller's transaction."""
    max_age = settings.ACCOUNT_INVITATION_MAX_AGE_DAYS * 24 * 3600
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvitationInvalid("expired") from None
    except signing.BadSignature:
        raise InvitationInvalid("invalid") from None
    user_id = data.get("u") if isinstance(data, dict) else None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= BIGINT_MAX:
        raise InvitationInvalid("invalid")
    people = User.objects.filter(pk=user_id, is_active=True, erased_at__isnull=True)
    person = (people.select_for_update() if lock else people).first()
    if person is None:
        raise InvitationInvalid("invalid")
    if not constant_time_compare(str(data.get("f", "")), _fingerprint(person)):
        raise InvitationInvalid("used")
    return person
