"""Reads about a person's account: who a signed link stands for, and everything
Passerelle holds about them (the export a person downloads from their profile,
docs/PRIVACY.md)."""

from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db.models import Q

from accounts.models import User
from api.models import ApiToken
from audit.models import AuditEvent
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Feedback, ReminderSnooze
from chat.models import ChatIdentity
from notifications.models import DeliverySettings, Notification, Preference, SubscriptionToken
from teams.models import Membership

# The sections of the export, in the order the JSON and the zip list them.
SECTIONS = (
    "profile",
    "email_addresses",
    "preferences",
    "memberships",
    "acknowledgements",
    "feedback",
    "not_ready",
    "reminder_snoozes",
    "notifications",
    "subscription_tokens",
    "api_tokens",
    "second_factors",
    "chat_identities",
    "campaigns_owned",
    "campaigns_coedited",
    "audit_log",
)
# What a person wrote about a team not being ready: their objection, or their reply to one.
_NOT_READY_TEXTS: dict[str, str] = {
    CampaignEvent.Kind.NOT_READY: "reason",
    CampaignEvent.Kind.NOT_READY_REPLIED: "reply",
}


def person_for_link(*, user_id: int) -> User | None:
    """The person a signed link (an e-mail's acknowledge link) stands for, if they can
    still act: not deactivated, not erased."""
    return User.objects.filter(pk=user_id, is_active=True, erased_at__isnull=True).first()


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _payload_summary(payload: dict[str, Any]) -> dict[str, Any]:
    """What a notice was about, without the campaign's whole body (the campaign's, not
    the person's) and without what other people wrote or are called in it (a colleague's
    note, its author, the owner): their data is theirs to export, not this person's."""
    keys = ("title", "team", "tag", "changes", "due_at")
    return {key: payload[key] for key in keys if payload.get(key) not in (None, "", [])}


