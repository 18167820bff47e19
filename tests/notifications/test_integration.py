"""End to end: announce → outbox rows → Redis → a real Celery worker → a real SMTP server.

Also what happens when Redis is down at announce time, or goes down while running.
"""

import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import formats, timezone, translation

from accounts.models import User
from campaigns.models import Campaign
from notifications import services, tasks
from notifications.models import Channel, Dispatch, Kind, Notification
from notifications.publish import publish_task
from notifications.tokens import ack_token_read
from tests.factories import make_marketer, team_with_members
from tests.support.servers import (
    announce,
    campaign_for,
    running_worker,
    wait_until,
)

Status = Notification.Status

CLOSED_BROKER = "redis://127.0.0.1:6390/0"


def three_teams_of(total: int, *, french: int) -> list:
    sizes = [total // 3 + (1 if i < total % 3 else 0) for i in range(3)]
    teams = [team_with_members(size)[0] for size in sizes]
    members = list(User.objects.filter(memberships__team__in=teams).order_by("pk"))
    assert len(members) == total
    User.objects.filter(pk__in=[m.pk for m in members[:french]]).update(language="fr")
    return teams


@pytest.mark.redis
@pytest.mark.postgres  # concurrent deliveries racing for rows: row locks, not SQLite's table lock
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_announce_to_50_people_through_a_real_worker_sends_each_one_email(
    celery_worker, smtp_server, settings
):
    settings.NOTIFICATIONS_BATCH_SIZE = 10  # several deliver tasks on the worker's threads
    teams = three_teams_of(50, french=5)
    campaign = campaign_for(owner=make_marketer(), teams=teams)

    announce(campaign)  # transaction=True: on_commit really fires and publishes fan_out
    dispatch = Dispatch.objects.get(campaign=campaign)
    # Two more fan-outs racing the first one: the same rows get queued up to three times.
    tasks.fan_out.delay(dispatch.pk)
    tasks.fan_out.delay(dispatch.pk)

    assert wait_until(lambda: len(smtp_server.messages) >= 50, timeout=30), (
        f"only {len(smtp_server.messages)} e-mails arrived"
    )
    celery_worker.wait_settled()
    assert celery_worker.failures == []
    assert celery_worker.finished["notifications.tasks.fan_out"] == 3

    emails = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)
    assert emails.count() == 50
    assert set(emails.values_list("status", "attempts")) == {(Status.SENT, 1)}
    in_app = Notification.objects.filter(campaign=campaign, channel=Channel.IN_APP)
    assert in_app.count() == 50
    assert set(in_app.values_list("status", flat=True)) == {Status.SENT}

    # Fan out once more, through the worker and directly: nothing is pending, nothing sent.
    tasks.fan_out.delay(dispatch.pk)
    assert wait_until(
        lambda: celery_worker.finished["notifications.tasks.fan_out"] == 4, timeout=10
    )
    assert tasks.fan_out(dispatch.pk) == 0
    celery_worker.wait_settled()
    time.sleep(0.3)  # a duplicate would have had time to arrive

    recipients = smtp_server.handler.recipients()
    assert len(recipients) == 50
    members = User.objects.filter(memberships__team__in=teams)
    assert set(recipients) == set(members.values_list("email", flat=True))

    french = set(members.filter(language="fr").values_list("email", flat=True))
    with translation.override("fr"):
        french_launch = formats.date_format(
            timezone.localtime(campaign.launch_at), "DATETIME_FORMAT"
        )
    in_french = {str(m["To"]) for m in smtp_server.messages if french_launch in str(m["Subject"])}
    assert in_french == french
    assert len(french) == 5


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_emails_from_the_worker_are_multipart_with_ack_link_and_unsubscribe_header(
    celery_worker, smtp_server
):
    team, (english, french) = team_with_members(2)
    User.objects.filter(pk=french.pk).update(language="fr")
    launch = timezone.now() + timedelta(days=5)
    campaign = campaign_for(owner=make_marketer(), teams=[team], launch_at=launch, title="Soldes")

    announce(campaign)

    assert wait_until(lambda: len(smtp_server.messages) == 2, timeout=20)
    celery_worker.wait_settled()
    by_address = {str(m["To"]): m for m in smtp_server.messages}
    for user in (english, french):
        message = by_address[user.email]
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "/campaigns/ack/" in text
        assert "/campaigns/ack/" in html
        token = text.split("/campaigns/ack/")[1].split("/")[0]
        claim = ack_token_read(token)
        assert (claim.user_id, claim.campaign_id, claim.version) == (user.pk, campaign.pk, 1)
        assert message["List-Unsubscribe"].startswith(
            f"<{settings.PASSERELLE_BASE_URL}/notifications/unsubscribe/"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Auto-Submitted"] == "auto-generated"

    def launch_in(language: str) -> str:
        with translation.override(language):
            return formats.date_format(timezone.localtime(launch), "DATETIME_FORMAT")

    assert launch_in("fr") != launch_in("en")
    assert (
        str(by_address[english.email]["Subject"])
        == f"New campaign: Soldes, launching {launch_in('en')}"
    )
    assert launch_in("fr") in str(by_address[french.email]["Subject"])
    assert launch_in("en") not in str(by_address[french.email]["Subject"])
    assert '<html lang="fr">' in by_address[french.email].get_body(("html",)).get_content()


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rows_committed_while_redis_was_down_are_swept_and_delivered_by_the_worker(
    private_queue, celery_app, use_broker, publish_spy, smtp_server, settings, quiet_worker_logging
):
    team, members = team_with_members(4)
    campaign = campaign_for(owner=make_marketer(), teams=[team])
    real_broker = celery_app.conf.broker_url

    use_broker(CLOSED_BROKER)
    announce(campaign)
    assert [(c.task_name, c.published) for c in publish_spy] == [
        ("notifications.tasks.fan_out", False)
    ]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ANNOUNCED
    pending = Notification.objects.filter(
        campaign=campaign, channel=Channel.EMAIL, status=Status.PENDING
    )
    assert pending.count() == 4

    use_broker(real_broker)
    settings.NOTIFICATIONS_STALE_AFTER_SECONDS = 0
    with running_worker(celery_app) as worker:
        tasks.sweep_stale_notifications.delay()  # what beat does every minute
        assert wait_until(lambda: len(smtp_server.messages) == 4, timeout=20)
        worker.wait_settled()
        tasks.sweep_stale_notifications.delay()
        worker.wait_settled()
        assert worker.finished["notifications.tasks.sweep_stale_notifications"] == 2
        assert worker.failures == []

    assert sorted(smtp_server.handler.recipients()) == sorted(m.email for m in members)
    assert set(
        Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL).values_list(
            "status", flat=True
        )
    ) == {Status.SENT}


