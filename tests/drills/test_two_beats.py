"""Drill: two `celery beat` processes at once (a deploy that started a second one, two
hosts both running beat) during a 600-person announcement and the daily digests.

Every scheduled task is then sent twice: the sweep runs twice as often, and at the hour
both beats hand out the daily digests. Two workers (2 pool processes each) deliver. The
sweep runs every 5 s and re-queues rows waiting over 10 s, so rows queued behind the
fan-out are handed out again by both beats while a batch holds them: only the claim (a
conditional update) keeps a row from going out twice.

80 digest readers were told of an earlier campaign (40 chose the digest, so their e-mails
are held for it; 40 switched announcement e-mails off, so it sums up their in-app notice);
the digest hour is 0, so it is due now. Beat only sends the hourly entries at the hour:
each beat's schedule file is seeded as a beat last run two hours ago leaves it, so both
send the missed digest (and week-ahead, reminders) entries as they start, as they would
at the top of the hour. Once both did, the 600-person campaign is announced.

Expected: every immediate e-mail, in-app notice and post once, one digest per reader
(DigestRun), and no held e-mail sent on its own.
"""

import shelve
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import celery
import pytest
from celery.beat import ScheduleEntry
from django.conf import settings

from accounts.models import User
from notifications.models import (
    Channel,
    DeliverySettings,
    DigestRun,
    Kind,
    Notification,
    Preference,
)
from tests.drills.conftest import InAppTally, outbox, report, unfinished
from tests.factories import make_marketer
from tests.support.drills import Stack, Tally, teams_of_people
from tests.support.servers import announce, campaign_for, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

Status = Notification.Status
PEOPLE = 600  # above NOTIFICATIONS_EXPAND_INLINE_MAX: expanded by a task
READERS = 40  # of each kind
BEATS = ("beat-a", "beat-b")
# Entries due at the hour (or every 5 min): backdated so each beat sends them at start.
OVERDUE = (
    "notifications-daily-digest",
    "campaigns-week-ahead",
    "campaigns-reminders-and-escalations",
)


def seed_schedule(path: Path, app: Any, *, ago: timedelta) -> None:
    """Write `path` as beat's PersistentScheduler would have left it `ago` ago: the
    OVERDUE entries last ran then (beat merges its configured schedule into the stored
    entries and keeps their last run), so they are due the moment beat starts."""
    last_run = app.now() - ago
    # Beat's own file format (a shelve, so pickle), written before beat reads it.
    with shelve.open(str(path)) as store:  # noqa: S301
        store["entries"] = {
            name: ScheduleEntry(
                name=name, app=app, last_run_at=last_run, **settings.CELERY_BEAT_SCHEDULE[name]
            )
            for name in OVERDUE
        }
        store["__version__"] = celery.__version__
        store["tz"] = app.conf.timezone
        store["utc_enabled"] = app.conf.enable_utc


def digests_by_person(stack: Stack) -> Counter[str]:
    return Counter(
        recipient
        for recipients, subject, _at in stack.smtp.summaries
        if subject.startswith("Passerelle digest")
        for recipient in recipients
    )


