from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign, Stakeholder
from teams.models import Membership, Team
from teams.roles import MANAGER, MARKETER
from teams.services import roles_sync

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name", locale="fr_FR")
    language = "en"
    time_zone = "Europe/Paris"
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

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


class StakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stakeholder

    campaign = factory.SubFactory(CampaignFactory)
    team = factory.SubFactory(TeamFactory)