@pytest.mark.redis
@pytest.mark.django_db
def test_announce_succeeds_and_publishes_fast_when_redis_is_unreachable(
    use_broker, publish_spy, smtp_server, django_capture_on_commit_callbacks
):
    team, members = team_with_members(3)
    other_team, others = team_with_members(2)
    campaign = campaign_for(owner=make_marketer(), teams=[team, other_team])
    use_broker(CLOSED_BROKER)

    start = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        announce(campaign)
    elapsed = time.monotonic() - start

    assert len(callbacks) == 1
    assert len(publish_spy) == 1
    assert publish_spy[0].published is False
    # The requirement is < 500 ms (measured by the benchmark); this only catches kombu's
    # multi-second connection retries.
    assert publish_spy[0].seconds < 2
    assert elapsed < 5
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ANNOUNCED
    emails = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)
    assert set(emails.values_list("status", "attempts")) == {(Status.PENDING, 0)}
    assert len(smtp_server.messages) == 0

    # Broker back; the beat sweep finds the rows once they are stale, and they go out once.
    assert services.notifications_sweep().count == 0
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_STALE_AFTER_SECONDS + 1)
    ids = services.notifications_sweep(now=later).by_channel[Channel.EMAIL]
    assert ids == sorted(emails.values_list("pk", flat=True))

    with time_machine.travel(later, tick=False):  # the sweep's clock, for the delivery too
        report = services.notifications_deliver(notification_ids=ids)
        assert sorted(report.sent) == ids
        assert sorted(smtp_server.handler.recipients()) == sorted(u.email for u in members + others)

        assert services.notifications_sweep(now=later).count == 0
        assert services.notifications_deliver(notification_ids=ids).sent == []
    assert len(smtp_server.messages) == 5


@pytest.mark.redis
@pytest.mark.django_db
def test_a_nudge_while_redis_is_unreachable_is_kept_for_the_sweep_and_not_doubled(
    client, use_broker, publish_spy, django_capture_on_commit_callbacks
):
    """The manager's Nudge answers at once; the reminder e-mail waits in the outbox for
    the beat sweep, and the page (and the service) still count it as this hour's nudge."""
    from tests.factories import announced_campaign, make_manager

    team, (person, *_rest) = team_with_members(2)
    campaign = announced_campaign(teams=[team])
    client.force_login(make_manager())
    use_broker(CLOSED_BROKER)
    nudge_url = f"/dashboard/teams/{team.slug}/nudge/"
    data = {"campaign": campaign.pk, "user": person.pk}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(nudge_url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Nudged</button>" in response.content.decode()
    assert [call.published for call in publish_spy] == [False]
    reminder = Notification.objects.get(recipient=person, kind=Kind.REMINDER, channel=Channel.EMAIL)
    assert reminder.status == Status.PENDING  # the sweep will send it once Redis is back

    again = client.post(nudge_url, data, headers={"HX-Request": "true"})
    assert "Already nudged in the last hour" in again.content.decode()
    assert Notification.objects.filter(recipient=person, kind=Kind.REMINDER).count() == 2


@pytest.mark.redis
def test_publish_fails_fast_when_redis_goes_down_and_recovers_when_it_is_back(
    private_queue, celery_app, use_broker, redis_proxy, settings
):
    """The web process already holds pooled connections when Redis dies: kombu would then
    retry the connection for seconds on each publish unless told not to."""
    database = settings.CELERY_BROKER_URL.rsplit("/", 1)[-1]
    use_broker(f"redis://127.0.0.1:{redis_proxy.port}/{database}")

    def publish() -> tuple[bool, float]:
        start = time.monotonic()
        published = publish_task("tests.nothing", 1, countdown=None)
        return published, time.monotonic() - start

    assert publish()[0] is True
    redis_proxy.cut()
    outcomes = [publish() for _ in range(3)]
    assert [published for published, _seconds in outcomes] == [False, False, False]
    assert max(seconds for _published, seconds in outcomes) < 1

    redis_proxy.restore()
    assert wait_until(lambda: publish()[0], timeout=5)
