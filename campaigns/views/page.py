"""The campaign page, and the panels it refreshes while it is open."""

from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campaigns import rules, selectors, services
from campaigns.forms import OptionalReasonForm, ReasonForm
from campaigns.kpis import kpi_number_input
from campaigns.models import Campaign, Feedback
from core import pages
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, actor_of
from notifications.selectors import failures_for_campaign, failures_stamp


def _page_stamp(request: AuthenticatedHttpRequest, pk: int) -> tuple[int | None, int | None]:
    """What changes the campaign page (core/pages.py): the campaign's revision, and the
    failed deliveries for those who may see them (written by workers, not by the rows
    the revision follows)."""
    failures = failures_stamp(campaign_id=pk) if actor_of(request).writes_campaigns else None
    return selectors.campaign_revision(campaign_id=pk), failures


@require_GET
def campaign_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return pages.kept_response(
        request,
        view="campaigns:detail",
        stamp=lambda: _page_stamp(request, pk),
        render=lambda: render(request, "campaigns/detail.html", detail_context(request, pk)),
    )


def detail_context(
    request: AuthenticatedHttpRequest, pk: int, **extra: object
) -> dict[str, object]:
    """Everything the campaign page shows; `extra` overrides parts (a form with errors)."""
    viewer = actor_of(request)
    campaign = selectors.campaign_detail(viewer=viewer, campaign_id=pk)
    tally = selectors.feedback_tally(campaign_id=pk)
    context = _panels_context(request, campaign, tally)
    context.update(_thread_and_timeline(request, campaign, tally))
    facts = rules.facts_of(campaign)
    unanswered = selectors.unanswered_questions(campaign_id=pk)
    context.update(
        {
            "my_teams": selectors.my_teams(campaign=campaign, viewer=viewer),
            "external_reference": selectors.external_reference_of(campaign),
            "snooze": selectors.snooze_state(campaign=campaign, viewer=viewer),
            "version_changes": selectors.changes_for_reader(campaign=campaign, viewer=viewer),
            "delivery_failures": (
                failures_for_campaign(campaign_id=campaign.pk)
                if rules.sees_delivery_failures(viewer, facts)
                else None
            ),
            # The questions waiting for an answer, at the top of the page.
            "unanswered": unanswered,
            "unanswered_more": max(tally.unanswered - len(unanswered), 0),
            "feedback_form": feedback_form(),
            "feedback_tags": Feedback.Tag.choices,
            "feedback_posted": False,
            "results": results_rows(campaign),
            "results_error": "",
            "results_saved": False,
        }
    )
    context.update(extra)
    return context


def feedback_form(
    tag: str = Feedback.Tag.MESSAGE, body: str = "", error: DomainError | None = None
) -> dict[str, object]:
    """The thread's form, by hand: the service is the one place its rules live."""
    errors = error.field_errors if error else {}
    return {
        "tag": tag,
        "body": body,
        "errors": errors,
        "error": error.message if error and not errors else "",
        "max_length": services.FEEDBACK_MAX_LENGTH,
    }


