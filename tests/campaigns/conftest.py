"""Actors for each role, and campaigns brought to each status through the services."""

from collections.abc import Callable

import pytest

from campaigns import services
from campaigns.models import Campaign
from tests.factories import make_manager, make_marketer

Status = Campaign.Status


@pytest.fixture
def inactive_marketer():
    return make_marketer(email="gone.marketer@example.test", is_active=False)


@pytest.fixture
def inactive_manager():
    return make_manager(email="gone.manager@example.test", is_active=False)


@pytest.fixture
def bring_to(marketer, advisor) -> Callable[[Campaign, str], Campaign]:
    """Move a draft (owned by `marketer`, `advisor`'s team as stakeholder) to `status`.

    An announced campaign comes back acknowledged by the advisor's team, so the only
    thing that can stop it being marked done is the actor or the transition itself.
    """

    def bring(campaign: Campaign, status: str) -> Campaign:
        if status == Status.CANCELLED:
            services.campaign_cancel(actor=marketer, campaign_id=campaign.pk)
        elif status in (Status.ANNOUNCED, Status.DONE):
            services.campaign_announce(actor=marketer, campaign_id=campaign.pk)
            services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
            if status == Status.DONE:
                services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        campaign = Campaign.objects.get(pk=campaign.pk)
        assert campaign.status == status
        return campaign

    return bring
