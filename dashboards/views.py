"""Dashboard pages: thin views over dashboards.selectors."""

import csv
from collections.abc import Iterable, Iterator

from django.core.exceptions import PermissionDenied as _Forbidden
from django.http import HttpRequest as _Request
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase as _ResponseBase
from django.shortcuts import render as _render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from core.htmx import wants_fragment as _wants_fragment
from dashboards import selectors
from dashboards.charts import bar_chart, sparkline
from dashboards.context_processors import remember_dashboard_access
from dashboards.forms import OverviewForm

CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: object) -> str:
    """Spreadsheets run a cell starting with = + - @ as a formula: quote it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(name: str, header: list[str], rows: Iterable[list[object]]) -> _ResponseBase:
    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_csv_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="passerelle-dashboard-{name}.csv"'
    return response


def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.1f}"


def _teams_csv(teams: list[selectors.TeamRow]) -> _ResponseBase:
    header = [
        gettext("Team"),
        gettext("Due"),
        gettext("Acknowledged on time"),
        gettext("On-time rate (%)"),
        gettext("Median time to acknowledge (hours)"),
        gettext("Overdue now"),
    ]
    weeks = teams[0].trend if teams else []
    header += [gettext("On-time rate (%%), week %(week)s") % {"week": week.label} for week in weeks]
    rows = (
        [
            t.name,
            t.due,
            t.on_time,
            "" if t.on_time_rate is None else round(100 * t.on_time_rate),
            _hours(t.median_seconds),
            t.overdue,
            *("" if week.rate is None else week.rate for week in t.trend),
        ]
        for t in teams
    )
    return _csv_response("teams", header, rows)


def _campaigns_csv(campaigns: list[selectors.CampaignRow]) -> _ResponseBase:
    header = [
        gettext("Campaign"),
        gettext("Channel"),
        gettext("Launch date"),
        gettext("Teams pending"),
        gettext("Teams"),
    ]
    rows = (
        [
            row.campaign.title,
            row.campaign.get_channel_display(),
            timezone.localtime(row.campaign.launch_at).strftime("%Y-%m-%d %H:%M"),
            row.pending,
            "; ".join(f"{t.name}: {t.acknowledged}/{t.total}" for t in row.teams),
        ]
        for row in campaigns
    )
    return _csv_response("campaigns", header, rows)


@require_GET
@vary_on_headers("HX-Request")
def overview(request: _Request) -> _ResponseBase:
    """The managers' overview: headline figures, per team, per campaign; or one table as CSV
    (`?format=csv&table=teams|campaigns`), with the same filters."""
    scope = selectors.dashboard_scope(user=request.user)
    remember_dashboard_access(request, allowed=scope is not None)
    if scope is None:
        raise _Forbidden(gettext("Only managers and team leads can see the dashboard."))
    form = OverviewForm(request.GET, scope=scope)
    form.is_valid()  # invalid fields are shown and fall back to their defaults
    now = timezone.now()
    filters = form.to_filters(today=timezone.localdate(now), tz=timezone.get_current_timezone())
    if request.GET.get("format") == "csv":
        if request.GET.get("table") == "campaigns":
            # Every announced campaign, not only the page's riskiest few.
            return _campaigns_csv(
                selectors.dashboard_campaigns(scope=scope, filters=filters, now=now, limit=None)
            )
        return _teams_csv(selectors.dashboard_teams(scope=scope, filters=filters, now=now))
    query = request.GET.copy()
    for key in ("format", "table"):
        query.pop(key, None)
    teams = selectors.dashboard_teams(scope=scope, filters=filters, now=now)
    context = {
        "form": form,
        "filters": filters,
        "query": query.urlencode(),
        "headline": selectors.dashboard_headline(
            scope=scope, filters=filters, now=now, teams=teams
        ),
        "teams": teams,
        "teams_chart": bar_chart(
            title=gettext("On-time acknowledgement rate per team"),
            bars=[
                (t.name, None if t.on_time_rate is None else round(100 * t.on_time_rate))
                for t in teams
            ],
        ),
        "team_rows": [
            (
                t,
                sparkline(
                    title=gettext("%(team)s: acknowledged on time, last 12 weeks")
                    % {"team": t.name},
                    points=[(week.short_label, week.rate) for week in t.trend],
                ),
            )
            for t in teams
        ],
        "trend_weeks": teams[0].trend if teams else [],
        "overrides": selectors.dashboard_overrides(scope=scope, filters=filters),
        "campaigns": selectors.dashboard_campaigns(scope=scope, filters=filters, now=now),
        "is_manager": scope.is_everything,
        "campaign_rows": selectors.CAMPAIGN_ROWS,
    }
    template = "dashboards/overview.html"
    if _wants_fragment(request):
        template += "#figures"
    return _render(request, template, context)


# --- team drill-down and nudges ------------------------------------------------------
# Appended as one block so the overview views above can evolve independently.

from django.contrib import messages  # noqa: E402
from django.core.exceptions import PermissionDenied  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest  # noqa: E402
from django.http.response import HttpResponseBase  # noqa: E402
from django.shortcuts import get_object_or_404, redirect, render  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from campaigns.services import stakeholder_nudge  # noqa: E402
from core.errors import DomainError, PermissionRefused  # noqa: E402
from core.htmx import wants_fragment  # noqa: E402
from dashboards import charts, drilldown  # noqa: E402
from teams.models import Team  # noqa: E402


def _viewable_team(request: HttpRequest, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not drilldown.team_can_view(user=request.user, team=team):
        raise PermissionDenied(_("Only managers and the team's leads can see this page."))
    return team


@require_GET
@vary_on_headers("HX-Request")
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's pending acknowledgements (a page at a time) and its 12-week trend; an
    htmx "Show more" gets only the next rows."""
    team = _viewable_team(request, slug)
    cursor = request.GET.get("after", "")
    pending = drilldown.team_pending_acknowledgements(team=team, cursor=cursor)
    if cursor and wants_fragment(request):
        if pending.restarted:
            # Appending the first page again would repeat rows: ask for a fresh page.
            return render(request, "dashboards/partials/pending_restart.html", {"team": team})
        context = {"team": team, "pending": pending}
        return render(request, "dashboards/team.html#pending_rows", context)
    trend = drilldown.team_weekly_trend(team=team)
    chart = charts.line_chart(
        title=_("%(team)s: acknowledged on time, per week") % {"team": team.name},
        labels=[week.label for week in trend],
        tick_labels=[week.short_label for week in trend],
        series=[charts.Series(name=_("On time"), values=[week.rate for week in trend])],
    )
    context = {
        "team": team,
        "pending": pending,
        "is_later_page": bool(cursor),
        "trend": trend,
        "has_trend": any(week.due for week in trend),
        "trend_chart": chart,
    }
    return render(request, "dashboards/team.html", context)


@require_POST
def team_nudge(request: HttpRequest, slug: str) -> HttpResponseBase:
    team = _viewable_team(request, slug)
    try:
        campaign_id = int(request.POST["campaign"])
        user_id = int(request.POST["user"])
    except (KeyError, ValueError):
        return HttpResponseBadRequest(_("Choose a campaign and a person."))
    state, message = "nudged", _("Nudged")
    try:
        sent = stakeholder_nudge(
            actor=request.user, campaign_id=campaign_id, team_id=team.pk, user_id=user_id
        )
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
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
        }
        return render(request, "dashboards/partials/nudge.html", context)
    if state == "nudged":
        messages.success(request, _("Reminder sent."))
    elif state == "already":
        messages.info(request, message)
    else:
        messages.error(request, message)
    return redirect("dashboards:team", slug=team.slug)
