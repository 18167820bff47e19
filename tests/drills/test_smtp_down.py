"""Drill: the SMTP relay down for longer than the old build's whole retry budget.

The old build gave each message 5 attempts with a doubling backoff: with a 2 s base every
one of 2,000 e-mails was "failed" for good 33 s after the announce, and never sent once
the relay came back. Now transient failures are retried for
NOTIFICATIONS_RETRY_WINDOW_HOURS (24 h), however many attempts that takes.

Two workers deliver an announcement to 2,000 people while the SMTP sink refuses
connections until every e-mail has been tried six times (at least 40 s). The retry base
is 1 s and the delay is capped at 5 s so the drill lasts a minute or two (in
production: 30 s doubling to 15 min, so after an outage of hours the next attempt comes
at most 15 min after the relay is back).
Expected: no row ever fails, every e-mail is delivered once after the relay's return.
"""

import time

import pytest

from notifications.models import Channel, Notification
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

PEOPLE = 2000
DOWN_SECONDS = 40
MAX_DOWN_SECONDS = 180
Status = Notification.Status


def test_smtp_down_longer_than_the_old_retry_window_still_delivers_everything(stack: Stack):
    stack.environment |= {
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "1",
        "NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS": "5",
    }
    stack.beat("beat")
    stack.worker("worker-a")
    stack.worker("worker-b")
    teams, people = teams_of_people(PEOPLE, teams=4)
    campaign = campaign_for(owner=make_marketer(), teams=teams)
    emails = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)

    stack.smtp.down()
    started = time.monotonic()
    announce(campaign)
    # Down until every row has been tried more often than the old build's 5 attempts
    # (at least DOWN_SECONDS; longer on a busy machine, where retry passes are slower).
    assert wait_until(
        lambda: emails.count() == PEOPLE and not emails.filter(attempts__lte=5).exists(),
        timeout=MAX_DOWN_SECONDS,
    ), stack.logs()
    time.sleep(max(0.0, started + DOWN_SECONDS - time.monotonic()))
    down_for = time.monotonic() - started
    failed_while_down = emails.filter(status=Status.FAILED).count()
    attempts_while_down = min(emails.values_list("attempts", flat=True))
    stack.smtp.up()
    back_at = time.monotonic()
    expected, _posts = wait_for_delivery(
        stack, campaign_ids=[campaign.pk], emails=PEOPLE, timeout=170
    )
    stack.stop()

    tally = Tally.of(expected, stack.smtp.arrivals)
    row = report(
        stack,
        drill="SMTP down longer than the old retry window",
        fault=(
            f"2,000 people; 2 workers × 2 pool processes; SMTP refusing connections from "
            f"before the announce until every e-mail had been tried 6 times ({down_for:.0f} s)"
        ),
        emails=tally,
        in_app=InAppTally.of([campaign.pk], people),
        fault_over_at=back_at,
        started_at=started,
        extra={
            "attempts_while_down_min": attempts_while_down,
            "failed_while_down": failed_while_down,
        },
    )
    assert failed_while_down == 0, row
    assert attempts_while_down > 5, row  # past the old build's 5 attempts, every row
    assert tally.expected == PEOPLE
    assert (tally.lost, tally.duplicated, tally.unexpected) == (0, 0, 0), row
    assert set(emails.values_list("status", flat=True)) == {Status.SENT}
    assert row["in_app"] == {"expected": PEOPLE, "delivered": PEOPLE, "duplicated": 0}
    # Recovery: the capped backoff (5 s here) brings the next attempt soon after the
    # relay's return; then the backlog drains at the machine's pace.
    assert row["seconds_to_first_delivery_after_fault"] < 60, row
    assert row["seconds_to_full_delivery_after_fault"] < 180, row
