"""The daily digest's default: on for people who switched off immediate e-mails for
announced or changed campaigns, and then summarising their in-app-only notices too."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from notifications import selectors, services
from notifications.models import Channel, DeliverySettings, DigestRun, Kind, Notification
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Notification.Status

PARIS = ZoneInfo("Europe/Paris")
EVERYTHING = {(kind, channel) for kind in Kind.values for channel in services.PERSON_CHANNELS}
NO_NOTICE_EMAILS = EVERYTHING - {(Kind.ANNOUNCED, Channel.EMAIL), (Kind.CHANGED, Channel.EMAIL)}
DAY = datetime(2026, 3, 2, tzinfo=PARIS)


def at(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute) + timedelta(days=days)


def enqueue(campaign, users, *, kind=Kind.ANNOUNCED, version=1, when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        services.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=version,
            kind=kind,
            user_ids=[u.pk for u in users],
            payload={"title": campaign.title, "path": f"/campaigns/{campaign.pk}/"},
        )


def send(now: datetime) -> int:
    with time_machine.travel(now, tick=False):
        return services.digests_send_due(now=now)


def test_without_a_choice_the_digest_follows_the_email_switches():
    person = UserFactory()
    assert selectors.wants_daily_digest(user=person) is False

    services.preferences_save(user=person, enabled=NO_NOTICE_EMAILS, daily_digest=None)
    assert DeliverySettings.objects.get(user=person).daily_digest is None
    assert selectors.wants_daily_digest(user=person) is True

    # Only "changed" e-mails off is enough too.
    services.preferences_save(
        user=person, enabled=EVERYTHING - {(Kind.CHANGED, Channel.EMAIL)}, daily_digest=None
    )
    assert selectors.wants_daily_digest(user=person) is True

    services.preferences_save(user=person, enabled=EVERYTHING, daily_digest=None)
    assert selectors.wants_daily_digest(user=person) is False


def test_an_explicit_choice_wins_over_the_default():
    opted_out, opted_in = UserFactory.create_batch(2)
    services.preferences_save(user=opted_out, enabled=NO_NOTICE_EMAILS, daily_digest=False)
    services.preferences_save(user=opted_in, enabled=EVERYTHING, daily_digest=True)
    assert selectors.wants_daily_digest(user=opted_out) is False
    assert selectors.wants_daily_digest(user=opted_in) is True

    # An untouched box (None) keeps the stored choice.
    services.preferences_save(user=opted_out, enabled=NO_NOTICE_EMAILS, daily_digest=None)
    assert selectors.wants_daily_digest(user=opted_out) is False
    assert services.digest_user_ids() == {opted_in.pk}


def test_default_digest_readers_get_their_in_app_only_notices_once_a_day(mailoutbox):
    reader = UserFactory()
    no_digest = UserFactory()
    services.preferences_save(user=reader, enabled=NO_NOTICE_EMAILS, daily_digest=None)
    services.preferences_save(user=no_digest, enabled=NO_NOTICE_EMAILS, daily_digest=False)
    first, second = CampaignFactory.create_batch(2)
    enqueue(first, [reader, no_digest], when=at(12, days=-1))  # within the last 24 hours
    enqueue(second, [reader, no_digest], kind=Kind.CHANGED, version=2, when=at(7))
    # No immediate e-mail for either of them: only the in-app rows exist.
    assert not Notification.objects.filter(channel=Channel.EMAIL).exists()

    hour = settings.NOTIFICATIONS_DIGEST_HOUR
    assert send(at(hour - 1, 30)) == 0
    assert send(at(hour, 30)) == 1
    assert send(at(hour + 2)) == 0  # beat fired again: one digest a day

    [digest] = mailoutbox
    assert digest.to == [reader.email]
    assert digest.subject == "Passerelle digest: 2 updates"
    assert first.title in digest.body
    assert second.title in digest.body
    assert DigestRun.objects.get(user=reader).period == "daily:2026-03-02"

    # The next day, nothing new: nothing sent. Then a new notice: just that one.
    assert send(at(hour, 30, days=1)) == 0
    third = CampaignFactory()
    enqueue(third, [reader], when=at(12, days=1))
    assert send(at(hour, 30, days=2)) == 1
    assert mailoutbox[1].subject == "Passerelle digest: 1 update"
    assert third.title in mailoutbox[1].body
    assert first.title not in mailoutbox[1].body


def test_held_emails_and_in_app_notices_are_not_listed_twice(mailoutbox):
    reader = UserFactory()
    DeliverySettings.objects.create(user=reader, daily_digest=True)
    campaign = CampaignFactory()
    enqueue(campaign, [reader], when=at(7))
    assert Notification.objects.get(recipient=reader, channel=Channel.EMAIL).status == Status.HELD

    assert send(at(settings.NOTIFICATIONS_DIGEST_HOUR, 30)) == 1
    assert mailoutbox[0].subject == "Passerelle digest: 1 update"
    assert Notification.objects.get(recipient=reader, channel=Channel.EMAIL).status == Status.SENT


def test_other_emails_of_a_default_digest_reader_wait_for_the_digest_but_escalations_do_not():
    reader = UserFactory()
    services.preferences_save(user=reader, enabled=NO_NOTICE_EMAILS, daily_digest=None)
    campaign = CampaignFactory()
    enqueue(campaign, [reader], kind=Kind.REMINDER, when=at(7))
    enqueue(campaign, [reader], kind=Kind.ESCALATION, when=at(7))
    emails = Notification.objects.filter(recipient=reader, channel=Channel.EMAIL)
    assert emails.get(kind=Kind.REMINDER).status == Status.HELD
    assert emails.get(kind=Kind.ESCALATION).status == Status.PENDING


def test_the_preferences_page_explains_and_applies_the_default(client):
    person = UserFactory()
    client.force_login(person)
    url = reverse("notifications:preferences")
    page = client.get(url).content.decode()
    assert "switch off e-mails for announced or changed campaigns" in page
    assert '<input type="hidden" name="daily_digest_shown" value="off">' in page

    # E-mails for announced campaigns switched off, the digest box left as shown.
    form = {f"{kind}__{channel}": "on" for kind, channel in NO_NOTICE_EMAILS}
    client.post(url, {**form, "daily_digest_shown": "off"})
    assert DeliverySettings.objects.get(user=person).daily_digest is None
    page = client.get(url).content.decode()
    assert 'name="daily_digest" aria-describedby="daily-digest-help" checked' in page
    assert '<input type="hidden" name="daily_digest_shown" value="on">' in page

    # Unticking the box shown ticked is an explicit "no".
    client.post(url, {**form, "daily_digest_shown": "on"})
    assert DeliverySettings.objects.get(user=person).daily_digest is False
    assert selectors.wants_daily_digest(user=person) is False


def test_query_count_of_a_digest_run_is_bounded_per_person(
    django_assert_max_num_queries, mailoutbox
):
    readers = UserFactory.create_batch(3)
    for reader in readers:
        services.preferences_save(user=reader, enabled=NO_NOTICE_EMAILS, daily_digest=None)
    for campaign in CampaignFactory.create_batch(6):
        enqueue(campaign, readers, when=at(7))
    # who is due (4, and the owners of questions waiting: 5), each batch's readers and
    # people (3), then per person a bounded few (their questions waiting: one more)
    with django_assert_max_num_queries(5 + 3 + 3 * 11):
        assert send(at(settings.NOTIFICATIONS_DIGEST_HOUR, 30)) == 3
    assert all("6 updates" in m.subject for m in mailoutbox)
