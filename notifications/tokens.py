"""Signed, expiring acknowledge links bound to one person and one campaign version.

The token is not a login: the confirmation page still needs the person's session, and
refuses a token issued to somebody else.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_SALT = "passerelle.notifications.ack-link"


class AckTokenError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


@dataclass(frozen=True)
class AckToken:
    user_id: int
    campaign_id: int
    version: int


def ack_token_make(*, user_id: int, campaign_id: int, version: int) -> str:
    return signing.dumps({"u": user_id, "c": campaign_id, "v": version}, salt=_SALT, compress=True)


def ack_token_read(token: str) -> AckToken:
    max_age = settings.NOTIFICATIONS_ACK_LINK_MAX_AGE_DAYS * 24 * 3600
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise AckTokenError("expired") from None
    except signing.BadSignature:
        raise AckTokenError("invalid") from None
    try:
        return AckToken(user_id=int(data["u"]), campaign_id=int(data["c"]), version=int(data["v"]))
    except (KeyError, TypeError, ValueError):
        raise AckTokenError("invalid") from None
