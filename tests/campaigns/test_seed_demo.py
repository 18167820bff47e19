"""`manage.py seed_demo` fills an empty database and is safe to run again."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.models import User
from campaigns.demo import DEMO_PASSWORD, LOGINS
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Kpi, Stakeholder
from notifications.models import Notification
from teams.models import Membership, Team

pytestmark = pytest.mark.django_db

MODELS = (
    User,
    EmailAddress,
    Team,
    Membership,
    Campaign,
    Stakeholder,
    Acknowledgement,
    CampaignEvent,
    Kpi,
    Notification,
)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_twice_creates_nothing_the_second_time():
    assert _counts() == dict.fromkeys(_counts(), 0)

    _seed()
    first = _counts()
    second_output = _seed()

    assert _counts() == first
    assert "nothing created" in second_output


def test_seed_covers_every_status_and_the_roles():
    _seed()

    statuses = set(Campaign.objects.values_list("status", flat=True))
    assert statuses == set(Campaign.Status.values)
    assert User.objects.filter(groups__name="Marketer").exists()
    assert User.objects.filter(groups__name="Manager").exists()
    assert Team.objects.filter(ack_policy=Team.AckPolicy.EVERY_MEMBER).exists()
    # Every campaign has a timeline starting with its creation.
    for campaign in Campaign.objects.all():
        first_event = campaign.events.order_by("created_at", "id").first()
        assert first_event is not None
        assert first_event.kind == CampaignEvent.Kind.CREATED


def test_demo_logins_work(client, settings):
    # allauth's login rate limit lives in the cache: keep it out of the development one.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _seed()

    for email in LOGINS:
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert client.get("/campaigns/").status_code == 200, email
