"""What every campaign service shares: locking, the rule book's facts, the timeline, and
the outbox payload.

Rows are locked campaign first, then stakeholders, so concurrent services serialise in one
order and cannot deadlock.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Unpack

from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import rules
from campaigns.changes import content_of
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, CampaignVersion, Stakeholder
from campaigns.rules import Action, CampaignFacts
from chat import services as chat_services
from core.errors import DomainError, NotFound
from core.working_time import add_working_hours
from notifications import services as notifications
from notifications.messages import absolute_url
from notifications.models import Kind as NotificationKind
from notifications.payload import CampaignPayload, PayloadExtra
from teams.models import Team
from teams.roles import Actor
from webhooks.models import EventType as WebhookEventType
from webhooks.services import webhook_event_publish

Status = Campaign.Status
EventKind = CampaignEvent.Kind


def campaign_missing() -> NotFound:
    return NotFound(translation.gettext("This campaign does not exist."))


def lock_campaign(campaign_id: int) -> Campaign:
    try:
        return (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=campaign_id)
        )
    except Campaign.DoesNotExist:
        raise campaign_missing() from None


def stakeholders_with_acknowledgements(
    campaign: Campaign, *, lock: bool = False
) -> list[Stakeholder]:
    """The campaign's stakeholder rows with their teams and their live acknowledgements
    of the current version (two queries); locked `FOR UPDATE` with `lock`, the order
    every service locks them in."""
    rows = Stakeholder.objects.filter(campaign=campaign).select_related("team")
    if lock:
        rows = rows.select_for_update(of=("self",))
    live = Acknowledgement.objects.filter(version=campaign.version, revoked_at__isnull=True)
    return list(
        rows.prefetch_related(Prefetch("acknowledgements", queryset=live)).order_by("team__name")
    )


def facts_for(
    campaign: Campaign, *, stakeholders: Sequence[Stakeholder] | None = None
) -> CampaignFacts:
    """The rule book's facts about a campaign a service holds (locked by the caller)."""
    if stakeholders is None:
        stakeholders = stakeholders_with_acknowledgements(campaign)
    editor_ids = list(campaign.editors.values_list("pk", flat=True))
    return rules.facts_of(campaign, stakeholders=stakeholders, editor_ids=editor_ids)


def require(
    action: Action,
    actor: User,
    campaign: Campaign,
    *,
    stakeholders: Sequence[Stakeholder] | None = None,
    team_id: int | None = None,
    now: datetime | None = None,
) -> CampaignFacts:
    """Enforce the rule book for `actor` on a campaign the caller locked; returns the facts
    read. An "already done" refusal is worded with who did it and when (one more query,
    only then)."""
    facts = facts_for(campaign, stakeholders=stakeholders)
    person = Actor.of(actor)
    decision = rules.decide(action, person, facts, team_id=team_id, now=now)
    if decision.info:
        kinds = [kind for kinds in rules.TRANSITION_EVENTS.values() for kind in kinds]
        events = campaign.events.filter(kind__in=kinds).select_related("actor")
        facts = rules.facts_of(
            campaign, stakeholders=stakeholders or [], editor_ids=facts.editor_ids, events=events
        )
        decision = rules.decide(action, person, facts, team_id=team_id, now=now)
    decision.raise_if_refused()
    return facts


def lock_team(
    action: Action, actor: User, campaign_id: int, team_id: int
) -> tuple[Campaign, Stakeholder]:
    """The campaign and its stakeholder rows locked (the order every service locks
    them in), the rule book asked for `action` on one team, and that team's row. Inside
    the caller's transaction."""
    campaign = lock_campaign(campaign_id)
    stakeholders = stakeholders_with_acknowledgements(campaign, lock=True)
    require(action, actor, campaign, stakeholders=stakeholders, team_id=team_id)
    return campaign, next(s for s in stakeholders if s.team_id == team_id)


def record(
    campaign: Campaign,
    actor: User | None,
    kind: str,
    details: dict[str, Any] | None = None,
    *,
    publish: bool = True,
) -> CampaignEvent:
    """Append one event to the campaign's timeline, and the outgoing webhook messages it
    makes for integrations (both inside the caller's transaction; the messages are sent
    after commit, see webhook_publish). `publish=False`: the caller's previous event of
    this same change told integrations already (one click, one message)."""
    event = CampaignEvent.objects.create(
        campaign=campaign, actor=actor, kind=kind, version=campaign.version, details=details or {}
    )
    if publish:
        webhook_publish(campaign, event)
    return event


# What integrations hear of each timeline event (webhooks.models.EventType). Not here:
# VERSION_BUMPED, recorded by the same edit as EDITED, whose message carries the new
# version already (one edit, one message).
WEBHOOK_EVENT_TYPES: dict[str, str] = {
    EventKind.CREATED: WebhookEventType.CAMPAIGN_CREATED,
    EventKind.DUPLICATED: WebhookEventType.CAMPAIGN_CREATED,
    EventKind.ANNOUNCED: WebhookEventType.CAMPAIGN_ANNOUNCED,
    EventKind.EDITED: WebhookEventType.CAMPAIGN_CHANGED,
    EventKind.RESULTS: WebhookEventType.CAMPAIGN_CHANGED,
    EventKind.ACK_REVOKED: WebhookEventType.CAMPAIGN_CHANGED,
    EventKind.NOT_READY_REPLIED: WebhookEventType.CAMPAIGN_CHANGED,
    EventKind.ACKNOWLEDGED: WebhookEventType.CAMPAIGN_ACKNOWLEDGED,
    EventKind.TEAM_ACKNOWLEDGED: WebhookEventType.CAMPAIGN_ACKNOWLEDGED,
    EventKind.NOT_READY: WebhookEventType.CAMPAIGN_NOT_READY,
    EventKind.DONE: WebhookEventType.CAMPAIGN_DONE,
    EventKind.DONE_OVERRIDDEN: WebhookEventType.CAMPAIGN_DONE,
    EventKind.CANCELLED: WebhookEventType.CAMPAIGN_CANCELLED,
}


