"""Drills: Redis, the broker, stopped at the announce and in the middle of a delivery.

The drill's own redis-server runs without persistence, so stopping it loses every queued
message, as a crashed Redis without AOF (or a new container) does. A worker (2 pool
processes) and beat keep running and reconnect when it is back; the delivery settings
are the production defaults.

- At the announce: the announce commits (the publish fails fast and is only logged), the
  600-person audience waits as one unexpanded dispatch; once Redis is back, the sweep
  expands it and everything goes out.
- Mid-delivery: once 300 e-mails went out, Redis stops for 10 s. The queued deliveries
  are gone with it; the pending rows are re-queued by the sweep.

Either way: 0 lost, 0 duplicated, full delivery within 60 s of Redis's return.
"""

import time

import pytest

from notifications.models import Dispatch
from tests.drills.conftest import InAppTally, report, wait_for_delivery
from tests.factories import make_marketer
from tests.support.drills import Stack, Tally, teams_of_people
from tests.support.servers import announce, campaign_for, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

# Above NOTIFICATIONS_EXPAND_INLINE_MAX: the rows are written by a task, not the announce.
PEOPLE = 600
DOWN_SECONDS = 10


def _verdict(stack: Stack, campaign, people, *, drill, fault, back_at, started) -> dict:
    expected_emails, expected_posts = wait_for_delivery(
        stack, campaign_ids=[campaign.pk], emails=PEOPLE, posts=2, timeout=120
    )
    stack.stop()
    emails = Tally.of(expected_emails, stack.smtp.arrivals)
    posts = Tally.of(expected_posts, stack.webhooks.delivered())
    row = report(
        stack,
        drill=drill,
        fault=fault,
        emails=emails,
        in_app=InAppTally.of([campaign.pk], people),
        webhooks=posts,
        fault_over_at=back_at,
        started_at=started,
    )
    assert emails.expected == PEOPLE
    assert posts.expected == 2
    assert (emails.lost, emails.duplicated, emails.unexpected) == (0, 0, 0), row
    assert (posts.lost, posts.duplicated, posts.unexpected) == (0, 0, 0), row
    assert row["in_app"] == {"expected": PEOPLE, "delivered": PEOPLE, "duplicated": 0}
    assert row["seconds_to_full_delivery_after_fault"] < 60, row
    return row


def test_redis_stopped_at_the_announce(stack: Stack):
    stack.beat("beat")
    stack.worker("worker")
    teams, people = teams_of_people(PEOPLE, teams=2, webhook_url=stack.webhooks.url("/hooks/team"))
    campaign = campaign_for(owner=make_marketer(), teams=teams)

    stack.redis.stop()
    started = time.monotonic()
    announce(campaign)
    announce_seconds = time.monotonic() - started
    dispatch = Dispatch.objects.get(campaign=campaign)
    assert dispatch.expanded_at is None  # a large audience: expanded by a task, later
    time.sleep(DOWN_SECONDS)
    stack.redis.start()
    back_at = time.monotonic()

    row = _verdict(
        stack,
        campaign,
        people,
        drill="Redis stopped at the announce",
        fault=(
            f"600 people in 2 teams with chat webhooks; Redis stopped before the "
            f"announce, back {DOWN_SECONDS} s later (queues lost)"
        ),
        back_at=back_at,
        started=started,
    )
    assert announce_seconds < 2, row  # the request did not wait for the broker


def test_redis_stopped_mid_delivery(stack: Stack):
    stack.beat("beat")
    stack.worker("worker")
    teams, people = teams_of_people(PEOPLE, teams=2, webhook_url=stack.webhooks.url("/hooks/team"))
    campaign = campaign_for(owner=make_marketer(), teams=teams)

    started = time.monotonic()
    announce(campaign)
    assert wait_until(lambda: stack.smtp.arrivals.distinct() >= 300, timeout=60), stack.logs()
    stack.redis.stop()
    stopped_with = stack.smtp.arrivals.distinct()
    time.sleep(DOWN_SECONDS)
    stack.redis.start()
    back_at = time.monotonic()

    row = _verdict(
        stack,
        campaign,
        people,
        drill="Redis stopped mid-delivery",
        fault=(
            f"600 people in 2 teams with chat webhooks; Redis stopped after 300 e-mails, "
            f"back {DOWN_SECONDS} s later (queues lost)"
        ),
        back_at=back_at,
        started=started,
    )
    assert stopped_with < PEOPLE, row  # the outage did cut the delivery