def personal_data_of(*, person: User) -> dict[str, list[dict[str, Any]]]:
    """Everything Passerelle holds about `person`, as plain JSON-ready data, one list of
    rows per section (SECTIONS; the profile is a one-row list so every section has the
    same shape, and the CSV export writes one file per section).

    A fixed number of queries whatever the person's history (one per section), so a
    long-serving advisor's export costs what a newcomer's does. Other people appear only
    as what the person saw of them in their own rows (a campaign's title, a team's name),
    never by their name or e-mail."""
    settings_row = DeliverySettings.objects.filter(user=person).first()
    profile = {
        "id": person.pk,
        "full_name": person.full_name,
        "email": person.email,
        "language": person.language,
        "time_zone": person.time_zone,
        "is_active": person.is_active,
        # Site-wide roles (marketer, manager) are groups; team roles are in memberships.
        "roles": sorted(group.name for group in person.groups.all()),
        "date_joined": _when(person.date_joined),
        "last_login": _when(person.last_login),
        "daily_digest": settings_row.daily_digest if settings_row else None,
        "weekly_preview": settings_row.weekly_preview if settings_row else True,
    }
    email_addresses = [
        {"email": row.email, "primary": row.primary, "verified": row.verified}
        for row in EmailAddress.objects.filter(user=person).order_by("pk")
    ]
    preferences = [
        {"kind": row.kind, "channel": row.channel, "enabled": row.enabled}
        for row in Preference.objects.filter(user=person).order_by("kind", "channel")
    ]
    memberships = [
        {"team": row.team.name, "role": row.role, "joined_at": _when(row.joined_at)}
        for row in Membership.objects.filter(user=person).select_related("team").order_by("pk")
    ]
    acknowledgements = [
        {
            "campaign_id": row.stakeholder.campaign_id,
            "campaign": row.stakeholder.campaign.title,
            "team": row.stakeholder.team.name,
            "version": row.version,
            "acknowledged_at": _when(row.created_at),
            "withdrawn_at": _when(row.revoked_at),
            # How: the note left with it (the button, the e-mail link and the feed all
            # record the same row; only the note tells them apart for the person).
            "note": row.note,
        }
        for row in Acknowledgement.objects.filter(user=person)
        .select_related("stakeholder__campaign", "stakeholder__team")
        .order_by("created_at", "pk")
    ]
    feedback = [
        {
            "campaign_id": row.campaign_id,
            "campaign": row.campaign.title,
            "type": row.tag,
            "text": row.body,
            "created_at": _when(row.created_at),
        }
        for row in Feedback.objects.filter(author=person)
        .select_related("campaign")
        .order_by("created_at", "pk")
    ]
    not_ready = [
        {
            "campaign_id": row.campaign_id,
            "campaign": row.campaign.title,
            "team": row.details.get("team", ""),
            "kind": row.kind,
            "text": row.details.get(_NOT_READY_TEXTS[row.kind], ""),
            "created_at": _when(row.created_at),
        }
        for row in CampaignEvent.objects.filter(actor=person, kind__in=list(_NOT_READY_TEXTS))
        .select_related("campaign")
        .order_by("created_at", "pk")
    ]
    reminder_snoozes = [
        {
            "campaign_id": row.campaign_id,
            "campaign": row.campaign.title,
            "until": _when(row.until),
            "created_at": _when(row.created_at),
        }
        for row in ReminderSnooze.objects.filter(user=person)
        .select_related("campaign")
        .order_by("created_at", "pk")
    ]
    notifications = [
        {
            "id": row.pk,
            "campaign_id": row.campaign_id,
            "kind": row.kind,
            "channel": row.channel,
            "status": row.status,
            "created_at": _when(row.created_at),
            "sent_at": _when(row.sent_at),
            "read_at": _when(row.read_at),
            "summary": _payload_summary(row.dispatch.payload),
        }
        for row in Notification.objects.filter(recipient=person)
        .select_related("dispatch")
        .order_by("created_at", "pk")
    ]
    # The secret itself is left out: an export is a file people forward and keep.
    subscription_tokens = [
        {"created_at": _when(row.created_at)}
        for row in SubscriptionToken.objects.filter(user=person)
    ]
    # Tokens and second factors by their public facts only: never a hash, key or secret.
    api_tokens = [
        {
            "name": row.name,
            "kind": row.kind,
            "scope": row.scope,
            "created_at": _when(row.created_at),
            "expires_at": _when(row.expires_at),
            "last_used_at": _when(row.last_used_at),
            "revoked_at": _when(row.revoked_at),
        }
        for row in ApiToken.objects.filter(user=person).order_by("created_at", "pk")
    ]
    second_factors = [
        {
            "type": row.type,
            "created_at": _when(row.created_at),
            "last_used_at": _when(row.last_used_at),
        }
        for row in Authenticator.objects.filter(user=person).order_by("created_at", "pk")
    ]
    chat_identities = [
        {
            "platform": row.platform,
            "workspace_id": row.workspace_id,
            "user_id": row.external_user_id,
            "connected_at": _when(row.created_at),
        }
        for row in ChatIdentity.objects.filter(user=person).order_by("pk")
    ]
    # What they did that the security log recorded. The target is named by its type
    # only: a label may be someone else's name ("added Bob to Sales").
    audit_log = [
        {
            "occurred_at": _when(row.occurred_at),
            "action": row.action,
            "target_type": row.target_type,
            "ip": row.ip,
        }
        for row in AuditEvent.objects.filter(actor=person).order_by("occurred_at", "pk")
    ]
    owned: list[dict[str, Any]] = []
    coedited: list[dict[str, Any]] = []
    for campaign in (
        Campaign.objects.filter(Q(owner=person) | Q(editors=person))
        .distinct()
        .only("pk", "title", "status", "launch_at", "created_at", "owner_id")
        .order_by("created_at", "pk")
    ):
        row = {
            "id": campaign.pk,
            "title": campaign.title,
            "status": campaign.status,
            "launch_at": _when(campaign.launch_at),
            "created_at": _when(campaign.created_at),
        }
        (owned if campaign.owner_id == person.pk else coedited).append(row)
    return {
        "profile": [profile],
        "email_addresses": email_addresses,
        "preferences": preferences,
        "memberships": memberships,
        "acknowledgements": acknowledgements,
        "feedback": feedback,
        "not_ready": not_ready,
        "reminder_snoozes": reminder_snoozes,
        "notifications": notifications,
        "subscription_tokens": subscription_tokens,
        "api_tokens": api_tokens,
        "second_factors": second_factors,
        "chat_identities": chat_identities,
        "campaigns_owned": owned,
        "campaigns_coedited": coedited,
        "audit_log": audit_log,
    }
