"""Drill: the workers' PostgreSQL connections terminated while batches are being sent.

What a failover, a PgBouncer restart or an idle-connection killer does: the server ends
the connection under the worker. Two workers (2 pool processes each) deliver an
announcement to 2,000 people; every 250 e-mails that reach the SMTP sink, the test runs
`pg_terminate_backend` on every connection the workers hold (found by their
application_name), seven times in all, while 100-row batches are half sent.

Each outcome is written right after its message went out, and retried on a new connection
when the old one is gone, so no batch is left "sending" to be resent: 0 lost, 0
duplicated.
"""

import time

import pytest

from tests.drills.conftest import InAppTally, report, wait_for_delivery
from tests.factories import make_marketer
from tests.support.drills import Stack, Tally, teams_of_people, terminate_worker_connections
from tests.support.servers import announce, campaign_for, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

PEOPLE = 2000
EVERY = 250


def test_connections_terminated_mid_batch_lose_and_duplicate_nothing(stack: Stack):
    stack.beat("beat")
    stack.worker("worker-a")
    stack.worker("worker-b")
    teams, people = teams_of_people(PEOPLE, teams=4)
    campaign = campaign_for(owner=make_marketer(), teams=teams)
    arrivals = stack.smtp.arrivals

    started = time.monotonic()
    announce(campaign)
    terminated: list[int] = []
    for threshold in range(EVERY, PEOPLE, EVERY):
        assert wait_until(lambda t=threshold: arrivals.distinct() >= t, timeout=60), stack.logs()
        terminated.append(terminate_worker_connections())
    last_cut = time.monotonic()

    expected, _posts = wait_for_delivery(
        stack, campaign_ids=[campaign.pk], emails=PEOPLE, timeout=120
    )
    stack.stop()

    emails = Tally.of(expected, arrivals)
    row = report(
        stack,
        drill="PostgreSQL connections terminated mid-batch",
        fault=(
            "2,000 people; 2 workers × 2 pool processes; pg_terminate_backend on every "
            f"worker connection each {EVERY} e-mails (7 times, {sum(terminated)} connections)"
        ),
        emails=emails,
        in_app=InAppTally.of([campaign.pk], people),
        fault_over_at=last_cut,
        started_at=started,
        extra={"connections_terminated": terminated},
    )
    # Every cut found connections to end: the drill did cut batches under way.
    assert all(count >= 1 for count in terminated), terminated
    assert emails.expected == PEOPLE
    assert (emails.lost, emails.duplicated, emails.unexpected) == (0, 0, 0), row
    assert row["in_app"] == {"expected": PEOPLE, "delivered": PEOPLE, "duplicated": 0}
    assert row["seconds_to_full_delivery_after_fault"] < 60, row
