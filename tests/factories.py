import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from campaigns import services
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Stakeholder
from campaigns.search import search_text_of
from campaigns.services import CampaignInput
from notifications.models import Notification
from teams.models import Membership, Team
from teams.roles import MANAGER, MARKETER
from teams.services import roles_sync

DEFAULT_PASSWORD = "correct-horse-battery-staple"


@functools.cache
def _hashed_password(raw: str) -> str:
    # Once per password rather than once per user (tests/conftest.py picks the hasher).
    return make_password(raw)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name", locale="fr_FR")
    language = "en"
    time_zone = "Europe/Paris"

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.password = _hashed_password(extracted or DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


def _group(name: str) -> Group:
    if not Group.objects.filter(name=name).exists():
        roles_sync()
    return Group.objects.get(name=name)


def make_marketer(**kwargs: object) -> User:
    user = UserFactory(**kwargs)
    user.groups.add(_group(MARKETER))
    return User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache


def make_manager(**kwargs: object) -> User:
    user = UserFactory(**kwargs)
    user.groups.add(_group(MANAGER))
    return User.objects.get(pk=user.pk)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    kind = Team.Kind.SUPPORT
    ack_deadline_hours = 48
    reminder_hours_before = 12
    ack_policy = Team.AckPolicy.ANY_MEMBER
    # Round the clock, no holidays: tests about anything else must not depend on the day
    # they run (a real team defaults to Monday-Friday 09:00-18:00 with French holidays;
    # tests of working time set that explicitly, see WORKING_WEEK_FR).
    working_days = "1234567"
    work_starts_at = time(0)
    work_ends_at = time(0)
    holiday_country = ""


# A team as the model creates it: Monday-Friday 09:00-18:00 in Paris, French holidays.
WORKING_WEEK_FR: dict[str, Any] = {
    "time_zone": "Europe/Paris",
    "working_days": "12345",
    "work_starts_at": time(9),
    "work_ends_at": time(18),
    "holiday_country": "FR",
}


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


def team_with_members(count: int, **team_kwargs: object) -> tuple[Team, list[User]]:
    team = TeamFactory(**team_kwargs)
    members = [MembershipFactory(team=team).user for _ in range(count)]
    return team, members


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    title = factory.Sequence(lambda n: f"Campagne {n}")
    channel = Campaign.Channel.EMAIL
    audience = "Clients actifs"
    estimated_recipients = 1000
    launch_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))
    owner = factory.LazyFunction(make_marketer)
    summary = "Une campagne de test."
    body = "## Points clés\n\n- Offre valable 15 jours"
    # What the editing services write; SQLite's search reads it (campaigns.search).
    search_text = factory.LazyAttribute(
        lambda c: search_text_of(
            title=c.title,
            summary=c.summary,
            audience=c.audience,
            body=c.body,
            owner_name=c.owner.display_name,
        )
    )


class StakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stakeholder

    campaign = factory.SubFactory(CampaignFactory)
    team = factory.SubFactory(TeamFactory)


# --- helpers built on the services ---------------------------------------------------


def announced_campaign(
    *, owner: User | None = None, teams: Sequence[Team] = (), **kwargs: object
) -> Campaign:
    """A campaign announced through the service, so its events, due dates and outbox
    rows are the real ones. Without `teams`, one new team is the stakeholder."""
    owner = owner or make_marketer()
    campaign = CampaignFactory(owner=owner, **kwargs)
    for team in teams or [TeamFactory()]:
        StakeholderFactory(campaign=campaign, team=team)
    services.campaign_announce(actor=owner, campaign_id=campaign.pk)
    return Campaign.objects.get(pk=campaign.pk)


def campaign_input(campaign: Campaign, **changes: Any) -> CampaignInput:
    """The campaign's current values as a service input, with `changes` applied."""
    values: dict[str, Any] = {name: getattr(campaign, name) for name in Campaign.CONTENT_FIELDS}
    values["team_ids"] = list(campaign.stakeholders.values_list("team_id", flat=True))
    values.update(changes)
    return CampaignInput(**values)


@dataclass(frozen=True)
class CampaignState:
    """What a refused operation must leave untouched, read fresh from the database."""

    status: str
    version: int
    events: int
    notifications: int
    acknowledged_versions: tuple[int | None, ...]
    live_acknowledgements: int
    done_override_reason: str


def campaign_state(campaign_id: int) -> CampaignState:
    campaign = Campaign.objects.get(pk=campaign_id)
    return CampaignState(
        status=campaign.status,
        version=campaign.version,
        events=CampaignEvent.objects.filter(campaign_id=campaign_id).count(),
        notifications=Notification.objects.filter(campaign_id=campaign_id).count(),
        acknowledged_versions=tuple(
            Stakeholder.objects.filter(campaign_id=campaign_id)
            .order_by("team_id")
            .values_list("acknowledged_version", flat=True)
        ),
        live_acknowledgements=Acknowledgement.objects.filter(
            stakeholder__campaign_id=campaign_id, revoked_at__isnull=True
        ).count(),
        done_override_reason=campaign.done_override_reason,
    )
