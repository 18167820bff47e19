"""Writing to the outbox: the event and its audience, committed with the change that
caused it, then expanded into one row per person and channel (and per team webhook).

The guarantee: once the caller's transaction commits, the event will reach its audience.
`notifications_enqueue` writes one `Dispatch` row (what to say, to whom) inside that
transaction. A small audience is expanded into `Notification` rows right there; a large
one (thousands of people) is expanded by a task after commit, so announcing to 10,000
people costs the request one row. Expansion is idempotent (unique dedupe keys, and the
dispatch is marked expanded by a conditional update), so the task, a retry of it and the
sweep (for a dispatch whose task was lost) can all run it.
"""

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from notifications.models import (
    IMMEDIATE,
    MANDATORY,
    Channel,
    Dispatch,
    Notification,
    Preference,
)
from notifications.payload import CampaignPayload
from notifications.publish import publish_task
from teams.models import Membership, Team

logger = logging.getLogger(__name__)
Status = Notification.Status

PERSON_CHANNELS = (Channel.IN_APP, Channel.EMAIL)
_BULK_BATCH = 1000


def dedupe_key(
    campaign_id: int, version: int, kind: str, addressee: str, channel: str, occurrence: str
) -> str:
    """The outbox row's unique key: one row per event, addressee and channel.
    `notifications.selectors.first_notified_at` builds the same keys to ask "was this
    already sent?" through the key's unique index."""
    key = f"{campaign_id}:{version}:{kind}:{addressee}:{channel}"
    return f"{key}:{occurrence}" if occurrence else key


def _open_channels(kind: str, opted_out: Collection[str]) -> list[str]:
    """The person channels `kind` goes out on for someone who switched off `opted_out`;
    mandatory channels stay on whatever the preference says."""
    return [
        channel
        for channel in PERSON_CHANNELS
        if channel not in opted_out or (kind, channel) in MANDATORY
    ]


def person_channels_open(*, user_id: int, kind: str) -> list[str]:
    """The channels a person still receives `kind` on, in `PERSON_CHANNELS` order."""
    opted_out = Preference.objects.filter(user_id=user_id, kind=kind, enabled=False)
    return _open_channels(kind, set(opted_out.values_list("channel", flat=True)))


def active_memberships(team_ids: Collection[int]) -> "QuerySet[Membership]":
    """The memberships whose people a team-wide event reaches: active people only."""
    return Membership.objects.filter(team_id__in=team_ids, user__is_active=True)


def _audience(dispatch: Dispatch) -> list[int]:
    """The people a dispatch is for: those named, and the active members of its teams."""
    members = active_memberships(dispatch.member_team_ids).values_list("user_id", flat=True)
    return sorted(set(dispatch.user_ids) | set(members))


def notifications_enqueue(
    *,
    campaign_id: int,
    campaign_version: int,
    kind: str,
    payload: CampaignPayload,
    user_ids: Sequence[int] = (),
    member_team_ids: Sequence[int] = (),
    webhook_team_ids: Sequence[int] = (),
    occurrence: str = "",
) -> int:
    """Commit that this event must reach `user_ids`, the active members of
    `member_team_ids` and the chat webhooks of `webhook_team_ids`.

    Must run inside the transaction of the change that causes it. Writes one Dispatch
    row; when the audience is at most NOTIFICATIONS_EXPAND_INLINE_MAX people, also its
    outbox rows (returning how many were new, 0 when the event was already notified:
    a nudge uses it to say "already nudged"); a larger audience is expanded after commit
    by a task (returns 0). Delivery is always queued on commit."""
    dispatch = Dispatch.objects.create(
        campaign_id=campaign_id,
        campaign_version=campaign_version,
        kind=kind,
        payload=payload,
        user_ids=sorted(set(user_ids)),
        member_team_ids=sorted(set(member_team_ids)),
        webhook_team_ids=sorted(set(webhook_team_ids)),
        occurrence=occurrence,
    )
    members = active_memberships(member_team_ids)
    size = len(dispatch.user_ids) + (members.count() if member_team_ids else 0)
    if size <= settings.NOTIFICATIONS_EXPAND_INLINE_MAX:
        return dispatch_expand(dispatch_id=dispatch.pk, dispatch=dispatch)
    transaction.on_commit(partial(publish_task, "notifications.tasks.expand_dispatch", dispatch.pk))
    return 0


