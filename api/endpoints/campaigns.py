"""/api/v1/campaigns: read, write, move through their life, acknowledge, results, threads.

Each operation parses, calls one service or selector, and answers. Every rule (who may,
when) is the rule book's, through the services: the API adds none of its own."""

import json
from datetime import datetime
from typing import Annotated, Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.responses import NinjaJSONEncoder
from pydantic import StringConstraints
from pydantic import ValidationError as PydanticValidationError

from api import schemas
from api.auth import Caller
from api.problems import problem
from api.serialize import campaign_full, campaign_summary, etag_of, feedback
from campaigns import selectors, services
from campaigns.models import Campaign
from campaigns.services.common import lock_campaign
from core import pages
from core.errors import DomainError, NotFound
from core.http import actor_of
from feed.selectors import Week

router = Router(tags=["campaigns"])

PAGE_SIZE_MAX = 100


def _caller(request: HttpRequest) -> Caller:
    caller = request.auth  # type: ignore[attr-defined]
    assert isinstance(caller, Caller)
    return caller


def _detail(request: HttpRequest, campaign_id: int, *, status: int = 200) -> HttpResponse:
    """The campaign as the caller may see it, with its ETag (a fixed number of queries)."""
    campaign = selectors.campaign_detail(viewer=actor_of(request), campaign_id=campaign_id)
    prefetch_related_objects([campaign], "external_reference")
    body = schemas.CampaignOut.model_validate(campaign_full(campaign, request))
    response = HttpResponse(body.model_dump_json(), status=status, content_type="application/json")
    response["ETag"] = etag_of(campaign)
    if status == 201:
        response["Location"] = request.build_absolute_uri(f"/api/v1/campaigns/{campaign.pk}")
    return response


# --- list --------------------------------------------------------------------------------------


class CampaignListQuery(Schema):
    status: schemas.Status | None = None
    channel: schemas.Channel | None = None
    launch_from: schemas.Moment | None = Field(
        default=None, description="Launching on or after (a date is midnight, your time)."
    )
    launch_before: schemas.Moment | None = Field(default=None, description="Launching before.")
    week: schemas.IsoWeek | None = Field(
        default=None, description="An ISO week (2026-W49), in your time zone."
    )
    team_id: schemas.Id | None = None
    owner_id: schemas.Id | None = None
    mine: bool = Field(default=False, description="Only campaigns you own or co-edit.")
    updated_since: schemas.Moment | None = None
    q: schemas.SearchText = ""
    order: Annotated[str, StringConstraints(pattern=r"^(newest|oldest)$")] = Field(
        default="newest", description="By launch date: newest or oldest first."
    )
    cursor: schemas.SearchText = ""
    limit: Annotated[int, Field(ge=1, le=PAGE_SIZE_MAX)] = 50


