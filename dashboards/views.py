"""Dashboard pages: thin views over dashboards.selectors."""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns import rules
from campaigns.rules import Action
from campaigns.services import stakeholder_nudge, stakeholder_nudge_all
from core import pages
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, actor_of, parse_id, safe_next
from core.xlsx_export import table_download
from dashboards import charts, drilldown, refresh, selectors
from dashboards.cache import Cached, cached_figures, cached_fragment, figures_time, figures_times
from dashboards.context_processors import remember_dashboard_access
from dashboards.forms import OverviewForm
from hub.db_routing import reads_from_replica
from teams.models import Team


def _table_response(
    export_format: str, name: str, header: list[str], rows: Iterable[Sequence[object]]
) -> HttpResponseBase:
    return table_download(
        export_format, f"passerelle-dashboard-{name}", header, rows, sheet_title=name
    )


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def _teams_table(export_format: str, teams: list[selectors.TeamRow]) -> HttpResponseBase:
    header = [
        _("Team"),
        _("Acknowledgements due"),
        _("Acknowledged on time"),
        _("On-time rate (%)"),
        _("Median time to acknowledge (hours)"),
        _("Overdue now"),
        _("Undelivered messages now"),
    ]
    weeks = teams[0].trend if teams else []
    header += [_("On-time rate (%%), week %(week)s") % {"week": week.label} for week in weeks]
    rows = (
        [
            t.name,
            t.due,
            t.on_time,
            None if t.on_time_rate is None else round(100 * t.on_time_rate),
            _hours(t.median_seconds),
            t.overdue,
            t.undelivered,
            *(week.rate for week in t.trend),
        ]
        for t in teams
    )
    return _table_response(export_format, "teams", header, rows)


def _campaigns_table(
    export_format: str, campaigns: list[selectors.CampaignRow]
) -> HttpResponseBase:
    header = [
        _("Campaign"),
        _("Channel"),
        _("Launch date"),
        _("Teams pending"),
        _("Teams"),
    ]
    rows = (
        [
            row.campaign.title,
            row.campaign.get_channel_display(),
            row.campaign.launch_at,
            row.pending,
            "; ".join(f"{t.name}: {t.acknowledged}/{t.total}" for t in row.teams),
        ]
        for row in campaigns
    )
    return _table_response(export_format, "campaigns", header, rows)


