"""Signed, expiring acknowledge links bound to one person and one campaign version.

The token is not a login. It lets its person acknowledge that version without signing in
(campaigns.views.acknowledgements.acknowledge_link): a confirmation page, then one POST.
Reading the thread or anything else still needs a session.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from core.bounds import BIGINT_MAX, INT4_MAX

_SALT = "passerelle.notifications.ack-link"


class AckTokenError(Exception):
    def __init__(self, reason: str, claim: "AckToken | None" = None) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"
        # An expired link's claim (its signature is good): the page can still point to
        # the campaign it was about.
        self.claim = claim


@dataclass(frozen=True)
class AckToken:
    user_id: int
    campaign_id: int
    version: int
    # The stakeholder teams the person was told for; None in links made before teams
    # were bound (they acknowledge for the person's teams of the moment).
    team_ids: frozenset[int] | None = None


def ack_token_make(
    *, user_id: int, campaign_id: int, version: int, team_ids: Iterable[int] | None = None
) -> str:
    claims: dict[str, object] = {"u": user_id, "c": campaign_id, "v": version}
    if team_ids is not None:
        claims["t"] = sorted(team_ids)
    return signing.dumps(claims, salt=_SALT, compress=True)


def ack_token_read(token: str) -> AckToken:
    max_age = settings.NOTIFICATIONS_ACK_LINK_MAX_AGE_DAYS * 24 * 3600
    try:
        return _ack_claim(signing.loads(token, salt=_SALT, max_age=max_age))
    except signing.SignatureExpired:
        raise AckTokenError("expired", _ack_claim(signing.loads(token, salt=_SALT))) from None
    except signing.BadSignature:
        raise AckTokenError("invalid") from None


def _ack_claim(data: object) -> AckToken:
    try:
        teams = data.get("t")  # type: ignore[attr-defined]
        if teams is not None and not isinstance(teams, list):
            raise ValueError(teams)
        return AckToken(
            user_id=_claim(data["u"], BIGINT_MAX),  # type: ignore[index]
            campaign_id=_claim(data["c"], BIGINT_MAX),  # type: ignore[index]
            version=_claim(data["v"], INT4_MAX),  # type: ignore[index]
            team_ids=None
            if teams is None
            else frozenset(_claim(team, BIGINT_MAX) for team in teams),
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        raise AckTokenError("invalid") from None


def _claim(raw: object, ceiling: int) -> int:
    """One number of a token, as the columns it is looked up in can hold it. A token
    signed with a leaked or development key may carry anything: text, floats, or numbers
    beyond the column, which the database would refuse with an error instead of "no
    such row"."""
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 < raw <= ceiling:
        raise ValueError(raw)
    return raw


# --- one-click unsubscribe (RFC 8058) -------------------------------------------------------

_UNSUBSCRIBE_SALT = "passerelle.notifications.unsubscribe"
# What an unsubscribe link can turn off besides a kind of notice: the Monday e-mail.
WEEK_AHEAD = "week_ahead"


@dataclass(frozen=True)
class UnsubscribeToken:
    user_id: int
    topic: str  # a notifications.models.Kind value, or WEEK_AHEAD


def unsubscribe_token_make(*, user_id: int, topic: str) -> str:
    """The signed part of a one-click unsubscribe address. It does not expire: a mail
    client may offer the button on a message months old, and all it can do is switch one
    kind of e-mail off for one person."""
    return signing.dumps({"u": user_id, "t": topic}, salt=_UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> UnsubscribeToken:
    """The person and topic a token names; AckTokenError("invalid") for anything that
    was not signed by this installation or names something else."""
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
        claim = UnsubscribeToken(user_id=_claim(data["u"], BIGINT_MAX), topic=data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise AckTokenError("invalid") from None
    if not isinstance(claim.topic, str):
        raise AckTokenError("invalid")
    return claim
