"""Finding campaigns: the filtered list and the launch calendar."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from campaigns import selectors
from campaigns.calendar import Period, calendar_weeks, day_limit
from campaigns.filters import CalendarForm, CampaignFilterForm, CampaignSearchForm
from campaigns.search import campaign_search as search_campaigns
from core import pages
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, actor_of

PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 20


@require_GET
@vary_on_headers("HX-Request")  # one URL, two bodies: caches must not mix page and rows
def campaign_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CampaignFilterForm(request.GET)
    form.is_valid()  # invalid fields are shown and ignored; the valid ones still filter
    viewer = actor_of(request)
    what: selectors.ListPageArgs = {
        "viewer": viewer,
        "filters": form.to_filters(user=request.user),
        "cursor": request.GET.get("cursor", ""),
        "page_size": PAGE_SIZE,
    }
    template = "campaigns/list.html#rows" if wants_fragment(request) else "campaigns/list.html"
    return pages.kept_response(
        request,
        view="campaigns:list",
        stamp=lambda: selectors.campaign_list_stamp(**what),
        render=lambda: render(
            request,
            template,
            {
                "form": form,
                "page": selectors.campaign_list(**what),
                "can_create": viewer.is_marketer,
            },
        ),
    )


@require_GET
@vary_on_headers("HX-Request")
def campaign_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every campaign the person may see that matches `q`, in any week or status, best
    match first; "Show more" appends the next page (a plain link without JavaScript)."""
    form = CampaignSearchForm(request.GET)
    page = search_campaigns(
        viewer=actor_of(request),
        text=form.text(),
        tz=timezone.get_current_timezone(),
        cursor=request.GET.get("cursor", ""),
        page_size=SEARCH_PAGE_SIZE,
    )
    template = "campaigns/search.html#hits" if wants_fragment(request) else "campaigns/search.html"
    return render(
        request,
        template,
        {"form": form, "page": page, "text": form.text(), "cursor": request.GET.get("cursor", "")},
    )


@require_GET
def campaign_calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CalendarForm(request.GET)
    today = timezone.localdate()
    period = form.period(today=today)
    start, end = period.bounds()
    viewer = actor_of(request)

    def calendar_page() -> HttpResponse:
        launches = selectors.campaign_launches(
            viewer=viewer,
            start=start,
            end=end,
            per_day=day_limit(period),
            tz=timezone.get_current_timezone(),
        )
        pages.shows_campaigns_read(request, {c.pk: c.revision for c in launches})
        weeks = calendar_weeks(period, launches, today=today)
        return render(
            request,
            "campaigns/calendar.html",
            {
                "form": form,
                "period": period,
                "weeks": weeks,
                "days": [day for week in weeks for day in week],
                "launch_count": sum(d.total for week in weeks for d in week if d.in_period),
                "this_month": Period.month_of(today),
                "this_week": Period.week_of(today),
                "month_view": period.as_month(),
                "week_view": period.as_week(today),
            },
        )

    return pages.kept_response(
        request,
        view="campaigns:calendar",
        stamp_query=lambda: selectors.campaign_launches_stamp_query(viewer=viewer),
        render=calendar_page,
    )
