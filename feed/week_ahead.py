"""The Monday "week ahead" e-mail: what launches this week for each person's teams.

Campaigns builds the content (plain dicts, one per team) and notifications sends it, so
the notifications core never imports campaign models. The work per run is a fixed
handful of queries (campaigns, their stakeholders, the members of those teams, opt-outs)
plus one claim per person e-mailed, whatever the number of campaigns.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User, zone_named
from campaigns import rules
from campaigns.models import Campaign, Stakeholder
from notifications import services as notification_services
from teams.models import Membership

WEEK_AHEAD_STATUSES = rules.WENT_OUT
# People per task (see notifications.services.digests.DIGEST_BATCH).
WEEK_AHEAD_BATCH = 200


def local_week(*, now: datetime, tz_name: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 of the ISO week `now` falls in, where the
    person lives (aware datetimes)."""
    tz = zone_named(tz_name)
    local = timezone.localtime(now, tz)
    monday = local.date() - timedelta(days=local.weekday())
    start = datetime.combine(monday, time.min, tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz)
    return start, end


def _channel_source_label(channel: str) -> str:
    # The English source text: notifications translates it for each reader.
    with translation.override(None):
        return str(Campaign.Channel(channel).label)


def _campaign_data(campaign: Campaign) -> dict[str, Any]:
    assert campaign.launch_at is not None
    return {
        "id": campaign.pk,
        "title": campaign.title,
        "launch_at": campaign.launch_at.isoformat(),
        "channel": campaign.channel,
        "channel_label": _channel_source_label(campaign.channel),
        "audience": campaign.audience,
        "status": campaign.status,
        "path": reverse("campaigns:detail", args=[campaign.pk]),
    }


def week_ahead_sections(
    *, campaigns: list[Campaign], team_ids: set[int], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One section per team among `team_ids` with something launching in [start, end):
    {"team": name, "campaigns": [plain dicts, by launch date]}. No queries: the
    campaigns come with their stakeholders and teams prefetched."""
    by_team: dict[int, dict[str, Any]] = {}
    for campaign in campaigns:
        assert campaign.launch_at is not None
        if not start <= campaign.launch_at < end:
            continue
        for stakeholder in campaign.stakeholders.all():
            if stakeholder.team_id not in team_ids:
                continue
            section = by_team.setdefault(
                stakeholder.team_id, {"team": stakeholder.team.name, "campaigns": []}
            )
            section["campaigns"].append(_campaign_data(campaign))
    for section in by_team.values():
        section["campaigns"].sort(key=lambda c: (c["launch_at"], c["id"]))
    return sorted(by_team.values(), key=lambda s: s["team"])


def _week_campaigns(now: datetime) -> list[Campaign]:
    # Wide enough to hold the current local week in every time zone.
    return list(
        Campaign.objects.filter(
            status__in=WEEK_AHEAD_STATUSES,
            launch_at__gte=now - timedelta(days=8),
            launch_at__lt=now + timedelta(days=8),
        )
        .only("id", "title", "launch_at", "channel", "audience", "status")
        .prefetch_related(
            Prefetch("stakeholders", queryset=Stakeholder.objects.select_related("team"))
        )
        .order_by("launch_at", "id")
    )


def _teams_of(user_ids: Iterable[int] | None, team_ids: set[int]) -> dict[int, set[int]]:
    """Each active person's teams among `team_ids` (only those of `user_ids` if given)."""
    teams_of: dict[int, set[int]] = defaultdict(set)
    memberships = Membership.objects.filter(team_id__in=team_ids, user__is_active=True)
    if user_ids is not None:
        memberships = memberships.filter(user_id__in=list(user_ids))
    for user_id, team_id in memberships.values_list("user_id", "team_id"):
        teams_of[user_id].add(team_id)
    return teams_of


def week_ahead_batches_due(*, now: datetime | None = None) -> list[list[int]]:
    """The people whose Monday e-mail may go out now (their teams have launches this
    week, they did not opt out), in batches of WEEK_AHEAD_BATCH. Reads only."""
    now = now or timezone.now()
    campaigns = _week_campaigns(now)
    team_ids = {s.team_id for c in campaigns for s in c.stakeholders.all()}
    if not team_ids:
        return []
    people = sorted(_teams_of(None, team_ids))
    opted_out = notification_services.week_ahead_opted_out(user_ids=people)
    served = notification_services.week_ahead_served(now=now)
    due = []
    for user in User.objects.filter(pk__in=people).only("pk", "time_zone").order_by("pk"):
        period = notification_services.week_ahead_due(user=user, now=now)
        if user.pk not in opted_out and period is not None and (user.pk, period) not in served:
            due.append(user.pk)
    return list(notification_services.chunked(due, WEEK_AHEAD_BATCH))


def week_ahead_send_for(*, user_ids: Sequence[int], now: datetime | None = None) -> int:
    """Send the week-ahead e-mail to each of `user_ids` for whom it is Monday, at or
    after the digest hour, in their own time zone, and whose teams have something
    launching this week. At most once per person and ISO week (notifications'
    DigestRun); one person's failure never stops the others (see `week_ahead_send`).
    Returns how many were sent. Each person's send runs outside any transaction."""
    now = now or timezone.now()
    campaigns = _week_campaigns(now)
    team_ids = {s.team_id for c in campaigns for s in c.stakeholders.all()}
    if not team_ids:
        return 0
    teams_of = _teams_of(user_ids, team_ids)
    opted_out = notification_services.week_ahead_opted_out(user_ids=teams_of)
    sent = 0
    for user in User.objects.filter(pk__in=list(teams_of), is_active=True).order_by("pk"):
        if user.pk in opted_out:
            continue
        period = notification_services.week_ahead_due(user=user, now=now)
        if period is None:
            continue
        start, end = local_week(now=now, tz_name=user.time_zone)
        sections = week_ahead_sections(
            campaigns=campaigns, team_ids=teams_of[user.pk], start=start, end=end
        )
        if notification_services.week_ahead_send(user=user, period=period, sections=sections):
            sent += 1
    return sent


def week_ahead_send_due(*, now: datetime | None = None) -> int:
    """Every due week-ahead e-mail, sent here batch after batch (the beat task hands the
    batches to workers instead; see feed.tasks.send_week_ahead)."""
    now = now or timezone.now()
    return sum(
        week_ahead_send_for(user_ids=batch, now=now) for batch in week_ahead_batches_due(now=now)
    )
