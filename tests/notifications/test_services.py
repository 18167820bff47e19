"""The outbox services against the real database, with a real SMTP server where mail goes out."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounts.models import User
from campaigns.services import campaign_acknowledge, notification_payload
from notifications import services
from notifications.models import (
    Channel,
    DeliverySettings,
    DigestRun,
    Dispatch,
    FailureReason,
    Kind,
    Notification,
    Preference,
)
from tests.factories import CampaignFactory, UserFactory, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for, free_port

pytestmark = pytest.mark.django_db
Status = Notification.Status

PAYLOAD = {
    "title": "Soldes d'hiver",
    "path": "/campaigns/1/",
    "channel": "email",
    "audience": "Clients",
}


def enqueue(campaign, users, *, kind=Kind.ANNOUNCED, version=1, **kwargs) -> int:
    return services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=version,
        kind=kind,
        user_ids=[u.pk for u in users],
        payload={**PAYLOAD, "title": campaign.title},
        **kwargs,
    )


def email_rows(**filters):
    return Notification.objects.filter(channel=Channel.EMAIL, **filters)


# --- enqueue --------------------------------------------------------------------------


def test_enqueue_writes_one_in_app_and_one_email_row_per_person_and_is_idempotent(
    publish_spy, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    people = UserFactory.create_batch(3)

    with django_capture_on_commit_callbacks() as callbacks:
        assert enqueue(campaign, people + people[:1]) == 6
        assert publish_spy == []  # nothing is published before the commit
        assert enqueue(campaign, people) == 0

    assert Notification.objects.filter(campaign=campaign).count() == 6
    assert set(email_rows().values_list("status", flat=True)) == {Status.PENDING}
    in_app = Notification.objects.filter(channel=Channel.IN_APP)
    assert set(in_app.values_list("status", flat=True)) == {Status.SENT}
    assert all(n.sent_at is not None for n in in_app)
    assert len(callbacks) == 1  # the repeat wrote nothing, so it queues nothing either


def test_enqueue_publishes_fan_out_only_after_commit(
    publish_spy, use_broker, django_capture_on_commit_callbacks
):
    use_broker("redis://127.0.0.1:6390/0")  # no real publish needed: the spy sees the attempt
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(campaign, [UserFactory()])
        assert publish_spy == []
    dispatch = Dispatch.objects.get(campaign=campaign)
    assert [(c.task_name, c.args) for c in publish_spy] == [
        ("notifications.tasks.fan_out", (dispatch.pk,))
    ]


def test_a_large_audience_is_expanded_after_commit_by_a_task(
    publish_spy, use_broker, django_capture_on_commit_callbacks, settings
):
    """The request commits the event (one row); the rows per person come after."""
    settings.NOTIFICATIONS_EXPAND_INLINE_MAX = 2
    use_broker("redis://127.0.0.1:6390/0")
    team, people = team_with_members(3)
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        written = services.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=1,
            kind=Kind.ANNOUNCED,
            member_team_ids=[team.pk],
            payload=notification_payload(campaign),
        )
        assert written == 0
        assert not Notification.objects.exists()
    dispatch = Dispatch.objects.get(campaign=campaign)
    assert [(c.task_name, c.args) for c in publish_spy] == [
        ("notifications.tasks.expand_dispatch", (dispatch.pk,))
    ]

    assert services.dispatch_expand(dispatch_id=dispatch.pk) == 2 * len(people)
    assert services.dispatch_expand(dispatch_id=dispatch.pk) == 0  # idempotent
    assert Notification.objects.filter(channel=Channel.EMAIL).count() == len(people)


def test_the_sweep_expands_a_dispatch_whose_task_was_lost(settings):
    settings.NOTIFICATIONS_EXPAND_INLINE_MAX = 0
    team, _people = team_with_members(2)
    campaign = CampaignFactory()
    services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=1,
        kind=Kind.ANNOUNCED,
        member_team_ids=[team.pk],
        payload=notification_payload(campaign),
    )
    dispatch = Dispatch.objects.get()
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_STALE_AFTER_SECONDS + 1)
    assert services.notifications_sweep(now=later).dispatch_ids == [dispatch.pk]


def test_enqueue_with_only_in_app_rows_publishes_nothing(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    person = UserFactory()
    Preference.objects.create(
        user=person, kind=Kind.ANNOUNCED, channel=Channel.EMAIL, enabled=False
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert enqueue(campaign, [person]) == 1
    assert callbacks == []


def test_a_new_version_or_occurrence_is_a_new_message():
    campaign = CampaignFactory()
    person = UserFactory()
    assert enqueue(campaign, [person]) == 2
    assert enqueue(campaign, [person], version=2) == 2
    assert enqueue(campaign, [person], kind=Kind.FEEDBACK, occurrence="ack-note-1") == 2
    assert enqueue(campaign, [person], kind=Kind.FEEDBACK, occurrence="ack-note-2") == 2
    assert enqueue(campaign, [person], kind=Kind.FEEDBACK, occurrence="ack-note-2") == 0


def test_enqueue_writes_a_webhook_row_only_for_teams_with_a_url():
    campaign = CampaignFactory()
    hooked, _members = team_with_members(1, webhook_url="https://chat.example.com/hook")
    plain, _others = team_with_members(1)
    enqueue(campaign, [], webhook_team_ids=[hooked.pk, plain.pk])
    rows = Notification.objects.filter(channel=Channel.WEBHOOK)
    assert [(r.team_id, r.recipient_id, r.status) for r in rows] == [
        (hooked.pk, None, Status.PENDING)
    ]


# --- preferences ----------------------------------------------------------------------


def test_opting_out_of_reminder_emails_leaves_the_in_app_reminder():
    campaign = CampaignFactory()
    quiet, loud = UserFactory.create_batch(2)
    services.preferences_save(
        user=quiet,
        enabled={(k, c) for k in Kind.values for c in services.PERSON_CHANNELS}
        - {(Kind.REMINDER, Channel.EMAIL)},
        daily_digest=False,
    )
    enqueue(campaign, [quiet, loud], kind=Kind.REMINDER)

    assert set(email_rows(kind=Kind.REMINDER).values_list("recipient", flat=True)) == {loud.pk}
    in_app = Notification.objects.filter(kind=Kind.REMINDER, channel=Channel.IN_APP)
    assert set(in_app.values_list("recipient", flat=True)) == {quiet.pk, loud.pk}
    # Other kinds are still e-mailed.
    enqueue(campaign, [quiet], kind=Kind.CHANGED, version=2)
    assert email_rows(kind=Kind.CHANGED, recipient=quiet).exists()


def test_escalation_emails_cannot_be_switched_off():
    campaign = CampaignFactory()
    lead = UserFactory()
    services.preferences_save(user=lead, enabled=set(), daily_digest=False)

    assert (
        Preference.objects.get(user=lead, kind=Kind.ESCALATION, channel=Channel.EMAIL).enabled
        is True
    )
    assert (
        Preference.objects.get(user=lead, kind=Kind.ESCALATION, channel=Channel.IN_APP).enabled
        is False
    )
    # Even a stored opt-out (say, written by hand) is ignored for escalation e-mails.
    Preference.objects.filter(user=lead, kind=Kind.ESCALATION).update(enabled=False)

    enqueue(campaign, [lead], kind=Kind.ESCALATION, occurrence="team-1")
    enqueue(campaign, [lead], kind=Kind.REMINDER)
    assert list(Notification.objects.values_list("kind", "channel")) == [
        (Kind.ESCALATION, Channel.EMAIL)
    ]


# --- delivery: retries and failures over real SMTP ------------------------------------


def one_pending_email(**user_kwargs) -> Notification:
    team, (member,) = team_with_members(1)
    if user_kwargs:
        User.objects.filter(pk=member.pk).update(**user_kwargs)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    return email_rows(campaign=campaign).get()


def test_smtp_failing_twice_then_recovering_delivers_once_on_the_third_attempt(smtp_server):
    notification = one_pending_email()
    smtp_server.handler.data_script = ["451 4.3.0 try later", "451 4.3.0 try later"]

    report = services.notifications_deliver(notification_ids=[notification.pk])
    notification.refresh_from_db()
    assert report.retry == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.PENDING, 1)
    assert "451" in notification.last_error
    assert notification.next_attempt_at > timezone.now()
    assert report.retry_at == notification.next_attempt_at

    # Not due yet: a second task run for the same row sends nothing.
    assert services.notifications_deliver(notification_ids=[notification.pk]).retry == []
    assert smtp_server.handler.data_commands == 1

    with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
        report = services.notifications_deliver(notification_ids=[notification.pk])
    notification.refresh_from_db()
    assert report.retry == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.PENDING, 2)

    with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
        report = services.notifications_deliver(notification_ids=[notification.pk])
        assert services.notifications_deliver(notification_ids=[notification.pk]).sent == []
    notification.refresh_from_db()
    assert report.sent == [notification.pk]
    assert (notification.status, notification.attempts, notification.last_error) == (
        Status.SENT,
        3,
        "",
    )
    assert notification.sent_at is not None
    assert smtp_server.handler.data_commands == 3
    assert smtp_server.handler.recipients() == [notification.recipient.email]


def test_backoff_grows_with_each_attempt(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (8, 900), (20, 900)]:
        for _ in range(20):
            assert ceiling / 2 <= services.retry_delay(attempt).total_seconds() <= ceiling


def test_smtp_answering_451_is_retried_for_a_day_then_given_up(smtp_server, settings):
    settings.NOTIFICATIONS_RETRY_WINDOW_HOURS = 24
    notification = one_pending_email()
    smtp_server.handler.data_reply = "451 4.3.0 try later"
    tries = 0
    while True:
        notification.refresh_from_db()
        if notification.status != Status.PENDING:
            break
        with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
            services.notifications_deliver(notification_ids=[notification.pk])
        tries += 1
        assert tries < 200
    # backoff capped at NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS: dozens of tries in a day
    assert tries > 24
    assert notification.status == Status.FAILED
    assert notification.failure_reason == FailureReason.GAVE_UP
    assert "451" in notification.last_error
    assert smtp_server.messages == []


def test_a_failed_row_is_sent_again_by_hand_with_a_new_window(
    smtp_server, django_capture_on_commit_callbacks
):
    notification = one_pending_email()
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.FAILED, failure_reason=FailureReason.GAVE_UP, attempts=40
    )

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.notifications_retry(campaign_id=notification.campaign_id) == 1
    assert services.notifications_retry(campaign_id=notification.campaign_id) == 0
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.failure_reason) == (
        Status.PENDING,
        0,
        "",
    )
    assert len(callbacks) == 1
    services.notifications_deliver(notification_ids=[notification.pk])
    assert len(smtp_server.messages) == 1


def test_smtp_answering_550_fails_at_once(smtp_server):
    notification = one_pending_email()
    smtp_server.handler.data_reply = "550 5.7.1 message refused"

    report = services.notifications_deliver(notification_ids=[notification.pk])
    notification.refresh_from_db()
    assert report.failed == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.FAILED, 1)
    assert "550" in notification.last_error


def test_a_refused_recipient_does_not_fail_the_rest_of_the_batch(smtp_server):
    team, members = team_with_members(3)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    refused = members[1]
    smtp_server.handler.refused_rcpt = {refused.email: "550 5.1.1 no such mailbox"}
    ids = list(email_rows(campaign=campaign).order_by("pk").values_list("pk", flat=True))

    report = services.notifications_deliver(notification_ids=ids)

    assert sorted(smtp_server.handler.recipients()) == sorted([members[0].email, members[2].email])
    assert len(report.sent) == 2
    failed = email_rows(campaign=campaign, status=Status.FAILED).get()
    assert failed.recipient == refused
    assert "550" in failed.last_error
    assert email_rows(campaign=campaign, status=Status.SENT).count() == 2


def test_an_address_that_cannot_be_sent_fails_alone_and_nobody_gets_a_duplicate(smtp_server):
    team, members = team_with_members(3)
    User.objects.filter(pk=members[1].pk).update(email="andré@example.com")
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    ids = list(email_rows(campaign=campaign).order_by("pk").values_list("pk", flat=True))

    report = services.notifications_deliver(notification_ids=ids)

    assert len(report.sent) == 2
    bad = email_rows(campaign=campaign, recipient=members[1]).get()
    assert report.failed == [bad.pk]
    assert (bad.status, bad.attempts) == (Status.FAILED, 1)
    assert "non-ASCII" in bad.last_error
    # Nothing is left in "sending" for the sweep to send a second time.
    later = timezone.now() + timedelta(hours=1)
    assert services.notifications_sweep(now=later).count == 0
    assert sorted(smtp_server.handler.recipients()) == sorted([members[0].email, members[2].email])


def test_a_temporary_refusal_of_one_recipient_retries_only_that_one(smtp_server):
    team, members = team_with_members(3)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    smtp_server.handler.refused_rcpt = {members[0].email: "450 4.2.1 mailbox busy"}
    ids = list(email_rows(campaign=campaign).values_list("pk", flat=True))

    report = services.notifications_deliver(notification_ids=ids)

    assert len(report.sent) == 2
    retried = email_rows(campaign=campaign, status=Status.PENDING).get()
    assert retried.recipient == members[0]
    assert report.retry == [retried.pk]


def test_smtp_server_unreachable_is_transient(settings):
    notification = one_pending_email()
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    report = services.notifications_deliver(notification_ids=[notification.pk])
    notification.refresh_from_db()
    assert report.retry == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.PENDING, 1)
    assert "ConnectionRefusedError" in notification.last_error


def test_deliver_skips_rows_that_are_not_pending():
    notification = one_pending_email()
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, claimed_at=timezone.now()
    )
    assert services.notifications_deliver(notification_ids=[notification.pk]).sent == []
    assert mail.outbox == []


# --- sweep ----------------------------------------------------------------------------


def test_sweep_frees_rows_stuck_in_sending_and_returns_stale_pending_ones():
    campaign = CampaignFactory()
    enqueue(campaign, UserFactory.create_batch(4))
    stuck, recent, overdue, fresh = email_rows().order_by("pk")
    now = timezone.now()
    stuck_for = timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS + 1)
    Notification.objects.filter(pk=stuck.pk).update(
        status=Status.SENDING, claimed_at=now - stuck_for, attempts=1
    )
    Notification.objects.filter(pk=recent.pk).update(
        status=Status.SENDING,
        claimed_at=now - timedelta(seconds=5),  # a live lease
    )
    Notification.objects.filter(pk=overdue.pk).update(
        next_attempt_at=now - timedelta(seconds=settings.NOTIFICATIONS_STALE_AFTER_SECONDS + 1)
    )

    report = services.notifications_sweep(now=now)
    assert report.by_channel == {Channel.EMAIL: sorted([stuck.pk, overdue.pk])}

    stuck.refresh_from_db()
    recent.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, stuck.next_attempt_at, stuck.attempts) == (Status.PENDING, now, 1)
    assert recent.status == Status.SENDING
    assert fresh.status == Status.PENDING


def test_a_row_freed_by_the_sweep_is_delivered_once(smtp_server):
    notification = one_pending_email()
    long_ago = timezone.now() - timedelta(hours=1)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, claimed_at=long_ago, attempts=1
    )

    ids = services.notifications_sweep().by_channel[Channel.EMAIL]
    assert ids == [notification.pk]
    services.notifications_deliver(notification_ids=ids)
    services.notifications_deliver(notification_ids=ids)

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.SENT, 2)
    assert len(smtp_server.messages) == 1


# --- daily digest ---------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


def digest_user(**kwargs) -> User:
    user = UserFactory(**kwargs)
    DeliverySettings.objects.create(user=user, daily_digest=True)
    return user


def test_digest_users_get_held_emails_but_escalations_at_once():
    campaign = CampaignFactory()
    reader = digest_user()
    enqueue(campaign, [reader])
    enqueue(campaign, [reader], kind=Kind.ESCALATION, occurrence="team-1")
    assert email_rows(kind=Kind.ANNOUNCED).get().status == Status.HELD
    assert email_rows(kind=Kind.ESCALATION).get().status == Status.PENDING
    assert (
        Notification.objects.get(kind=Kind.ANNOUNCED, channel=Channel.IN_APP).status == Status.SENT
    )


def test_digest_goes_out_once_a_day_after_the_digest_hour():
    reader = digest_user()
    quiet = digest_user()  # nothing held: no digest
    first, second = CampaignFactory.create_batch(2)
    enqueue(first, [reader])
    enqueue(second, [reader], kind=Kind.REMINDER)

    before_hour = datetime(2026, 3, 2, settings.NOTIFICATIONS_DIGEST_HOUR - 1, 30, tzinfo=PARIS)
    assert services.digests_send_due(now=before_hour) == 0
    assert mail.outbox == []

    at_hour = before_hour + timedelta(hours=1)
    assert services.digests_send_due(now=at_hour) == 1
    assert services.digests_send_due(now=at_hour + timedelta(hours=3)) == 0

    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == [reader.email]
    assert digest.subject == "Passerelle digest: 2 updates"
    assert first.title in digest.body
    assert second.title in digest.body
    # The digest is set on the preferences page: no one-click switch for it.
    assert digest.extra_headers["List-Unsubscribe"].endswith("/notifications/preferences/>")
    assert "List-Unsubscribe-Post" not in digest.extra_headers
    assert [a[1] for a in digest.alternatives] == ["text/html"]
    assert set(email_rows(recipient=reader).values_list("status", flat=True)) == {Status.SENT}
    assert not DigestRun.objects.filter(user=quiet).exists()

    # Held later the same day: waits for the next day's digest.
    enqueue(CampaignFactory(), [reader], kind=Kind.CHANGED, version=2)
    assert services.digests_send_due(now=at_hour + timedelta(hours=5)) == 0
    assert services.digests_send_due(now=at_hour + timedelta(days=1)) == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "Passerelle digest: 1 update"


def test_digest_hour_is_the_readers_local_hour():
    tokyo = digest_user(time_zone="Asia/Tokyo")
    paris = digest_user()
    enqueue(CampaignFactory(), [tokyo, paris])
    # 08:30 in Tokyo is 00:30 in Paris.
    moment = datetime(
        2026, 3, 2, settings.NOTIFICATIONS_DIGEST_HOUR, 30, tzinfo=ZoneInfo("Asia/Tokyo")
    )
    assert services.digests_send_due(now=moment) == 1
    assert mail.outbox[0].to == [tokyo.email]


def test_a_failed_digest_stays_held_and_is_retried(smtp_server):
    reader = digest_user()
    enqueue(CampaignFactory(), [reader])
    moment = datetime(2026, 3, 2, 9, tzinfo=PARIS)
    smtp_server.handler.data_script = ["451 4.3.0 try later"]

    assert services.digests_send_due(now=moment) == 0
    row = email_rows(recipient=reader).get()
    assert row.status == Status.HELD
    assert "451" in row.last_error
    assert not DigestRun.objects.filter(user=reader).exists()

    assert services.digests_send_due(now=moment + timedelta(hours=1)) == 1
    assert len(smtp_server.messages) == 1
    assert email_rows(recipient=reader).get().status == Status.SENT


# --- inbox ----------------------------------------------------------------------------


def test_mark_read_is_per_person_and_idempotent():
    campaign = CampaignFactory()
    reader, other = UserFactory.create_batch(2)
    enqueue(campaign, [reader, other])
    enqueue(campaign, [reader], kind=Kind.CHANGED, version=2)
    mine = Notification.objects.filter(recipient=reader, channel=Channel.IN_APP).order_by("pk")
    theirs = Notification.objects.get(recipient=other, channel=Channel.IN_APP)

    assert services.inbox_mark_read(user=reader, notification_id=theirs.pk) == 0
    assert services.inbox_mark_read(user=reader, notification_id=mine[0].pk) == 1
    assert services.inbox_mark_read(user=reader, notification_id=mine[0].pk) == 0
    assert services.inbox_mark_read(user=reader) == 1
    assert services.inbox_mark_read(user=reader) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_acknowledging_with_a_note_tells_the_owner_once():
    team, (member,) = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    campaign_acknowledge(actor=member, campaign_id=campaign.pk, note="Scripts prêts")
    campaign_acknowledge(actor=member, campaign_id=campaign.pk, note="Scripts prêts")
    feedback = Notification.objects.filter(kind=Kind.FEEDBACK)
    assert set(feedback.values_list("recipient", "channel")) == {
        (campaign.owner_id, Channel.EMAIL),
        (campaign.owner_id, Channel.IN_APP),
    }
    assert feedback.first().payload["note"] == "Scripts prêts"
