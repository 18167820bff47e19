"""Failures that must stay contained: one broken row, a dead worker, a wrong SMTP password."""

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from campaigns.services import notification_payload
from core.netsafety import UnsafeURLError, resolve_public_address
from notifications import services
from notifications.channels import _smtp_error
from notifications.models import Channel, Kind, Notification
from tests.factories import CampaignFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Notification.Status


def _enqueue(campaign, people, *, teams=()):
    return services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=1,
        kind=Kind.ANNOUNCED,
        user_ids=[p.pk for p in people],
        webhook_team_ids=[t.pk for t in teams],
        payload=notification_payload(campaign),
    )


def test_an_unexpected_error_mid_batch_keeps_what_was_sent_and_retries_the_rest(mailoutbox):
    campaign = CampaignFactory()
    team = TeamFactory(webhook_url="https://chat.example.com/hook")
    _enqueue(campaign, UserFactory.create_batch(2), teams=[team])
    pending = list(Notification.objects.filter(status=Status.PENDING).values_list("pk", flat=True))

    with (
        mock.patch("notifications.services.delivery.send_webhook", side_effect=RuntimeError("bug")),
        pytest.raises(RuntimeError),
    ):
        services.notifications_deliver(notification_ids=pending)

    assert len(mailoutbox) == 2
    emails = Notification.objects.filter(channel=Channel.EMAIL)
    assert set(emails.values_list("status", flat=True)) == {Status.SENT}
    webhook = Notification.objects.get(channel=Channel.WEBHOOK)
    assert webhook.status == Status.PENDING  # not left in "sending" for the sweep to resend all
    assert webhook.attempts == 1


def test_a_row_whose_worker_died_is_given_back_however_often_it_was_tried():
    _enqueue(CampaignFactory(), [UserFactory()])
    row = Notification.objects.get(channel=Channel.EMAIL)
    long_ago = timezone.now() - timedelta(hours=1)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=long_ago, attempts=30
    )

    report = services.notifications_sweep()

    assert report.by_channel == {Channel.EMAIL: [row.pk]}
    row.refresh_from_db()
    assert row.status == Status.PENDING  # an outage never turns into "never told"


def test_tries_are_not_counted_but_timed(settings, mailoutbox):
    """However many times a row was tried, it is tried again inside its window."""
    _enqueue(CampaignFactory(), [UserFactory()])
    row = Notification.objects.get(channel=Channel.EMAIL)
    Notification.objects.filter(pk=row.pk).update(attempts=200)

    report = services.notifications_deliver(notification_ids=[row.pk])

    assert report.sent == [row.pk]
    assert len(mailoutbox) == 1


def test_the_sweep_does_not_requeue_the_same_backlog_every_minute(settings):
    settings.NOTIFICATIONS_STALE_AFTER_SECONDS = 120
    _enqueue(CampaignFactory(), [UserFactory()])
    row = Notification.objects.get(channel=Channel.EMAIL)
    Notification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=10)
    )

    assert services.notifications_sweep().by_channel == {Channel.EMAIL: [row.pk]}
    # pushed forward: queued once per stale period, not at every sweep
    assert services.notifications_sweep().by_channel == {}


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPAuthenticationError(535, b"bad credentials"),
        smtplib.SMTPSenderRefused(550, b"sender not allowed", "passerelle@localhost"),
        smtplib.SMTPConnectError(554, b"no service"),
        smtplib.SMTPServerDisconnected("gone"),
    ],
)
def test_session_level_smtp_errors_are_worth_retrying(error):
    assert _smtp_error(error).transient


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPDataError(550, b"message rejected"), False),
        (smtplib.SMTPDataError(451, b"try later"), True),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), False),
    ],
)
def test_message_level_smtp_errors(error, transient):
    assert _smtp_error(error).transient is transient


def test_turning_the_digest_off_releases_held_emails(django_capture_on_commit_callbacks):
    reader = UserFactory()
    everything = {(kind, channel) for kind in Kind.values for channel in services.PERSON_CHANNELS}
    services.preferences_save(user=reader, enabled=everything, daily_digest=True)
    _enqueue(CampaignFactory(), [reader])
    assert Notification.objects.get(channel=Channel.EMAIL).status == Status.HELD

    with django_capture_on_commit_callbacks() as callbacks:
        services.preferences_save(user=reader, enabled=everything, daily_digest=False)

    assert Notification.objects.get(channel=Channel.EMAIL).status == Status.PENDING
    assert len(callbacks) == 1  # a delivery task is queued after commit


def test_a_line_break_in_a_title_does_not_break_the_email(mailoutbox):
    campaign = CampaignFactory(title="Soldes\u2028d'hiver\n2027")
    _enqueue(campaign, [UserFactory()])
    row = Notification.objects.get(channel=Channel.EMAIL)

    services.notifications_deliver(notification_ids=[row.pk])

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert mailoutbox[0].subject.startswith("New campaign: Soldes d'hiver 2027")


@pytest.mark.parametrize("host", ["2002:7f00:1::1", "::ffff:10.0.0.1"])
def test_addresses_that_embed_a_private_ipv4_are_refused(host):
    with pytest.raises(UnsafeURLError):
        resolve_public_address(host, 443, allow_private=False)


def test_a_bad_port_is_a_validation_error_not_a_crash():
    team = TeamFactory.build(webhook_url="https://chat.example.com:99999/hook")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        team.full_clean()
