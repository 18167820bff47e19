"""/api/v1: who you are, the teams and their members, the week's feed, your inbox."""

from typing import Annotated, Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from api import schemas
from api.auth import Caller
from api.serialize import campaign_summary, person
from core.errors import DomainError, NotFound, PermissionRefused
from core.http import actor_of
from feed.selectors import FeedFilters, Week, feed_week
from notifications.selectors import inbox, unread_count
from teams import selectors as team_selectors
from teams import services as team_services
from teams.models import Team

router = Router()


def _caller(request: HttpRequest) -> Caller:
    caller = request.auth  # type: ignore[attr-defined]
    assert isinstance(caller, Caller)
    return caller


@router.get("/me", response=schemas.MeOut, tags=["people"], summary="Who you are")
def me(request: HttpRequest) -> dict[str, Any]:
    caller = _caller(request)
    actor = actor_of(request)
    return {
        "id": caller.user.pk,
        "name": caller.user.display_name,
        "email": caller.user.email,
        "is_marketer": actor.is_marketer,
        "is_manager": actor.is_manager,
        "teams": [
            {"team": _team_ref(m.team), "role": m.role}
            for m in team_selectors.memberships_of(caller.user)
        ],
        "token": caller.token.name if caller.token else None,
        "scope": caller.token.scope if caller.token else "write",
    }


# --- teams ---------------------------------------------------------------------------------------


def _team_ref(team: Team) -> dict[str, Any]:
    return {"id": team.pk, "name": team.name, "slug": team.slug}


def _team(request: HttpRequest, team_id: int) -> dict[str, Any]:
    """A team with its members: for managers and the team's own members."""
    actor = actor_of(request)
    team = team_selectors.team_by_id(team_id)
    if team is None:
        raise NotFound(_("This team does not exist."))
    if not actor.is_manager and team.pk not in actor.team_ids:
        raise PermissionRefused(_("Only managers and the team's members see who is in it."))
    return {
        **_team_ref(team),
        "ack_policy": team.ack_policy,
        "ack_deadline_hours": team.ack_deadline_hours,
        "members": [
            {
                "person": person(row.membership.user),
                "email": row.membership.user.email,
                "role": row.membership.role,
            }
            for row in team_selectors.team_members(team=team)
        ],
    }


@router.get("/teams", response=list[schemas.TeamRef], tags=["teams"], summary="List teams")
def team_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_team_ref(team) for team in team_selectors.teams_by_name()]


@router.get(
    "/teams/{team_id}", response=schemas.TeamOut, tags=["teams"], summary="A team and its members"
)
def team_read(request: HttpRequest, team_id: schemas.Id) -> dict[str, Any]:
    return _team(request, team_id)


@router.post(
    "/teams/{team_id}/members",
    response={201: schemas.TeamOut},
    tags=["teams"],
    summary="Add a member (managers)",
    description="By e-mail address: an existing account, or an invitation to a new one.",
)
def team_member_add(
    request: HttpRequest, team_id: schemas.Id, payload: schemas.MemberIn
) -> Status[dict[str, Any]]:
    team_services.team_member_add(
        actor=_caller(request).user,
        team_id=team_id,
        email=payload.email,
        full_name=payload.full_name,
        role=payload.role,
        request=request,
    )
    return Status(201, _team(request, team_id))


@router.put(
    "/teams/{team_id}/members/{user_id}",
    response=schemas.TeamOut,
    tags=["teams"],
    summary="Change a member's role (managers)",
)
def team_member_role(
    request: HttpRequest, team_id: schemas.Id, user_id: schemas.Id, payload: schemas.MemberRoleIn
) -> dict[str, Any]:
    team_services.team_member_set_role(
        actor=_caller(request).user,
        team_id=team_id,
        user_id=user_id,
        role=payload.role,
        request=request,
    )
    return _team(request, team_id)


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    response={204: None},
    tags=["teams"],
    summary="Remove a member (managers)",
)
def team_member_remove(
    request: HttpRequest, team_id: schemas.Id, user_id: schemas.Id
) -> HttpResponse:
    team_services.team_member_remove(
        actor=_caller(request).user, team_id=team_id, user_id=user_id, request=request
    )
    return HttpResponse(status=204)


# --- the feed and the inbox ---------------------------------------------------------------------


class FeedQuery(Schema):
    week: schemas.IsoWeek | None = Field(
        default=None, description="An ISO week (2026-W49); this week by default."
    )
    my_teams: bool = False
    cursor: schemas.SearchText = ""
    limit: Annotated[int, Field(ge=1, le=100)] = 50


@router.get(
    "/feed",
    response=schemas.FeedOut,
    tags=["feed"],
    summary="What went out in a week",
    description="The week's campaigns (announced or done), newest launch first, in your "
    "time zone, with what your teams still owe.",
)
def feed(request: HttpRequest, query: Query[FeedQuery]) -> dict[str, Any]:
    caller = _caller(request)
    tz = caller.user.tzinfo
    try:
        week = Week.parse(query.week) if query.week else Week.of(timezone.localdate(timezone=tz))
    except ValueError as exc:
        raise DomainError.for_fields({"week": [_("Not an ISO week such as 2026-W49.")]}) from exc
    page = feed_week(
        viewer=actor_of(request),
        week=week,
        filters=FeedFilters(my_teams=query.my_teams),
        tz=tz,
        cursor=query.cursor,
        page_size=query.limit,
    )
    items = list(page.items)
    prefetch_related_objects([item.campaign for item in items], "owner", "external_reference")
    return {
        "week": str(week),
        "items": [
            {
                "campaign": campaign_summary(item.campaign, request),
                "launch_day": item.day.isoformat(),
                "i_acknowledged": any(s.mine for s in item.my_stakeholders),
                "my_teams_pending": [
                    _team_ref(s.team)
                    for s in item.my_stakeholders
                    if s.acknowledged_version != item.campaign.version
                ],
            }
            for item in items
        ],
        "next_cursor": page.next_cursor,
    }


class InboxQuery(Schema):
    cursor: schemas.SearchText = ""
    limit: Annotated[int, Field(ge=1, le=100)] = 30


@router.get(
    "/inbox",
    response=schemas.InboxOut,
    tags=["inbox"],
    summary="Your in-app notices",
    description="Newest first, one per campaign (earlier ones folded).",
)
def inbox_list(request: HttpRequest, query: Query[InboxQuery]) -> dict[str, Any]:
    user = _caller(request).user
    page = inbox(user=user, cursor=query.cursor, page_size=query.limit)
    return {
        "items": [
            {
                "id": notice.pk,
                "kind": notice.kind,
                "campaign_id": notice.campaign_id,
                "campaign_title": str(notice.dispatch.payload.get("title", "")),
                "created_at": notice.created_at,
                "unread": notice.group_unread,
                "earlier": notice.earlier_count,
            }
            for notice in page.notices
        ],
        "next_cursor": page.older_cursor,
        "unread": unread_count(user=user),
    }