def results_rows(
    campaign: Campaign,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> list[dict[str, object]]:
    """Target against actual for each KPI, with what was typed and its error on a refusal."""
    rows = []
    for result in selectors.kpi_results(campaign=campaign):
        name = f"kpi_{result.kpi.pk}"
        actual = result.kpi.actual
        rows.append(
            {
                "result": result,
                "name": name,
                "value": (values or {}).get(name, kpi_number_input(actual)),
                "errors": (errors or {}).get(name, []),
            }
        )
    return rows


def _thread_and_timeline(
    request: AuthenticatedHttpRequest, campaign: Campaign, tally: selectors.FeedbackTally
) -> dict[str, object]:
    """The latest of the thread and of the timeline, or all of either when the reader
    asked (`?thread=all`, `?timeline=all`: plain links, kept by the live poll)."""
    whole_thread = request.GET.get("thread") == "all"
    whole_timeline = request.GET.get("timeline") == "all"
    thread = selectors.feedback_thread(
        campaign_id=campaign.pk,
        total=tally.threads,
        latest=None if whole_thread else selectors.THREAD_LATEST,
    )
    timeline = selectors.campaign_events(
        campaign_id=campaign.pk, latest=None if whole_timeline else selectors.TIMELINE_LATEST
    )
    viewer = actor_of(request)
    facts = rules.facts_of(campaign)
    return {
        "feedback": thread.messages,
        "feedback_earlier": thread.earlier,
        # Who may mark a question answered besides its asker (the rule in the service).
        "answers_any_question": any(rules.holds(r, viewer, facts) for r in rules.EDITORS),
        "feedback_max_length": services.FEEDBACK_MAX_LENGTH,
        "reader_id": viewer.user_id,
        "events": timeline.events,
        "events_more": timeline.more,
        "whole_thread": whole_thread,
        "whole_timeline": whole_timeline,
    }


def _panels_context(
    request: AuthenticatedHttpRequest, campaign: Campaign, tally: selectors.FeedbackTally
) -> dict[str, object]:
    """What the panels refreshed while the page is open need (see campaign_live)."""
    stakeholders = list(campaign.stakeholders.all())
    now = timezone.now()
    return {
        "campaign": campaign,
        "stakeholders": stakeholders,
        "actions": selectors.campaign_actions(campaign=campaign, viewer=actor_of(request), now=now),
        # The teams whose "not ready" this person may answer (the reply form).
        "replyable_team_ids": {
            team_id
            for team_id, state in selectors.not_ready_replies(
                campaign=campaign, viewer=actor_of(request), now=now
            ).items()
            if state.allowed
        },
        "not_ready_max_length": services.NOT_READY_REASON_MAX_LENGTH,
        "override_form": ReasonForm(),
        "cancel_form": OptionalReasonForm(),
        "now_value": now,
        "progress": {
            "acknowledged": sum(
                1 for s in stakeholders if s.acknowledged_version == campaign.version
            ),
            "total": len(stakeholders),
        },
        "countdown": launch_countdown(campaign, now=now),
        "closed_ahead": closed_before_launch(campaign, now=now),
        "tally": tally,
        "live_state": selectors.campaign_live_state(campaign=campaign, tally=tally),
        "poll_seconds": settings.CAMPAIGN_PAGE_POLL_SECONDS,
    }


def closed_before_launch(campaign: Campaign, *, now: datetime) -> str:
    """ "Closed — launches in 3 days": a done campaign whose launch is still ahead is
    closed for acknowledgements, not over; a bare "Done" beside a future date misleads.
    Empty otherwise."""
    if not campaign.phase.done or campaign.launch_at is None or campaign.launch_at <= now:
        return ""
    return _("Closed — %(countdown)s") % {"countdown": launch_countdown(campaign, now=now)}


def launch_countdown(campaign: Campaign, *, now: datetime) -> str:
    """How far launch is ("launches in 3 days", "launched yesterday"): calendar days in the
    reader's time zone, hours or minutes on the day itself. Empty without a launch date or
    once cancelled."""
    if campaign.launch_at is None or campaign.phase.cancelled:
        return ""
    launch = campaign.launch_at
    days = (timezone.localdate(launch) - timezone.localdate(now)).days
    if days == 1:
        return _("launches tomorrow")
    if days == -1:
        return _("launched yesterday")
    if days > 1:
        return ngettext("launches in %(count)d day", "launches in %(count)d days", days) % {
            "count": days
        }
    if days < -1:
        return ngettext("launched %(count)d day ago", "launched %(count)d days ago", -days) % {
            "count": -days
        }
    delta = launch - now
    minutes = round(abs(delta) / timedelta(minutes=1))
    if minutes < 1:
        return _("launching now")
    if minutes < 60:
        if delta > timedelta(0):
            text = ngettext(
                "launches in %(count)d minute", "launches in %(count)d minutes", minutes
            )
        else:
            text = ngettext(
                "launched %(count)d minute ago", "launched %(count)d minutes ago", minutes
            )
        return text % {"count": minutes}
    hours = round(minutes / 60)
    if delta > timedelta(0):
        text = ngettext("launches in %(count)d hour", "launches in %(count)d hours", hours)
    else:
        text = ngettext("launched %(count)d hour ago", "launched %(count)d hours ago", hours)
    return text % {"count": hours}


@require_GET
@never_cache
def campaign_live(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """The panels that change while the campaign page is open (summary, reactions tally,
    next step, stakeholder teams, the feedback thread's messages, the timeline), polled by
    htmx and swapped out of band; a constant number of queries.

    The page sends the fingerprint of what it shows (`state`): when nothing changed the
    answer is an empty 204, so a half-typed reason is not wiped every few seconds. Once
    the campaign no longer awaits acknowledgements the answer is 286, htmx's "stop
    polling".
    """
    if not wants_fragment(request):
        return redirect("campaigns:detail", pk=pk)
    return pages.kept_response(
        request,
        view="campaigns:live",
        stamp=lambda: _page_stamp(request, pk),
        render=lambda: _live_panels(request, pk),
    )


def _live_panels(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_live(viewer=actor_of(request), campaign_id=pk)
    tally = selectors.feedback_tally(campaign_id=pk)
    polling = campaign.phase.awaiting_acknowledgement
    state = selectors.campaign_live_state(campaign=campaign, tally=tally)
    if polling and request.GET.get("state") == state:
        return HttpResponse(status=204)
    context = _panels_context(request, campaign, tally)
    # Read only when something changed and the panels are rendered.
    context.update(_thread_and_timeline(request, campaign, tally))
    context["changed_since_loaded"] = request.GET.get("v", str(campaign.version)) != str(
        campaign.version
    )
    response = render(request, "campaigns/partials/live.html", context)
    if not polling:
        response.status_code = 286
    return response
