"""The stakeholders' weekly feed: the week's campaigns, inline acknowledgements, the
talking points on demand, and the CSV export."""

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns import services
from campaigns.forms import AcknowledgeForm
from campaigns.views.acknowledgements import show_acknowledgement
from core import pages
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, actor_of, safe_next
from core.xlsx_export import table_download
from feed import selectors
from feed.forms import FeedFilterForm
from feed.selectors import FeedPage, Week
from hub.db_routing import reads_from_replica

FEED_PAGE_SIZE = 20


def _feed_week_or_none(value: str | None) -> Week | None:
    if value is None:
        return Week.of(timezone.localdate())
    try:
        return Week.parse(value)
    except ValueError:
        return None


def _bad_week(request: AuthenticatedHttpRequest, value: str) -> HttpResponse:
    return render(
        request,
        "feed/bad_week.html",
        {"value": value[:20], "this_week": Week.of(timezone.localdate())},
        status=400,
    )


@require_GET
@vary_on_headers("HX-Request")
@reads_from_replica
def feed_week(request: AuthenticatedHttpRequest, week: str | None = None) -> HttpResponse:
    selected = _feed_week_or_none(week)
    if selected is None:
        return _bad_week(request, week or "")
    form = FeedFilterForm(request.GET)
    form.is_valid()  # invalid fields are shown and ignored
    # Pages of FEED_PAGE_SIZE: "Load more" appends the next one with htmx, and is a
    # plain link to it without JavaScript.
    what: selectors.WeekPageArgs = {
        "viewer": actor_of(request),
        "week": selected,
        "filters": form.to_filters(),
        "tz": timezone.get_current_timezone(),
        "cursor": request.GET.get("cursor", ""),
        "page_size": FEED_PAGE_SIZE,
    }
    return pages.kept_response(
        request,
        view="feed:week",
        stamp=lambda: selectors.feed_week_stamp(**what),
        render=lambda: _feed_week_page(request, selected, form, selectors.feed_week(**what)),
    )


def _feed_week_page(
    request: AuthenticatedHttpRequest, selected: Week, form: FeedFilterForm, page: FeedPage
) -> HttpResponse:
    filters_only = request.GET.copy()
    filters_only.pop("cursor", None)
    query = filters_only.urlencode()
    context = {
        "week": selected,
        "this_week": Week.of(timezone.localdate()),
        "form": form,
        "page": page,
        "query": query,
        "cursor": request.GET.get("cursor", ""),
        # where an inline acknowledgement made without JavaScript comes back to
        "next_url": reverse("feed:week", args=[selected]) + (f"?{query}" if query else ""),
        "item_error": "",
        "search_text": form.to_filters().query.strip(),
    }
    template = "feed/week.html#days" if wants_fragment(request) else "feed/week.html"
    return render(request, template, context)


@require_GET
@reads_from_replica
def feed_export(
    request: AuthenticatedHttpRequest, week: str, export_format: str = "csv"
) -> HttpResponseBase:
    """The filtered week as `export.csv` (the reader's dialect) or `export.xlsx`."""
    selected = _feed_week_or_none(week)
    if selected is None:
        return _bad_week(request, week)
    form = FeedFilterForm(request.GET)
    form.is_valid()
    tz = timezone.get_current_timezone()
    page = selectors.feed_week(
        viewer=actor_of(request), week=selected, filters=form.to_filters(), tz=tz
    )

    def acknowledgement(item: selectors.FeedItem) -> str:
        states = []
        for s in item.my_stakeholders:
            done = s.acknowledged_version == item.campaign.version
            state = _("acknowledged") if done else _("waiting")
            states.append(f"{s.team.name}: {state}")
        return "; ".join(states)

    header = [
        _("Launch date"),
        _("Title"),
        _("Channel"),
        _("Status"),
        _("Audience"),
        _("Estimated recipients"),
        _("Owner"),
        _("Owner e-mail"),
        _("My team's acknowledgement"),
    ]
    rows = (
        (
            timezone.localtime(item.campaign.launch_at, tz),
            item.campaign.title,
            item.campaign.get_channel_display(),
            item.campaign.get_status_display(),
            item.campaign.audience,
            item.campaign.estimated_recipients,
            item.campaign.owner.display_name,
            item.campaign.owner.email,
            acknowledgement(item),
        )
        for item in page.items
    )
    return table_download(
        export_format, f"passerelle-{selected}", header, rows, sheet_title=str(selected)
    )


def _feed_item_response(
    request: AuthenticatedHttpRequest, pk: int, **extra: object
) -> HttpResponse:
    item = selectors.feed_item(
        viewer=actor_of(request), campaign_id=pk, tz=timezone.get_current_timezone()
    )
    context = {"item": item, "next_url": request.POST.get("next", ""), "item_error": ""}
    context.update(extra)
    return render(request, "feed/partials/item.html", context)


@require_POST
def feed_acknowledge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """The feed's inline Acknowledge button: the item comes back re-rendered for htmx,
    a plain POST goes back to the feed with a message."""
    form = AcknowledgeForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("This acknowledgement could not be read; reload the page and try again.")
    else:
        try:
            result = services.campaign_acknowledge(
                actor=request.user,
                campaign_id=pk,
                version=form.cleaned_data["version"],
                team_id=form.cleaned_data.get("team"),
            )
        except DomainError as domain_error:
            error = domain_error.message
        else:
            if not wants_fragment(request):
                show_acknowledgement(request, result)
    if wants_fragment(request):
        return _feed_item_response(request, pk, item_error=error)
    if error:
        messages.error(request, error)
    return HttpResponseRedirect(safe_next(request, reverse("feed:this_week")))


@require_GET
@reads_from_replica
def feed_item_body(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The talking points of one feed item, loaded when the reader opens them."""
    campaign = selectors.visible_campaigns(actor_of(request)).filter(pk=pk).first()
    if campaign is None:
        raise Http404(_("This campaign does not exist."))
    return render(request, "feed/partials/body.html", {"campaign": campaign})
