"""What a campaign event tells the outbox: the one shape campaigns writes and
notifications reads (e-mails, inbox, chat, digests).

A plain-data snapshot taken when the event happens, stored once per event (`Dispatch`),
so delivery shows what was true then and needs no campaign model. The channel's label
travels as its English source text and is translated for each reader, so notifications
keeps no copy of the campaign's channel list.
"""

from typing import TypedDict

from core.changes import FieldChange


class PayloadExtra(TypedDict, total=False):
    """What some events add to the campaign's snapshot."""

    team: str  # reminders, escalations, nudges: the team that owes the acknowledgement
    due_at: str | None  # ISO 8601
    nudged_by: str
    note: str  # a note left while acknowledging, or a thread message
    author_name: str
    tag: str  # the kind of thread message (campaigns.models.Feedback.Tag)
    teams: list[str]
    reason: str  # why it was cancelled
    changes: list[str]  # the material fields a new version changed
    diff: list[FieldChange]  # what a new version changed, before → after (core.changes)
    # Escalations: who had not acknowledged (names, the first ESCALATION_NAMES_SHOWN) and
    # how many in all, the team's drill-down and its leads (whose footer says "you lead").
    pending_people: list[str]
    pending_count: int
    team_slug: str
    team_path: str
    lead_ids: list[int]


class CampaignPayload(PayloadExtra):
    campaign_id: int
    version: int
    title: str
    channel: str
    channel_label: str  # English source text, translated when read
    status: str
    audience: str
    estimated_recipients: int
    launch_at: str | None  # ISO 8601
    ends_at: str | None
    summary: str
    body: str
    owner_name: str
    owner_email: str
    path: str  # the campaign page, from the site root