def webhook_publish(campaign: Campaign, event: CampaignEvent) -> None:
    """The webhook messages of a timeline event just recorded, as plain JSON: the
    campaign as it now stands, who acted (None: the app itself), the timeline kind and
    its details. Nothing is written when no endpoint listens (one query)."""
    event_type = WEBHOOK_EVENT_TYPES.get(event.kind)
    if event_type is None:
        return
    actor = event.actor
    webhook_event_publish(
        event_type=event_type,
        data={
            "campaign": {
                "id": campaign.pk,
                "title": campaign.title,
                "status": campaign.status,
                "version": campaign.version,
                "channel": campaign.channel,
                "launch_at": campaign.launch_at.isoformat() if campaign.launch_at else None,
                "url": absolute_url(campaign.get_absolute_url()),
            },
            "actor": {"id": actor.pk, "name": actor.display_name} if actor else None,
            "kind": event.kind,
            "details": event.details,
        },
        occurred_at=event.created_at,
    )


def keep_version(campaign: Campaign, actor: User | None) -> None:
    """Keep what the current version tells the teams (CampaignVersion), inside the caller's
    transaction: created when a version is announced, brought up to date by a fix that
    does not make a new version (a title typo), never touched once superseded."""
    CampaignVersion.objects.update_or_create(
        campaign=campaign,
        version=campaign.version,
        defaults=content_of(campaign),
        create_defaults={**content_of(campaign), "announced_by": actor},
    )


def due_at(team: Team, *, now: datetime, launch_at: datetime | None) -> datetime:
    """Teams must acknowledge within their deadline, counted in the team's working hours
    (a Friday 17:00 announcement with 4 hours is due Monday 12:00), and before launch when
    launch comes first."""
    due = add_working_hours(now, team.ack_deadline_hours, team.working_calendar())
    if launch_at is not None and now < launch_at < due:
        return launch_at
    return due


def notification_payload(campaign: Campaign, **extra: Unpack[PayloadExtra]) -> CampaignPayload:
    """A plain-data snapshot of the campaign for the outbox (see notifications.payload)."""
    # The label's source text: each reader's message translates it into their language.
    with translation.override(None):
        channel_label = str(Campaign.Channel(campaign.channel).label)
    payload: CampaignPayload = {
        "campaign_id": campaign.pk,
        "version": campaign.version,
        "title": campaign.title,
        "channel": campaign.channel,
        "channel_label": channel_label,
        "status": campaign.status,
        "audience": campaign.audience,
        "estimated_recipients": campaign.estimated_recipients,
        "launch_at": campaign.launch_at.isoformat() if campaign.launch_at else None,
        "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
        "summary": campaign.summary,
        "body": campaign.body,
        "owner_name": campaign.owner.display_name,
        "owner_email": campaign.owner.email,
        "path": campaign.get_absolute_url(),
        **extra,
    }
    return payload


def notify_owner(campaign: Campaign, *, occurrence: str, **extra: Unpack[PayloadExtra]) -> None:
    """An outbox row for the campaign's owner: someone wrote to them (a note left while
    acknowledging, a thread message). `occurrence` names the message, so each one is
    told once however often the caller is retried."""
    notifications.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=campaign.version,
        kind=NotificationKind.FEEDBACK,
        user_ids=[campaign.owner_id],
        payload=notification_payload(campaign, **extra),
        occurrence=occurrence,
    )


def notify_teams(
    campaign: Campaign,
    team_ids: Sequence[int],
    *,
    kind: str,
    **extra: Unpack[PayloadExtra],
) -> None:
    """The event, for every active member of `team_ids` and their chat webhooks (the
    outbox expands the members: a large audience after commit)."""
    notifications.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=campaign.version,
        kind=kind,
        member_team_ids=list(team_ids),
        webhook_team_ids=list(team_ids),
        payload=notification_payload(campaign, **extra),
    )


def chat_posts_touch(campaign: Campaign) -> None:
    """The campaign's messages in the teams' chat show its state: update them (after
    commit) whenever it changes. Call inside the transaction of the change."""
    chat_services.chat_posts_touch(campaign_id=campaign.pk)


def free_text(value: str, *, field: str, label: str) -> str:
    """A reason or note typed by a person, stripped, as the database can store it.

    PostgreSQL refuses a NUL character in text and in JSON (the timeline's details, the
    notification payloads), and the error would come after the row lock, as a 500.
    Forms refuse it already; buttons that post a bare field (cancel, override, the
    e-mail's acknowledge page) come through here."""
    if "\x00" in value:
        raise DomainError.for_fields(
            {field: [_("%(label)s contains a character that cannot be stored.") % {"label": label}]}
        )
    return value.strip()
