"""Campaigns, feedback and people as the API's documents (plain dicts the schemas check)."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign, Feedback, Stakeholder


def etag_of(campaign: Campaign) -> str:
    """A strong validator for If-Match: the revision every change to the campaign's row,
    its teams and acknowledgements bumps (database triggers, see Campaign.revision)."""
    return f'"r{campaign.revision}"'


def person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def _reference(campaign: Campaign) -> dict[str, str] | None:
    reference = getattr(campaign, "external_reference", None)
    if reference is None:
        return None
    return {"source": reference.source, "external_id": reference.external_id}


def campaign_summary(campaign: Campaign, request: HttpRequest) -> dict[str, Any]:
    teams_total = getattr(campaign, "team_count", None)
    teams_acknowledged = getattr(campaign, "acknowledged_team_count", None)
    if teams_total is None:  # the detail's prefetched stakeholders
        stakeholders = list(campaign.stakeholders.all())
        teams_total = len(stakeholders)
        teams_acknowledged = sum(s.is_acknowledged for s in stakeholders)
    return {
        "id": campaign.pk,
        "title": campaign.title,
        "channel": campaign.channel,
        "status": campaign.status,
        "version": campaign.version,
        "etag": etag_of(campaign),
        "audience": campaign.audience,
        "estimated_recipients": campaign.estimated_recipients,
        "launch_at": campaign.launch_at,
        "ends_at": campaign.ends_at,
        "owner": person(campaign.owner),
        "teams_total": teams_total,
        "teams_acknowledged": teams_acknowledged,
        "external_ref": _reference(campaign),
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        "url": request.build_absolute_uri(campaign.get_absolute_url()),
    }


def _stakeholder(stakeholder: Stakeholder, now: datetime) -> dict[str, Any]:
    acknowledged = stakeholder.is_acknowledged
    not_ready = None
    if stakeholder.is_not_ready:
        not_ready = {
            "reason": stakeholder.not_ready_reason,
            "at": stakeholder.not_ready_at,
            "by": person(stakeholder.not_ready_by),
            "reply": stakeholder.not_ready_reply,
            "replied_at": stakeholder.not_ready_replied_at,
        }
    team = stakeholder.team
    return {
        "team": {"id": team.pk, "name": team.name, "slug": team.slug},
        "acknowledged": acknowledged,
        "acknowledged_at": stakeholder.acknowledged_at if acknowledged else None,
        "acknowledged_by": person(stakeholder.acknowledged_by) if acknowledged else None,
        "due_at": stakeholder.due_at,
        "overdue": stakeholder.is_overdue(now),
        "members": getattr(stakeholder, "member_count", 0),
        "acknowledgements": [
            {"person": person(ack.user), "at": ack.created_at, "note": ack.note}
            for ack in stakeholder.acknowledgements.all()
        ],
        "not_ready": not_ready,
    }


def campaign_full(campaign: Campaign, request: HttpRequest) -> dict[str, Any]:
    """Needs campaigns.selectors.campaign_detail's prefetches (a fixed number of queries)."""
    now = timezone.now()
    return {
        **campaign_summary(campaign, request),
        "summary": campaign.summary,
        "body": campaign.body,
        "objective": campaign.objective,
        "announced_at": campaign.announced_at,
        "done_at": campaign.done_at,
        "cancelled_at": campaign.cancelled_at,
        "stakeholders": [_stakeholder(s, now) for s in campaign.stakeholders.all()],
        "kpis": [
            {
                "id": kpi.pk,
                "name": kpi.name,
                "unit": kpi.unit,
                "direction": kpi.direction,
                "target": kpi.target,
                "actual": kpi.actual,
                "actual_source": kpi.actual_source,
                "actual_recorded_at": kpi.actual_recorded_at,
            }
            for kpi in campaign.kpis.all()
        ],
        "editors": [person(editor) for editor in campaign.editors.all()],
    }


def feedback(message: Feedback, replies: list[Feedback] | None = None) -> dict[str, Any]:
    return {
        "id": message.pk,
        "campaign_id": message.campaign_id,
        "author": person(message.author),
        "tag": message.tag,
        "body": message.body,
        "created_at": message.created_at,
        "parent_id": message.parent_id,
        "answered_at": message.answered_at,
        "replies": [feedback(reply) for reply in replies or []],
    }