def test_two_beats_at_once_send_nothing_twice(stack: Stack, celery_app):
    stack.environment |= {
        "NOTIFICATIONS_SWEEP_SECONDS": "5",
        "NOTIFICATIONS_STALE_AFTER_SECONDS": "10",
        "NOTIFICATIONS_DIGEST_HOUR": "0",
    }
    stack.worker("worker-a")
    stack.worker("worker-b")
    owner = make_marketer()
    # The digest readers, told of a first campaign earlier: their notices wait for the
    # digest (held e-mails, or in-app only).
    reading_team, reader_ids = teams_of_people(2 * READERS, teams=1)
    chose_digest, email_off = reader_ids[:READERS], reader_ids[READERS:]
    DeliverySettings.objects.bulk_create(
        DeliverySettings(user_id=pk, daily_digest=True) for pk in chose_digest
    )
    Preference.objects.bulk_create(
        Preference(user_id=pk, kind=Kind.ANNOUNCED, channel=Channel.EMAIL, enabled=False)
        for pk in email_off
    )
    readers = set(User.objects.filter(pk__in=reader_ids).values_list("email", flat=True))
    earlier = announce(campaign_for(owner=owner, teams=reading_team))
    held_rows = Notification.objects.filter(
        campaign=earlier, channel=Channel.EMAIL, status=Status.HELD
    )
    # Above NOTIFICATIONS_EXPAND_INLINE_MAX people a worker writes the rows after commit.
    assert wait_until(lambda: held_rows.count() == READERS, timeout=60), stack.logs()
    held = set(held_rows.values_list("pk", flat=True))
    assert not Notification.objects.filter(campaign=earlier, status=Status.PENDING).exists()

    # Both beats up (each sends the overdue hourly entries first), then the fan-out.
    for name in BEATS:
        seed_schedule(stack.folder / f"{name}-schedule", celery_app, ago=timedelta(hours=2))
    beats = [stack.beat(name) for name in BEATS]
    assert wait_until(
        lambda: all(stack.ticks(beat, "notifications-daily-digest") for beat in beats),
        timeout=120,
    ), stack.logs()
    teams, people = teams_of_people(PEOPLE, teams=3)
    for index, team in enumerate(teams):
        team.webhook_url = stack.webhooks.url(f"/hooks/team-{index}")
        team.save(update_fields=["webhook_url"])
    campaign = campaign_for(owner=owner, teams=teams)
    campaign_ids = [earlier.pk, campaign.pk]
    started = time.monotonic()
    announce(campaign)
    rows = Notification.objects.filter(campaign=campaign)
    # An in-app notice and an e-mail each, 3 posts: expanded by a task.
    assert wait_until(lambda: rows.count() == 2 * PEOPLE + len(teams), timeout=60), stack.logs()
    immediate = set(outbox([campaign.pk], Channel.EMAIL))
    sweeps_before = [stack.ticks(beat) for beat in beats]

    def done() -> bool:
        return (
            unfinished(campaign_ids) == 0
            and immediate <= set(stack.smtp.arrivals.counts())
            and len(stack.webhooks.delivered().counts()) >= len(teams)
            and set(digests_by_person(stack)) >= readers
            and not Notification.objects.filter(pk__in=held, status=Status.HELD).exists()
        )

    assert wait_until(done, timeout=180, interval=0.2), stack.logs()
    done_at = time.monotonic()
    # Another round of sweeps from both beats, for a duplicate still in flight; and at
    # least two sweeps sent by each, which the checks below need (delivery can finish
    # before a beat that started a little later has ticked twice: CI saw it once).
    time.sleep(6)
    wait_until(
        lambda: all(stack.ticks(beat, "notifications-sweep") >= 2 for beat in beats), timeout=30
    )
    stack.stop()

    mails = Tally.of(immediate, stack.smtp.arrivals)
    posts = Tally.of(outbox([campaign.pk], Channel.WEBHOOK), stack.webhooks.delivered())
    digests = digests_by_person(stack)
    digest_times = [
        at for _r, subject, at in stack.smtp.summaries if subject.startswith("Passerelle digest")
    ]
    # E-mails in the table: the immediate ones by notification id, the digests by person.
    digest_delivered = len(set(digests) & readers)
    emails = replace(
        mails,
        expected=mails.expected + len(readers),
        delivered=mails.delivered + digest_delivered,
        lost=mails.lost + len(readers) - digest_delivered,
        duplicated=mails.duplicated + sum(n - 1 for n in digests.values()),
        unexpected=mails.unexpected + len(set(digests) - readers),
        full_delivery_at=max([*digest_times, mails.full_delivery_at or float("inf")]),
    )
    runs = list(
        DigestRun.objects.filter(period__startswith="daily:").values_list("user__email", flat=True)
    )
    ticks = {
        name: {entry: stack.ticks(beat, entry) for entry in ("notifications-sweep", *OVERDUE)}
        for name, beat in zip(BEATS, beats, strict=True)
    }
    sweeps_during = [
        stack.ticks(beat) - before for beat, before in zip(beats, sweeps_before, strict=True)
    ]
    row = report(
        stack,
        drill="Two beats at once",
        fault=(
            f"{PEOPLE} people in 3 teams with chat webhooks, and {2 * READERS} digest "
            "readers; two `celery beat` processes, both sending the daily digest, then the "
            "announce; 2 workers × 2 pool processes"
        ),
        emails=emails,
        in_app=InAppTally.of(campaign_ids, [*people, *reader_ids]),
        webhooks=posts,
        fault_over_at=started,
        started_at=started,
        notes=(
            "The fault lasts the whole drill: times are from the announce, made once both "
            f"beats were up. E-mails count {len(immediate)} immediate ones (by notification "
            f"id) and {len(readers)} digests (by person); digest hour 0, so due at once; "
            f"each beat sent {min(sweeps_during)}+ sweeps during the delivery."
        ),
        extra={
            "seconds_from_announce": {
                "all_delivered_seen": round(done_at - started, 1),
                "last_immediate_email": round((mails.full_delivery_at or started) - started, 1),
            },
            "beat_ticks": ticks,
            "sweeps_by_each_beat_during_delivery": sweeps_during,
            "digests": {
                "expected": len(readers),
                "delivered": digest_delivered,
                "duplicated": sum(n - 1 for n in digests.values()),
                "digest_runs": len(runs),
            },
        },
    )
    # Both beats really ran everything: each sent the sweep and the hourly entries.
    for name in BEATS:
        assert ticks[name]["notifications-sweep"] >= 2, row
        assert ticks[name]["notifications-daily-digest"] >= 1, row
    assert all(count >= 1 for count in sweeps_during), row  # both beats swept during it
    assert mails.expected == PEOPLE
    assert (mails.lost, mails.duplicated, mails.unexpected) == (0, 0, 0), row
    assert posts.expected == len(teams)
    assert (posts.lost, posts.duplicated, posts.unexpected) == (0, 0, 0), row
    everybody = PEOPLE + 2 * READERS
    assert row["in_app"] == {"expected": everybody, "delivered": everybody, "duplicated": 0}
    # One digest per reader, none for anybody else, one DigestRun each.
    assert digests == Counter(dict.fromkeys(readers, 1)), row
    assert Counter(runs) == Counter(dict.fromkeys(readers, 1)), row
    held_now = Notification.objects.filter(pk__in=held).values_list("status", flat=True)
    assert set(held_now) == {Status.SENT}