def dispatch_expand(*, dispatch_id: int, dispatch: Dispatch | None = None) -> int:
    """Write the outbox rows of one dispatch: per person, per channel they keep open for
    this kind (in-app rows are delivered by being written; e-mails of digest readers are
    held), and per team webhook. Returns how many rows were new.

    In the caller's transaction when there is one (the inline case), else its own.
    Idempotent: an expanded dispatch is left alone, rows already written are skipped
    (unique dedupe keys), and the dispatch is marked by a conditional update. Delivery
    of the new pending rows is queued on commit."""
    with transaction.atomic():
        if dispatch is None:
            dispatch = (
                Dispatch.objects.select_for_update(skip_locked=True)
                .filter(pk=dispatch_id, expanded_at__isnull=True)
                .first()
            )
            if dispatch is None:
                return 0  # expanded already, or being expanded by someone else
        rows = _rows(dispatch, now=timezone.now())
        rows = _without_existing(rows)
        for row in rows:
            row.dispatch = dispatch
        Notification.objects.bulk_create(rows, batch_size=_BULK_BATCH, ignore_conflicts=True)
        Dispatch.objects.filter(pk=dispatch.pk, expanded_at__isnull=True).update(
            expanded_at=timezone.now()
        )
        if any(row.status == Status.PENDING for row in rows):
            transaction.on_commit(partial(publish_task, "notifications.tasks.fan_out", dispatch.pk))
    return len(rows)


@dataclass(frozen=True)
class PersonRow:
    """One message the outbox will write for a person: on which channel, in which state."""

    user_id: int
    channel: str
    status: str


def person_rows_plan(*, kind: str, user_ids: Sequence[int]) -> list[PersonRow]:
    """Per person, the channels `kind` goes out on and the state each row starts in:
    in-app rows are delivered by being written, e-mails of digest readers are held for
    their digest (escalations never are). The one rule the expansion writes by and the
    announce preview counts by (notifications.selectors.announce_audience). Two queries."""
    from notifications.services.digests import digest_user_ids

    opted_out: dict[int, set[str]] = defaultdict(set)
    for user_id, channel in Preference.objects.filter(
        user_id__in=user_ids, kind=kind, enabled=False
    ).values_list("user_id", "channel"):
        opted_out[user_id].add(channel)
    digest_users = digest_user_ids(user_ids=user_ids)
    plan: list[PersonRow] = []
    for user_id in user_ids:
        for channel in _open_channels(kind, opted_out[user_id]):
            status = Status.PENDING
            if channel == Channel.IN_APP:
                status = Status.SENT  # the row is the in-app message
            elif user_id in digest_users and kind not in IMMEDIATE:
                status = Status.HELD
            plan.append(PersonRow(user_id=user_id, channel=channel, status=status))
    return plan


def webhook_team_ids_reached(team_ids: Collection[int]) -> list[int]:
    """The teams among `team_ids` whose chat webhook (or, with the Slack app or the
    Mattermost bot, channel) is set and not marked broken."""
    posted_to = ~Q(webhook_url="")
    if settings.SLACK_BOT_TOKEN:
        posted_to |= ~Q(slack_channel_id="")
    if settings.MATTERMOST_BOT_TOKEN:
        posted_to |= ~Q(mattermost_channel_id="")
    hooked = Team.objects.filter(posted_to, pk__in=team_ids, webhook_broken_at__isnull=True)
    return list(hooked.values_list("pk", flat=True))


def _rows(dispatch: Dispatch, *, now: datetime) -> list[Notification]:
    kind = dispatch.kind
    rows: list[Notification] = []

    def row(channel: str, addressee: str, **fields: object) -> Notification:
        return Notification(
            campaign_id=dispatch.campaign_id,
            campaign_version=dispatch.campaign_version,
            kind=kind,
            channel=channel,
            next_attempt_at=now,
            window_started_at=now,
            dedupe_key=dedupe_key(
                dispatch.campaign_id,
                dispatch.campaign_version,
                kind,
                addressee,
                channel,
                dispatch.occurrence,
            ),
            **fields,
        )

    for planned in person_rows_plan(kind=kind, user_ids=_audience(dispatch)):
        rows.append(
            row(
                planned.channel,
                f"u{planned.user_id}",
                recipient_id=planned.user_id,
                status=planned.status,
                sent_at=now if planned.status == Status.SENT else None,
            )
        )
    for team_id in webhook_team_ids_reached(dispatch.webhook_team_ids):
        rows.append(row(Channel.WEBHOOK, f"t{team_id}", team_id=team_id))
    return rows


def _without_existing(rows: list[Notification]) -> list[Notification]:
    """Drop rows whose dedupe key is already in the outbox (a repeated event)."""
    keys = [row.dedupe_key for row in rows]
    existing: set[str] = set()
    for start in range(0, len(keys), 5000):
        existing.update(
            Notification.objects.filter(dedupe_key__in=keys[start : start + 5000]).values_list(
                "dedupe_key", flat=True
            )
        )
    return [row for row in rows if row.dedupe_key not in existing]


def dispatches_unexpanded(*, older_than: datetime, limit: int = 100) -> list[int]:
    """Dispatches whose expansion task never ran (the broker was down at commit, the
    message was lost): the sweep expands them."""
    return list(
        Dispatch.objects.filter(expanded_at__isnull=True, created_at__lt=older_than)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def chunked(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
