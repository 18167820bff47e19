"""Drill: team chat webhooks that fail in the three ways chat servers do, at once.

Two workers (2 pool processes each) and beat deliver an announcement to five teams of 40
people, each team with its own webhook on the sink:

- `/hooks/flaky` answers 500 three times, then 200: retried with backoff, posted once.
- `/hooks/hang` never answers (each post hangs past NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS,
  3 s here) until the drill releases it: the post times out, is retried, and meanwhile
  every e-mail and every other post goes out (each webhook is a task of its own, so a
  hanging chat server holds one pool process, not the delivery). Only once all of that
  arrived is the endpoint released; its post then goes out once.
- `/hooks/gone` answers 410: the team's webhook is marked broken, its lead and the
  managers are told once (in-app and e-mail), and a second announcement to that team
  posts nothing there.
- `/hooks/ok-1`, `/hooks/ok-2` answer 200.

A post the chat server did not answer 2xx to is not counted as delivered (the sink did not
process it). Expected: every e-mail, in-app notice and accepted post exactly once.
"""

import time

import pytest

from notifications.models import Channel, FailureReason, Kind, Notification
from teams.models import Membership, Team
from tests.drills.conftest import InAppTally, outbox, report, wait_for_delivery
from tests.factories import MembershipFactory, make_manager, make_marketer
from tests.support.drills import Stack, Tally, teams_of_people
from tests.support.servers import announce, campaign_for, wait_until