def _moment(value: datetime | None, tz: Any) -> datetime | None:
    """A date alone (2027-01-02) is midnight; without an offset, the caller's time zone."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, tz)


@router.get("", response=schemas.CampaignPageOut, summary="List campaigns")
def campaign_list(request: HttpRequest, filters: Query[CampaignListQuery]) -> HttpResponse:
    """The campaigns you may see, by launch date, a page at a time: pass `next_cursor`
    back as `cursor`. The cost of a page does not grow with the number of campaigns."""
    caller = _caller(request)
    tz = caller.user.tzinfo
    launch_from, launch_before = (
        _moment(filters.launch_from, tz),
        _moment(filters.launch_before, tz),
    )
    if filters.week:
        try:
            week_from, week_before = Week.parse(filters.week).bounds(tz)
        except ValueError as exc:
            raise DomainError.for_fields(
                {"week": [_("Not an ISO week such as 2026-W49.")]}
            ) from exc
        launch_from = max(filter(None, (launch_from, week_from)))
        launch_before = min(filter(None, (launch_before, week_before)))
    what: selectors.ListPageArgs = {
        "viewer": actor_of(request),
        "filters": selectors.CampaignFilters(
            query=filters.q.strip(),
            status=filters.status or "",
            channel=filters.channel or "",
            mine_for=caller.user.pk if filters.mine else None,
            launch_from=launch_from,
            launch_before=launch_before,
            newest_first=filters.order == "newest",
            team_id=filters.team_id,
            owner_id=filters.owner_id,
            updated_since=filters.updated_since,
        ),
        "cursor": filters.cursor,
        "page_size": filters.limit,
    }

    def page_json() -> HttpResponse:
        page = selectors.campaign_list(**what)
        prefetch_related_objects(page.campaigns, "owner", "external_reference")
        body = {
            "items": [campaign_summary(campaign, request) for campaign in page.campaigns],
            "next_cursor": page.next_cursor,
        }
        # Written out rather than checked field by field by pydantic on every request:
        # the documents are the schema's (Schemathesis checks the answers against it).
        return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json")

    # Kept while the page's campaigns are unchanged, as the web list is (core.pages):
    # a sync job polling the same page costs one index-only query.
    return pages.kept_response(
        request,
        view="api:campaign_list",
        stamp=lambda: selectors.campaign_list_stamp(**what),
        render=page_json,
    )


@router.get(
    "/{campaign_id}",
    response={200: schemas.CampaignOut},
    summary="Read a campaign",
    description="With its stakeholder teams, who acknowledged, its KPIs. The ETag header "
    "is the `etag` to send as If-Match.",
)
def campaign_read(request: HttpRequest, campaign_id: schemas.Id) -> HttpResponse:
    return _detail(request, campaign_id)


# --- write -------------------------------------------------------------------------------------


def _input(payload: schemas.CampaignIn) -> services.CampaignInput:
    return services.CampaignInput(
        title=payload.title,
        channel=payload.channel,
        audience=payload.audience,
        estimated_recipients=payload.estimated_recipients,
        launch_at=payload.launch_at,
        ends_at=payload.ends_at,
        summary=payload.summary,
        body=payload.body,
        objective=payload.objective,
        team_ids=payload.team_ids,
        kpis=None
        if payload.kpis is None
        else [
            services.KpiInput(name=k.name, target=k.target, unit=k.unit, direction=k.direction)
            for k in payload.kpis
        ],
        editor_ids=payload.editor_ids,
    )


@router.post(
    "",
    response={201: schemas.CampaignOut},
    summary="Create a draft campaign",
    description="Marketers (and integrations). With `external_ref`, refused (409) when a "
    "campaign already has it: use PUT /campaigns/by-ref/… to create or update.",
)
def campaign_create(request: HttpRequest, payload: schemas.CampaignCreateIn) -> HttpResponse:
    caller = _caller(request)
    data = _input(payload)
    if payload.external_ref is None:
        campaign = services.campaign_create(actor=caller.user, data=data)
        return _detail(request, campaign.pk, status=201)
    ref = payload.external_ref
    if selectors.campaign_id_by_reference(source=ref.source, external_id=ref.external_id):
        raise DomainError(
            _("A campaign already has the reference %(source)s:%(id)s.")
            % {"source": ref.source, "id": ref.external_id},
            code="reference_taken",
        )
    saved = services.campaign_save_by_reference(
        actor=caller.user, source=ref.source, external_id=ref.external_id, data=data
    )
    return _detail(request, saved.campaign.pk, status=201 if saved.created else 200)


@router.put(
    "/by-ref/{source}/{external_id}",
    response={200: schemas.CampaignOut, 201: schemas.CampaignOut},
    summary="Create or update a campaign by its external reference",
    description="For sync jobs: the first call creates the campaign (201), the next ones "
    "update it (200) with the same rules as an edit; the same values again change nothing.",
)
def campaign_put_by_reference(
    request: HttpRequest,
    source: schemas.Source,
    external_id: schemas.ExternalId,
    payload: schemas.CampaignIn,
) -> HttpResponse:
    saved = services.campaign_save_by_reference(
        actor=_caller(request).user, source=source, external_id=external_id, data=_input(payload)
    )
    return _detail(request, saved.campaign.pk, status=201 if saved.created else 200)


@router.get(
    "/by-ref/{source}/{external_id}",
    response={200: schemas.CampaignOut},
    summary="Read a campaign by its external reference",
)
def campaign_read_by_reference(
    request: HttpRequest,
    source: schemas.Source,
    external_id: schemas.ExternalId,
) -> HttpResponse:
    campaign_id = selectors.campaign_id_by_reference(source=source, external_id=external_id)
    if campaign_id is None:
        raise NotFound(_("No campaign has this reference."))
    return _detail(request, campaign_id)


# What `null` may mean in a PATCH: no date, or (KPIs, co-editors) "leave them as they are".
_NULLABLE = frozenset({"launch_at", "ends_at", "kpis", "editor_ids"})


def _patched(campaign: Campaign, payload: schemas.CampaignPatchIn) -> schemas.CampaignIn:
    current: dict[str, Any] = {
        "title": campaign.title,
        "channel": campaign.channel,
        "audience": campaign.audience,
        "estimated_recipients": campaign.estimated_recipients,
        "launch_at": campaign.launch_at,
        "ends_at": campaign.ends_at,
        "summary": campaign.summary,
        "body": campaign.body,
        "objective": campaign.objective,
        "team_ids": list(campaign.stakeholders.values_list("team_id", flat=True)),
        "kpis": None,
        "editor_ids": None,
    }
    changes = payload.model_dump(exclude_unset=True)
    if cleared := sorted(k for k, v in changes.items() if v is None and k not in _NULLABLE):
        raise DomainError.for_fields(
            {name: [_("This field cannot be null: leave it out to keep it.")] for name in cleared}
        )
    try:
        return schemas.CampaignIn.model_validate({**current, **changes})
    except PydanticValidationError as exc:  # a value the stored campaign never had
        raise DomainError.for_fields(
            {".".join(map(str, e["loc"])): [e["msg"]] for e in exc.errors()}
        ) from exc


@router.patch(
    "/{campaign_id}",
    response={200: schemas.CampaignOut},
    summary="Change a campaign",
    description="Only the fields sent change. Send the `etag` you read as If-Match: if the "
    "campaign changed since, nothing is written and the answer is 412.",
)
def campaign_update(
    request: HttpRequest,
    campaign_id: schemas.Id,
    payload: schemas.CampaignPatchIn,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> HttpResponse:
    caller = _caller(request)
    # Visible first: a campaign you may not see is 404 whatever If-Match says.
    selectors.campaign_detail(viewer=actor_of(request), campaign_id=campaign_id)
    with transaction.atomic():
        # Compared under the row lock the edit takes too: nobody can slip a change in
        # between the check and the write.
        campaign = lock_campaign(campaign_id)
        if if_match and if_match.strip() not in ("*", etag_of(campaign)):
            return problem(
                412,
                _("The campaign changed since you read it (now %(etag)s): read it again.")
                % {"etag": etag_of(campaign)},
                headers={"ETag": etag_of(campaign)},
            )
        services.campaign_update(
            actor=caller.user, campaign_id=campaign_id, data=_input(_patched(campaign, payload))
        )
    return _detail(request, campaign_id)


# --- its life ----------------------------------------------------------------------------------


@router.post("/{campaign_id}/announce", response={200: schemas.CampaignOut}, summary="Announce")
def campaign_announce(
    request: HttpRequest, campaign_id: schemas.Id, payload: schemas.AnnounceIn | None = None
) -> HttpResponse:
    """Tell every stakeholder team (e-mail, in-app, chat). 409 when the rule book refuses:
    not a draft, no launch date, no team…"""
    services.campaign_announce(
        actor=_caller(request).user,
        campaign_id=campaign_id,
        already_sent_reason=payload.already_sent_reason if payload else "",
    )
    return _detail(request, campaign_id)


@router.post(
    "/{campaign_id}/mark-done", response={200: schemas.CampaignOut}, summary="Mark as done"
)
def campaign_mark_done(request: HttpRequest, campaign_id: schemas.Id) -> HttpResponse:
    """Once every team acknowledged (and none said "not ready"); else 409, naming who."""
    services.campaign_mark_done(actor=_caller(request).user, campaign_id=campaign_id)
    return _detail(request, campaign_id)


@router.post(
    "/{campaign_id}/override-done",
    response={200: schemas.CampaignOut},
    summary="Mark as done without every acknowledgement (managers)",
)
def campaign_override_done(
    request: HttpRequest, campaign_id: schemas.Id, payload: schemas.ReasonIn
) -> HttpResponse:
    services.campaign_override_done(
        actor=_caller(request).user, campaign_id=campaign_id, reason=payload.reason
    )
    return _detail(request, campaign_id)


@router.post("/{campaign_id}/cancel", response={200: schemas.CampaignOut}, summary="Cancel")
def campaign_cancel(
    request: HttpRequest, campaign_id: schemas.Id, payload: schemas.ReasonIn | None = None
) -> HttpResponse:
    services.campaign_cancel(
        actor=_caller(request).user,
        campaign_id=campaign_id,
        reason=payload.reason if payload else "",
    )
    return _detail(request, campaign_id)


# --- a team's answer ---------------------------------------------------------------------------


@router.post(
    "/{campaign_id}/teams/{team_id}/acknowledge",
    response={200: schemas.CampaignOut},
    summary="Acknowledge for one of your teams",
    description="Idempotent: acknowledging again changes nothing. With `version`, nothing "
    "happens (409) if the campaign changed since.",
)
def campaign_acknowledge(
    request: HttpRequest,
    campaign_id: schemas.Id,
    team_id: schemas.Id,
    payload: schemas.AcknowledgeIn | None = None,
) -> HttpResponse:
    payload = payload or schemas.AcknowledgeIn()
    services.campaign_acknowledge(
        actor=_caller(request).user,
        campaign_id=campaign_id,
        team_id=team_id,
        version=payload.version,
        note=payload.note,
        via="api",
    )
    return _detail(request, campaign_id)


@router.post(
    "/{campaign_id}/teams/{team_id}/not-ready",
    response={200: schemas.CampaignOut},
    summary="Say your team is not ready",
    description="Holds the campaign's closure until the team acknowledges; the owner is told.",
)
def campaign_not_ready(
    request: HttpRequest, campaign_id: schemas.Id, team_id: schemas.Id, payload: schemas.NotReadyIn
) -> HttpResponse:
    services.stakeholder_not_ready(
        actor=_caller(request).user,
        campaign_id=campaign_id,
        team_id=team_id,
        reason=payload.reason,
        via="api",
    )
    return _detail(request, campaign_id)


@router.post(
    "/{campaign_id}/teams/{team_id}/withdraw",
    response={200: schemas.CampaignOut},
    summary="Withdraw your acknowledgement",
)
def campaign_withdraw(
    request: HttpRequest, campaign_id: schemas.Id, team_id: schemas.Id
) -> HttpResponse:
    services.campaign_acknowledgement_revoke(
        actor=_caller(request).user, campaign_id=campaign_id, team_id=team_id
    )
    return _detail(request, campaign_id)


# --- results -----------------------------------------------------------------------------------


@router.put(
    "/{campaign_id}/results",
    response={200: schemas.CampaignOut},
    summary="Push KPI results from a marketing tool",
    description="Each result names its KPI by id or by name; `actual: null` clears it. "
    "The source and the time are kept with each figure. Sending the same figures again "
    "changes nothing.",
)
def campaign_results(
    request: HttpRequest, campaign_id: schemas.Id, payload: schemas.ResultsIn
) -> HttpResponse:
    caller = _caller(request)
    campaign = selectors.campaign_detail(viewer=actor_of(request), campaign_id=campaign_id)
    by_name = {kpi.name.casefold(): kpi.pk for kpi in campaign.kpis.all()}
    actuals: dict[int, Any] = {}
    errors: dict[str, list[str]] = {}
    for index, result in enumerate(payload.results):
        kpi_id = result.kpi_id
        if kpi_id is None and result.name is not None:
            kpi_id = by_name.get(result.name.casefold())
        if kpi_id is None:
            errors[f"results.{index}"] = [
                _("Name the KPI by kpi_id or by one of its names: %(names)s.")
                % {"names": ", ".join(k.name for k in campaign.kpis.all()) or "-"}
            ]
            continue
        actuals[kpi_id] = result.actual
    if errors:
        raise DomainError.for_fields(errors)
    services.campaign_record_results(
        actor=caller.user, campaign_id=campaign_id, actuals=actuals, source=payload.source
    )
    return _detail(request, campaign_id)


# --- the thread --------------------------------------------------------------------------------

THREAD_MAX = 200


@router.get(
    "/{campaign_id}/feedback",
    response=schemas.ThreadOut,
    summary="Read the thread",
    description=f"The latest {THREAD_MAX} messages, oldest first, each with its replies.",
)
def feedback_list(request: HttpRequest, campaign_id: schemas.Id) -> dict[str, Any]:
    selectors.campaign_detail(viewer=actor_of(request), campaign_id=campaign_id)
    tally = selectors.feedback_tally(campaign_id=campaign_id)
    thread = selectors.feedback_thread(
        campaign_id=campaign_id, total=tally.threads, latest=THREAD_MAX
    )
    return {
        "messages": [feedback(m, list(m.replies.all())) for m in thread.messages],
        "earlier": thread.earlier,
    }


@router.post(
    "/{campaign_id}/feedback",
    response={201: schemas.FeedbackOut},
    summary="Post a message or a reply",
    description="A question, an answer, a customer reaction; `parent_id` replies.",
)
def feedback_create(
    request: HttpRequest, campaign_id: schemas.Id, payload: schemas.FeedbackIn
) -> Status[dict[str, Any]]:
    message = services.feedback_post(
        actor=_caller(request).user,
        campaign_id=campaign_id,
        tag=payload.tag,
        body=payload.body,
        parent_id=payload.parent_id,
        via="api",
    )
    return Status(201, feedback(message))
