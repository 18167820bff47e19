"""A hand-computed dashboard world, built through the campaign services.

Clock: T0 = Monday 2 March 2026, 09:00 UTC; the figures are read at NOW = T0 + 5 days.

| campaign | launch  | teams          | acknowledgements (hours after T0)               |
|----------|---------|----------------|-------------------------------------------------|
| c1       | T0 + 3d | alpha, bravo   | alpha 1 h, bravo 3 h                            |
| c2       | T0 + 1d | alpha, charlie | alpha 2 h; charlie (every member) 5 h and 30 h  |
| c3       | T0 + 2d | bravo          | bravo 4 h (v1), body changed at 6 h, 10 h (v2)  |
| c4       | T0 + 1d | delta          | never                                           |

Durations of current-version acknowledgements: 1, 2, 3, 10, 30 hours.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.models import User
from campaigns import services
from campaigns.models import Campaign
from teams.models import Membership, Team
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    announced_campaign,
    campaign_input,
    make_marketer,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=5)
HOUR = 3600.0


@dataclass
class World:
    alpha: Team
    bravo: Team
    charlie: Team
    delta: Team
    c1: Campaign
    c2: Campaign
    c3: Campaign
    c4: Campaign
    owner: User
    alpha_lead: User


def build_world(traveller: Any) -> World:
    """Builds the table above; leaves the clock at NOW."""
    traveller.move_to(T0 - timedelta(hours=1))
    owner = make_marketer()
    alpha = TeamFactory(name="Alpha", slug="alpha")
    bravo = TeamFactory(name="Bravo", slug="bravo")
    charlie = TeamFactory(name="Charlie", slug="charlie", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    delta = TeamFactory(name="Delta", slug="delta")
    a = MembershipFactory(team=alpha).user
    b = MembershipFactory(team=bravo).user
    c_one = MembershipFactory(team=charlie).user
    c_two = MembershipFactory(team=charlie).user
    MembershipFactory(team=delta)
    alpha_lead = MembershipFactory(team=alpha, role=Membership.Role.LEAD).user

    traveller.move_to(T0)
    c1 = announced_campaign(owner=owner, teams=[alpha, bravo], launch_at=T0 + timedelta(days=3))
    c2 = announced_campaign(owner=owner, teams=[alpha, charlie], launch_at=T0 + timedelta(days=1))
    c3 = announced_campaign(owner=owner, teams=[bravo], launch_at=T0 + timedelta(days=2))
    c4 = announced_campaign(
        owner=owner, teams=[delta], launch_at=T0 + timedelta(days=1), channel="sms"
    )

    def at(hours: float, user: User, campaign: Campaign) -> None:
        traveller.move_to(T0 + timedelta(hours=hours))
        services.campaign_acknowledge(actor=user, campaign_id=campaign.pk)

    at(1, a, c1)
    at(2, a, c2)
    at(3, b, c1)
    at(4, b, c3)
    at(5, c_one, c2)
    traveller.move_to(T0 + timedelta(hours=6))
    c3.refresh_from_db()
    services.campaign_update(
        actor=owner, campaign_id=c3.pk, data=campaign_input(c3, body="Nouvelle offre")
    )
    at(10, b, c3)
    at(30, c_two, c2)
    traveller.move_to(NOW)
    return World(alpha, bravo, charlie, delta, c1, c2, c3, c4, owner, alpha_lead)
