"""The campaign page's "Send again": one row, all of them, and what is not a row."""

import pytest
from django.urls import reverse

from notifications.models import Channel, FailureReason, Notification
from tests.factories import MembershipFactory, TeamFactory, make_manager, make_marketer
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db
Status = Notification.Status


@pytest.fixture
def failed_twice():
    """A campaign whose two e-mails failed for good, and another campaign's failed one."""
    team = TeamFactory()
    MembershipFactory.create_batch(2, team=team)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    other = announce(campaign_for(owner=make_marketer(), teams=[team]))
    Notification.objects.filter(channel=Channel.EMAIL).update(
        status=Status.FAILED, failure_reason=FailureReason.BOUNCED
    )
    return campaign, other


def failed(campaign) -> int:
    return Notification.objects.filter(campaign=campaign, status=Status.FAILED).count()


def send_again(client, campaign, **data):
    return client.post(reverse("campaigns:deliveries_retry", args=[campaign.pk]), data, follow=True)


def test_one_row_is_sent_again_and_only_it(client, failed_twice):
    campaign, _other = failed_twice
    client.force_login(make_manager())
    row = Notification.objects.filter(campaign=campaign, status=Status.FAILED).first()

    response = send_again(client, campaign, notification=row.pk)

    assert "1 message is being sent again." in response.content.decode()
    assert failed(campaign) == 1


def test_an_unreadable_row_id_sends_nothing_again(client, failed_twice):
    campaign, _other = failed_twice
    client.force_login(make_manager())

    response = send_again(client, campaign, notification="abc")

    assert "That message could not be found; nothing was sent again." in response.content.decode()
    assert failed(campaign) == 2  # not "every row" for lack of one


def test_another_campaigns_row_is_not_sent_again_from_here(client, failed_twice):
    campaign, other = failed_twice
    client.force_login(make_manager())
    foreign = Notification.objects.filter(campaign=other, status=Status.FAILED).first()

    response = send_again(client, campaign, notification=foreign.pk)

    assert "Nothing to send again" in response.content.decode()
    assert failed(other) == 2
    assert failed(campaign) == 2


def test_a_second_click_says_there_is_nothing_left(client, failed_twice):
    campaign, _other = failed_twice
    client.force_login(make_manager())
    send_again(client, campaign)

    response = send_again(client, campaign)

    assert "Nothing to send again" in response.content.decode()
    assert "are being sent again" not in response.content.decode()