@require_GET
@vary_on_headers("HX-Request")
@reads_from_replica
def overview(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The managers' overview: headline figures, per team, per campaign; or one table as CSV
    or XLSX (`?format=csv|xlsx&table=teams|campaigns`), with the same filters."""
    pages.know_reader(request)  # the kept page's key reads the roles this checks
    scope = selectors.dashboard_scope(user=request.user, actor=actor_of(request))
    remember_dashboard_access(request, allowed=scope is not None)
    if scope is None:
        raise PermissionDenied(_("Only managers and team leads can see the dashboard."))
    form = OverviewForm(request.GET, scope=scope)
    form.is_valid()  # invalid fields are shown and fall back to their defaults
    now = timezone.now()
    filters = form.to_filters(today=timezone.localdate(now), tz=timezone.get_current_timezone())
    export_format = request.GET.get("format")
    if export_format in {"csv", "xlsx"}:
        if request.GET.get("table") == "campaigns":
            # Every announced campaign, not only the page's riskiest few.
            return _campaigns_table(
                export_format,
                selectors.dashboard_campaigns(scope=scope, filters=filters, now=now, limit=None),
            )
        return _teams_table(
            export_format, selectors.dashboard_teams(scope=scope, filters=filters, now=now)
        )

    key = selectors.overview_cache_key(scope=scope, filters=filters)

    def compute() -> selectors.OverviewFigures:
        return selectors.dashboard_overview(scope=scope, filters=filters, now=now)

    return _kept_while_figures_are(
        request,
        view="dashboards:overview",
        render=lambda: _overview_page(request, scope, form, filters, cached_figures(key, compute)),
        stamp=lambda: figures_time(key, compute),
    )


def _kept_while_figures_are(
    request: AuthenticatedHttpRequest,
    *,
    view: str,
    render: Callable[[], HttpResponse],
    stamp: Callable[[], object] = lambda: None,
    stamp_query: Callable[[], pages.StampQuery | None] | None = None,
) -> HttpResponse:
    """A dashboard page kept (core/pages.py) as long as the figures it shows: `stamp`
    includes when they were computed, so figures a worker refreshed replace the kept page
    at once, and the page says when they were computed. Off when the figures are computed
    on every request."""
    if settings.DASHBOARD_CACHE_SECONDS <= 0:
        return render()
    return pages.kept_response(
        request, view=view, stamp=stamp, render=render, stamp_query=stamp_query
    )


def _overview_page(
    request: AuthenticatedHttpRequest,
    scope: selectors.Scope,
    form: OverviewForm,
    filters: selectors.DashboardFilters,
    figures: Cached[selectors.OverviewFigures],
) -> HttpResponse:
    query = request.GET.copy()
    for key in ("format", "table"):
        query.pop(key, None)
    base = {
        "form": form,
        "filters": filters,
        "query": query.urlencode(),
        "computed_at": figures.computed_at,
        "cache_seconds": settings.DASHBOARD_CACHE_SECONDS,
        "is_manager": scope.is_everything,
    }
    can_override = rules.role_could(Action.OVERRIDE_DONE, actor_of(request))

    def render_figures() -> str:
        teams = figures.value.teams
        context = base | {
            "headline": figures.value.headline,
            "teams": teams,
            "teams_chart": charts.bar_chart(
                title=_("On-time acknowledgement rate per team"),
                bars=[
                    (t.name, None if t.on_time_rate is None else round(100 * t.on_time_rate))
                    for t in teams
                ],
            ),
            "team_rows": [
                (
                    t,
                    charts.sparkline(
                        title=_("%(team)s: acknowledged on time, last 12 weeks") % {"team": t.name},
                        points=[(week.short_label, week.rate) for week in t.trend],
                    ),
                )
                for t in teams
            ],
            "trend_weeks": teams[0].trend if teams else [],
            "overrides": figures.value.overrides,
            "campaigns": figures.value.campaigns,
            "is_manager": scope.is_everything,
            "can_override": can_override,
            "campaign_rows": selectors.CAMPAIGN_ROWS,
        }
        return render_to_string("dashboards/overview.html#figures", context, request=request)

    # The figures' HTML (charts, tables: most of the page's cost) is kept with them.
    figures_html = cached_fragment(
        (
            *selectors.overview_cache_key(scope=scope, filters=filters),
            figures.computed_at.isoformat(),
            translation.get_language(),
            timezone.get_current_timezone_name(),
            can_override,
            base["query"],
        ),
        render_figures,
    )
    if wants_fragment(request):
        return HttpResponse(figures_html)
    return render(request, "dashboards/overview.html", base | {"figures_html": figures_html})


# --- team drill-down and nudges ------------------------------------------------------


def _viewable_team(request: AuthenticatedHttpRequest, slug: str) -> Team:
    pages.know_reader(request)  # the kept page's key reads the roles this checks
    team = get_object_or_404(Team, slug=slug)
    if not drilldown.team_can_view(user=request.user, team=team, actor=actor_of(request)):
        raise PermissionDenied(_("Only managers and the team's leads can see this page."))
    return team


@require_GET
@vary_on_headers("HX-Request")
@reads_from_replica
def team_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The team's pending acknowledgements (a page at a time), the messages that never
    reached it, and its 12-week trend; an htmx "Show more" gets only the next rows."""
    team = _viewable_team(request, slug)
    figures = _TeamFigures(team)
    if request.GET.get("after"):
        return _team_page(request, team, figures)  # a later page: read live, never kept
    return _kept_while_figures_are(
        request,
        view="dashboards:team",
        render=lambda: _team_page(request, team, figures),
        stamp=figures.times,
        stamp_query=lambda: drilldown.team_undelivered_count_query(team=team),
    )


class _TeamFigures:
    """The team page's kept figures: when they were computed (the kept page's stamp, read
    on every request), and the figures themselves (read when the page is rendered).

    Which campaigns wait, and the totals, read every campaign awaiting acknowledgement:
    kept a minute like the trend (the page says when). Who has not acknowledged yet, and
    the nudges, are read on each request: they are what a lead nudges from."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.pending_key = refresh.team_pending_key(team)
        self.trend_key = refresh.team_trend_key(team)

    def _pending(self) -> drilldown.PendingSlice:
        return drilldown.team_pending_slice(team=self.team, now=timezone.now())

    def _trend(self) -> list[selectors.WeekRate]:
        return drilldown.team_weekly_trend(team=self.team)

    def times(self) -> tuple[datetime | None, ...]:
        return figures_times((self.pending_key, self._pending), (self.trend_key, self._trend))

    @property
    def pending_slice(self) -> Cached[drilldown.PendingSlice]:
        return cached_figures(self.pending_key, self._pending)

    @property
    def trend(self) -> Cached[list[selectors.WeekRate]]:
        return cached_figures(self.trend_key, self._trend)


def _team_page(
    request: AuthenticatedHttpRequest, team: Team, figures: "_TeamFigures"
) -> HttpResponse:
    cursor = request.GET.get("after", "")
    now = timezone.now()
    kept_slice = None if cursor else figures.pending_slice
    if kept_slice is not None:
        # Who acknowledged, and who was nudged, are read now: the page is kept only while
        # these campaigns are unchanged.
        pages.shows_campaigns(request, [s.campaign_id for s in kept_slice.value.stakeholders])
    pending = drilldown.team_pending_acknowledgements(
        team=team,
        now=now,
        cursor=cursor,
        pending=kept_slice.value if kept_slice else None,
    )
    if cursor and wants_fragment(request):
        if pending.restarted:
            # Appending the first page again would repeat rows: ask for a fresh page.
            return render(request, "dashboards/partials/pending_restart.html", {"team": team})
        context = {"team": team, "pending": pending}
        return render(request, "dashboards/team.html#pending_rows", context)
    cached_trend = figures.trend
    trend = cached_trend.value
    chart = charts.line_chart(
        title=_("%(team)s: acknowledged on time, per week") % {"team": team.name},
        labels=[week.label for week in trend],
        tick_labels=[week.short_label for week in trend],
        series=[charts.Series(name=_("On time"), values=[week.rate for week in trend])],
    )
    context = {
        "team": team,
        "pending": pending,
        "undelivered": drilldown.team_undelivered(team=team),
        "is_later_page": bool(cursor) and not pending.restarted,
        "trend": trend,
        "has_trend": any(week.due for week in trend),
        "trend_chart": chart,
        "trend_computed_at": cached_trend.computed_at,
        "pending_computed_at": kept_slice.computed_at if kept_slice else None,
    }
    return render(request, "dashboards/team.html", context)


@require_POST
def team_nudge(request: AuthenticatedHttpRequest, slug: str) -> HttpResponseBase:
    team = _viewable_team(request, slug)
    # "campaign-user" from a nudge button; separate fields from an older page or a client.
    campaign_raw, _sep, user_raw = request.POST.get("nudge", "").partition("-")
    campaign_id = parse_id(campaign_raw or request.POST.get("campaign", ""))
    user_id = parse_id(user_raw or request.POST.get("user", ""))
    if campaign_id is None or user_id is None:
        return HttpResponseBadRequest(_("Choose a campaign and a person."))
    state, message = "nudged", _("Nudged")
    try:
        sent = stakeholder_nudge(
            actor=request.user, campaign_id=campaign_id, team_id=team.pk, user_id=user_id
        )
    except DomainError as error:
        state, message = "refused", error.message
    else:
        if not sent:
            state, message = "already", _("Already nudged in the last hour")
    if wants_fragment(request):
        context = {
            "team": team,
            "campaign_id": campaign_id,
            "person_id": user_id,
            "state": state,
            "message": message,
            "nudged_at": timezone.now() if state == "nudged" else None,
            "focus": True,
        }
        return render(request, "dashboards/partials/nudge.html", context)
    if state == "nudged":
        messages.success(request, _("Reminder sent."))
    elif state == "already":
        messages.info(request, message)
    else:
        messages.error(request, message)
    return redirect("dashboards:team", slug=team.slug)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def team_nudge_all(request: AuthenticatedHttpRequest, slug: str) -> HttpResponseBase:
    """ "Nudge them": every member of the team who has not acknowledged one campaign.
    GET is the page an escalation e-mail links to (one button: a link must not nudge),
    and for htmx the list of those people with a nudge button each, which the team page
    reads when a long row is opened;
    POST nudges, from that page or straight from the in-app notice, then goes back to
    `next` with the outcome (htmx gets the outcome alone)."""
    team = _viewable_team(request, slug)
    campaign_id = parse_id(request.POST.get("campaign", "") or request.GET.get("campaign", ""))
    if campaign_id is None:
        return HttpResponseBadRequest(_("Choose a campaign."))
    if request.method == "GET":
        row = drilldown.team_campaign_pending(team=team, campaign_id=campaign_id)
        if wants_fragment(request):
            # The team page's list of these people, opened from a long row.
            return render(request, "dashboards/team.html#nudge_list", {"team": team, "row": row})
        return render(request, "dashboards/nudge_all.html", {"team": team, "row": row})
    level, message = messages.SUCCESS, ""
    try:
        outcome = stakeholder_nudge_all(
            actor=request.user, campaign_id=campaign_id, team_id=team.pk
        )
    except DomainError as error:
        level, message = messages.ERROR, error.message
    else:
        parts = []
        if outcome.nudged:
            parts.append(
                ngettext("%(count)s person nudged.", "%(count)s people nudged.", outcome.nudged)
                % {"count": outcome.nudged}
            )
        if outcome.already:
            parts.append(
                ngettext(
                    "%(count)s already nudged in the last hour.",
                    "%(count)s already nudged in the last hour.",
                    outcome.already,
                )
                % {"count": outcome.already}
            )
        if outcome.unreachable:
            parts.append(
                ngettext(
                    "%(count)s switched off reminders: reach them another way.",
                    "%(count)s switched off reminders: reach them another way.",
                    outcome.unreachable,
                )
                % {"count": outcome.unreachable}
            )
        message = " ".join(parts)
        if not outcome.nudged:
            level = messages.INFO
    if wants_fragment(request):
        context = {"message": message, "level": level, "levels": messages.DEFAULT_LEVELS}
        return render(request, "dashboards/partials/nudge_all_outcome.html", context)
    messages.add_message(request, level, message)
    return redirect(safe_next(request, reverse("dashboards:team", args=[team.slug])))