pytestmark = [
    pytest.mark.drill,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

Status = Notification.Status
PER_TEAM = 40
FLAKY_FAILURES = 3
TIMEOUT_SECONDS = 3
PATHS = ("/hooks/ok-1", "/hooks/ok-2", "/hooks/flaky", "/hooks/hang", "/hooks/gone")


def _answers(stack: Stack, path: str) -> list[str]:
    return [post.answer for post in stack.webhooks.posts_to(path)]


def test_webhooks_answering_500_hanging_and_410_deliver_once_and_delay_nothing(stack: Stack):
    stack.environment |= {
        "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "1",
        "NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS": "5",
    }
    sink = stack.webhooks
    sink.hang_seconds = 4 * TIMEOUT_SECONDS
    sink.scripts["/hooks/flaky"] = ["500"] * FLAKY_FAILURES
    sink.scripts["/hooks/hang"] = ["hang"] * 1000  # until released below
    sink.scripts["/hooks/gone"] = ["410"] * 1000  # for good
    stack.beat("beat")
    stack.worker("worker-a")
    stack.worker("worker-b")

    teams, people = teams_of_people(PER_TEAM * len(PATHS), teams=len(PATHS))
    for team, path in zip(teams, PATHS, strict=True):
        Team.objects.filter(pk=team.pk).update(webhook_url=sink.url(path))
    by_path = dict(zip(PATHS, teams, strict=True))
    gone = by_path["/hooks/gone"]
    lead = MembershipFactory(team=gone, role=Membership.Role.LEAD).user
    manager = make_manager()
    people.append(lead.pk)
    owner = make_marketer()
    first = campaign_for(owner=owner, teams=teams)

    started = time.monotonic()
    announce(first)
    assert wait_until(
        lambda: Team.objects.filter(pk=gone.pk, webhook_broken_at__isnull=False).exists(),
        timeout=60,
    ), stack.logs()
    # Announced after the webhook was marked broken: nothing for /hooks/gone.
    second = campaign_for(owner=owner, teams=[gone, by_path["/hooks/ok-1"]])
    announce(second)
    campaign_ids = [first.pk, second.pk]

    def everything_but_the_hang_arrived() -> bool:
        emails = set(outbox(campaign_ids, Channel.EMAIL))
        posts = set(outbox(campaign_ids, Channel.WEBHOOK, delivered=True)) - _ids_to(
            stack, "/hooks/hang"
        )
        told = Notification.objects.filter(kind=Kind.WEBHOOK_BROKEN).exists()
        return (
            told
            and emails <= set(stack.smtp.arrivals.counts())
            and posts <= set(sink.delivered().counts())
            and _answers(stack, "/hooks/hang").count("hang") >= 2
        )

    assert wait_until(everything_but_the_hang_arrived, timeout=120, interval=0.2), stack.logs()
    others_done = time.monotonic()
    hung_before_release = _answers(stack, "/hooks/hang")
    with sink.lock:
        sink.scripts["/hooks/hang"] = []
    released = time.monotonic()

    emails_total = len(outbox(campaign_ids, Channel.EMAIL))
    posts_total = len(outbox(campaign_ids, Channel.WEBHOOK, delivered=True))
    expected_emails, expected_posts = wait_for_delivery(
        stack, campaign_ids=campaign_ids, emails=emails_total, posts=posts_total, timeout=60
    )
    stack.stop()

    emails = Tally.of(expected_emails, stack.smtp.arrivals)
    posts = Tally.of(expected_posts, sink.delivered())
    told = Notification.objects.filter(kind=Kind.WEBHOOK_BROKEN)
    answers = {path: _answers(stack, path) for path in PATHS}
    row = report(
        stack,
        drill="Webhooks answering 500, hanging, 410",
        fault=(
            f"{len(people)} people in 5 teams with chat webhooks; 2 workers × 2 pool "
            f"processes; one webhook answers 500 ×{FLAKY_FAILURES} then 200, one hangs "
            f"until everything else arrived, one answers 410; a second announcement "
            f"after the 410"
        ),
        emails=emails,
        in_app=InAppTally.of(campaign_ids, people),
        webhooks=posts,
        fault_over_at=released,
        started_at=started,
        notes=(
            "Times after the fault are from the hanging endpoint's release; every e-mail "
            f"and every other post had arrived {others_done - started:.1f} s after the "
            f"announce, while that endpoint had hung {hung_before_release.count('hang')} "
            "post(s)."
        ),
        extra={
            "answers_by_path": answers,
            "seconds_to_everything_but_the_hang": round(others_done - started, 1),
            "webhook_broken_told": told.count(),
        },
    )
    assert emails.expected == emails_total
    assert (emails.lost, emails.duplicated, emails.unexpected) == (0, 0, 0), row
    assert posts.expected == 5  # ok-1 twice, ok-2, flaky, hang; not gone
    assert (posts.lost, posts.duplicated, posts.unexpected) == (0, 0, 0), row
    assert row["in_app"] == {"expected": len(people), "delivered": len(people), "duplicated": 0}

    # 500s: retried until the 200, one row posted.
    assert answers["/hooks/flaky"] == ["500"] * FLAKY_FAILURES + ["200"], row
    assert len({p.notification_id for p in sink.posts_to("/hooks/flaky")}) == 1
    # The hang: timed out and retried (the client gave up each time), then posted once.
    hang = answers["/hooks/hang"]
    assert hang.count("hang") >= 2, row
    assert hang[-1] == "200", row
    assert hang.count("200") == 1, row
    assert len({p.notification_id for p in sink.posts_to("/hooks/hang")}) == 1
    # 410: one post, the team marked broken, its lead and the managers told once.
    assert answers["/hooks/gone"] == ["410"], row
    gone.refresh_from_db()
    assert gone.webhook_broken_at is not None
    assert "HTTP 410" in gone.webhook_broken_reason
    gone_rows = Notification.objects.filter(channel=Channel.WEBHOOK, team=gone)
    assert list(gone_rows.values_list("campaign_id", "status", "failure_reason")) == [
        (first.pk, Status.FAILED, FailureReason.WEBHOOK_GONE)
    ]
    told_in_app = told.filter(channel=Channel.IN_APP)
    assert sorted(told_in_app.values_list("recipient_id", flat=True)) == sorted(
        [lead.pk, manager.pk]
    )
    assert told.values("dispatch_id").distinct().count() == 1
    assert not told.exclude(status=Status.SENT).exists()  # its e-mails are in the tally


def _ids_to(stack: Stack, path: str) -> set[int]:
    return {post.notification_id for post in stack.webhooks.posts_to(path)}
