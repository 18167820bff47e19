"""Drill: worker processes SIGKILLed in the middle of a 2,000-person fan-out.

Two `celery -A hub worker` processes (prefork, 2 pool processes each) deliver an
announcement to 2,000 people; beat runs the sweep. Once 400 e-mails reached the SMTP sink,
one pool process of the first worker is SIGKILLed (what the OOM killer does); once 1,000
did, the whole second worker is, its master and its pool at once (a node lost). Nothing
is stopped cleanly and the delivery settings are the production defaults: the lease of
the rows the dead processes held expires, the sweep gives them back, and the rows the
dead worker had reserved but not started are re-queued as stale.

Each killed pool process may have been between the SMTP server's "250" for a message and
the database write that records it: that one message is sent again. So at most one
duplicate per killed pool process, and nothing lost; full delivery within 60 s of the
last kill.
"""

import time

import pytest

from tests.drills.conftest import InAppTally, report, wait_for_delivery
from tests.factories import make_marketer
from tests.support.drills import Stack, Tally, child_pids, sigkill, teams_of_people
from tests.support.servers import announce, campaign_for, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

PEOPLE = 2000


def test_workers_sigkilled_mid_fan_out_lose_nothing_and_resend_at_most_one_each(stack: Stack):
    stack.beat("beat")
    first = stack.worker("worker-a")
    second = stack.worker("worker-b")
    teams, people = teams_of_people(PEOPLE, teams=4)
    campaign = campaign_for(owner=make_marketer(), teams=teams)
    arrivals = stack.smtp.arrivals

    started = time.monotonic()
    announce(campaign)
    assert wait_until(lambda: arrivals.distinct() >= 400, timeout=60), stack.logs()
    oom_killed = child_pids(first.pid)[:1]
    assert sigkill(oom_killed) == 1
    assert wait_until(lambda: arrivals.distinct() >= 1000, timeout=60), stack.logs()
    pool = child_pids(second.pid)
    assert len(pool) == 2
    assert sigkill([second.pid, *pool]) == 3
    last_kill = time.monotonic()
    delivered_before_last_kill = arrivals.distinct()

    expected, _posts = wait_for_delivery(
        stack, campaign_ids=[campaign.pk], emails=PEOPLE, timeout=120
    )
    stack.stop()

    emails = Tally.of(expected, arrivals)
    killed_pool_processes = len(oom_killed) + len(pool)
    row = report(
        stack,
        drill="Worker processes SIGKILLed mid fan-out",
        fault=(
            "2,000 people; 2 workers × 2 pool processes; at 400 e-mails one pool process "
            "SIGKILLed, at 1,000 a whole worker (master and pool)"
        ),
        emails=emails,
        in_app=InAppTally.of([campaign.pk], people),
        fault_over_at=last_kill,
        started_at=started,
        allowed_duplicates=killed_pool_processes,
        extra={"delivered_before_last_kill": delivered_before_last_kill},
    )
    assert emails.expected == PEOPLE
    assert emails.lost == 0, row
    assert emails.unexpected == 0, row
    assert emails.duplicated <= killed_pool_processes, row
    assert row["in_app"] == {"expected": PEOPLE, "delivered": PEOPLE, "duplicated": 0}
    assert row["seconds_to_full_delivery_after_fault"] < 60, row
