"""The Monday "week ahead" e-mail: who gets it, when (in their time zone), in which
language, once per ISO week, and how one person's failure stays theirs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from feed import tasks
from feed import week_ahead as digests
from notifications.channels import _feed_url
from notifications.models import DeliverySettings, DigestRun
from notifications.services import digests as digest_services
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 23 November 2026 is the first day of ISO week 2026-W48.
MONDAY = datetime(2026, 11, 23, tzinfo=PARIS)
HOUR = settings.NOTIFICATIONS_DIGEST_HOUR


def at(day: datetime, hour: int, minute: int = 5, tz: ZoneInfo = PARIS) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def launching(team, when: datetime, *, status=Campaign.Status.ANNOUNCED, **kwargs) -> Campaign:
    campaign = CampaignFactory(status=status, launch_at=when, **kwargs)
    StakeholderFactory(campaign=campaign, team=team)
    return campaign


def member(team, **user_kwargs):
    return MembershipFactory(team=team, **{f"user__{k}": v for k, v in user_kwargs.items()}).user


def send(now: datetime) -> int:
    with time_machine.travel(now, tick=False):
        return digests.week_ahead_send_due(now=now)


def test_sent_once_per_iso_week_at_the_digest_hour_even_if_beat_fires_twice(mailoutbox):
    team = TeamFactory(name="Conseillers")
    reader = member(team)
    campaign = launching(team, at(MONDAY + timedelta(days=2), 10, 0), title="Soldes d'hiver")

    assert send(at(MONDAY, HOUR - 1)) == 0  # too early
    assert send(at(MONDAY, HOUR)) == 1
    assert send(at(MONDAY, HOUR)) == 0  # beat fired twice
    assert send(at(MONDAY, HOUR + 3)) == 0
    assert send(at(MONDAY + timedelta(days=1), HOUR)) == 0  # Tuesday: not a Monday

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [reader.email]
    assert email.subject == "The week ahead: 1 campaign launching"
    assert "Conseillers" in email.body
    assert "Soldes d'hiver" in email.body
    assert f"{settings.PASSERELLE_BASE_URL}/campaigns/{campaign.pk}/" in email.body
    assert "/notifications/unsubscribe/" in email.extra_headers["List-Unsubscribe"]
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The weekly feed page (built alongside) is linked when the installation has one.
    feed_url = _feed_url()
    assert not feed_url or feed_url in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert '<html lang="en">' in html
    assert f"/campaigns/{campaign.pk}/" in html
    assert list(DigestRun.objects.filter(user=reader).values_list("period", flat=True)) == [
        "week:2026-W48"
    ]

    # The next Monday is another week.
    launching(team, at(MONDAY + timedelta(days=8), 9, 0))
    assert send(at(MONDAY + timedelta(days=7), HOUR)) == 1
    assert len(mailoutbox) == 2


def test_only_announced_or_done_campaigns_of_this_week_and_only_their_teams(mailoutbox):
    told, other = TeamFactory(name="Ventes"), TeamFactory(name="Agences")
    reader = member(told)
    member(other)  # their team only has a draft this week
    bystander = member(TeamFactory())  # in no stakeholder team at all
    launching(told, at(MONDAY + timedelta(days=1), 9), title="Envoyée lundi")
    launching(told, at(MONDAY + timedelta(days=4), 9), status=Campaign.Status.DONE, title="Done")
    launching(
        told, at(MONDAY + timedelta(days=3), 9), status=Campaign.Status.CANCELLED, title="Annulée"
    )
    launching(told, at(MONDAY - timedelta(days=1), 23), title="Last week")
    launching(told, at(MONDAY + timedelta(days=7), 0, 0), title="Next week")
    launching(other, at(MONDAY + timedelta(days=2), 9), status=Campaign.Status.DRAFT)

    assert send(at(MONDAY, HOUR)) == 1
    [email] = mailoutbox
    assert email.to == [reader.email]
    assert "Envoyée lundi" in email.body
    assert "Done" in email.body
    for absent in ("Annulée", "Last week", "Next week"):
        assert absent not in email.body
    assert not DigestRun.objects.exclude(user=reader).exists()
    assert not DigestRun.objects.filter(user=bystander).exists()


def test_nothing_sent_when_nothing_launches(mailoutbox):
    team = TeamFactory()
    member(team)
    launching(team, at(MONDAY + timedelta(days=10), 9))  # the week after

    assert send(at(MONDAY, HOUR)) == 0
    assert mailoutbox == []
    assert not DigestRun.objects.exists()


def test_each_person_gets_it_at_the_digest_hour_of_their_own_time_zone(mailoutbox):
    team = TeamFactory()
    paris = member(team, time_zone="Europe/Paris")
    new_york = member(team, time_zone="America/New_York")
    launching(team, at(MONDAY + timedelta(days=4), 15, 0), title="Vendredi")
    # Monday 30 November 03:00 in Paris is still Sunday 29 November in New York.
    launching(team, at(MONDAY + timedelta(days=7), 3, 0), title="Sunday night in New York")

    # 08:05 in Paris is 02:05 in New York.
    assert send(at(MONDAY, HOUR)) == 1
    assert [m.to for m in mailoutbox] == [[paris.email]]
    assert "Sunday night in New York" not in mailoutbox[0].body

    assert send(at(MONDAY, HOUR, tz=NEW_YORK) - timedelta(hours=1)) == 0  # 07:05 New York
    assert send(at(MONDAY, HOUR, tz=NEW_YORK)) == 1
    assert [m.to for m in mailoutbox] == [[paris.email], [new_york.email]]
    body = mailoutbox[1].body
    assert "Sunday night in New York" in body
    # Dates in the reader's zone: 15:00 in Paris is 09:00 in New York, day before month.
    assert "27 Nov 2026, 09:00" in body
    assert "29 Nov 2026, 21:00" in body
    assert DigestRun.objects.get(user=new_york).period == "week:2026-W48"


def test_in_the_readers_language(mailoutbox):
    team = TeamFactory()
    member(team, language="fr")
    launching(team, at(MONDAY + timedelta(days=2), 10, 0))

    assert send(at(MONDAY, HOUR)) == 1
    email = mailoutbox[0]
    html = email.alternatives[0][0]
    assert '<html lang="fr">' in html
    assert "25 nov. 2026 à 10:00" in email.body
    assert "25 nov. 2026 à 10:00" in html


def test_opt_out_is_respected(mailoutbox, client):
    team = TeamFactory()
    quiet, reader = member(team), member(team)
    DeliverySettings.objects.create(user=quiet, weekly_preview=False)
    launching(team, at(MONDAY + timedelta(days=2), 10, 0))

    assert send(at(MONDAY, HOUR)) == 1
    assert [m.to for m in mailoutbox] == [[reader.email]]
    assert not DigestRun.objects.filter(user=quiet).exists()


def test_the_preferences_page_switches_it_off_and_on(client):
    person = member(TeamFactory())
    client.force_login(person)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="weekly_preview" checked' in page

    client.post("/notifications/preferences/", {"daily_digest_shown": "off"})
    assert DeliverySettings.objects.get(user=person).weekly_preview is False
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="weekly_preview" checked' not in page

    client.post("/notifications/preferences/", {"weekly_preview": "on"})
    assert DeliverySettings.objects.get(user=person).weekly_preview is True


def test_a_refused_recipient_does_not_stop_the_others_and_is_not_retried(smtp_server, caplog):
    team = TeamFactory()
    refused = member(team, email="gone@example.test")
    reader = member(team)
    smtp_server.handler.refused_rcpt = {refused.email: "550 5.1.1 no such user"}
    launching(team, at(MONDAY + timedelta(days=2), 10, 0))

    assert send(at(MONDAY, HOUR)) == 1
    assert [str(m["To"]) for m in smtp_server.messages] == [reader.email]
    assert "permanent" in caplog.text
    # Permanent: the claim stays, so the next hourly run does not try again.
    assert DigestRun.objects.filter(user=refused, period="week:2026-W48").exists()
    assert send(at(MONDAY, HOUR + 1)) == 0
    assert smtp_server.handler.data_commands == 1


def test_a_transient_failure_is_retried_the_next_hour(smtp_server):
    team = TeamFactory()
    reader = member(team)
    launching(team, at(MONDAY + timedelta(days=2), 10, 0))
    smtp_server.handler.data_script = ["451 4.3.0 try later"]

    assert send(at(MONDAY, HOUR)) == 0
    assert not DigestRun.objects.filter(user=reader).exists()
    assert send(at(MONDAY, HOUR + 1)) == 1
    assert len(smtp_server.messages) == 1
    assert send(at(MONDAY, HOUR + 2)) == 0


def test_an_unexpected_error_for_one_person_spares_the_others(monkeypatch, mailoutbox):
    team = TeamFactory()
    broken, reader = member(team), member(team)
    launching(team, at(MONDAY + timedelta(days=2), 10, 0))
    real = digest_services.send_week_ahead

    def flaky(recipient, sections):
        if recipient.pk == broken.pk:
            raise RuntimeError("template bug")
        real(recipient, sections)

    monkeypatch.setattr(digest_services, "send_week_ahead", flaky)
    assert send(at(MONDAY, HOUR)) == 1
    assert [m.to for m in mailoutbox] == [[reader.email]]
    # The claim stays: a bug is logged once, not retried every hour of the Monday.
    assert DigestRun.objects.filter(user=broken).exists()
    assert send(at(MONDAY, HOUR + 1)) == 0


def test_query_count_does_not_grow_with_the_number_of_campaigns(mailoutbox):
    teams = TeamFactory.create_batch(2)
    for team in teams:
        member(team)

    def queries_for_a_monday(monday: datetime, campaigns_per_team: int) -> int:
        for team in teams:
            for day in range(campaigns_per_team):
                launching(team, at(monday + timedelta(days=day % 7), 11, 0))
        with CaptureQueriesContext(connection) as queries:
            assert send(at(monday, HOUR)) == 2
        return len(queries)

    few = queries_for_a_monday(MONDAY, 1)
    many = queries_for_a_monday(MONDAY + timedelta(days=14), 8)
    assert many == few
    # Who is due (campaigns, their teams, members, opt-outs, already served, time zones),
    # the batch's own reads (it runs on another worker), then per person a claim:
    # savepoint, select, insert, release.
    assert few <= 6 + 5 + 2 * 4


def test_the_beat_task_hands_batches_to_workers_and_each_batch_sends_once(publish_spy):
    team = TeamFactory()
    reader = member(team)
    launching(team, at(MONDAY + timedelta(days=2), 10, 0))
    nine = at(MONDAY, HOUR)
    with time_machine.travel(nine, tick=False):
        assert tasks.send_week_ahead() == 1
        assert [(c.task_name, c.args) for c in publish_spy] == [
            ("feed.tasks.send_week_ahead_batch", ([reader.pk], nine.astimezone(UTC).isoformat()))
        ]
        assert tasks.send_week_ahead_batch([reader.pk], nine.astimezone(UTC).isoformat()) == 1
        # A batch delivered twice (a worker lost before its ack) sends nothing more...
        assert tasks.send_week_ahead_batch([reader.pk], nine.astimezone(UTC).isoformat()) == 0
        # ...and the next hourly tick has nobody left to hand out.
        assert tasks.send_week_ahead() == 0
    assert len(publish_spy) == 1


def test_the_beat_entry():
    entry = settings.CELERY_BEAT_SCHEDULE["campaigns-week-ahead"]
    assert entry["task"] == "feed.tasks.send_week_ahead"
    assert entry["schedule"] == crontab(minute=5)
    assert 0 < entry["options"]["expires"] < 3600
