from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from core import pages
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest
from notifications import selectors, services, subscriptions
from notifications.messages import (
    ACKNOWLEDGEABLE,
    SUBJECT_SAYS_IT_ALL,
    absolute_url,
    describe,
    pending_people,
)
from notifications.models import Channel, Kind
from notifications.services import MANDATORY
from notifications.subjects import subject_states, waiting_questions
from notifications.tokens import WEEK_AHEAD, AckTokenError, unsubscribe_token_read


@vary_on_headers("HX-Request")
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    return pages.kept_response(
        request,
        view="notifications:inbox",
        stamp_query=lambda: selectors.inbox_stamp_query(user=request.user),
        render=lambda: _inbox_page(request),
    )


def _inbox_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = selectors.inbox(user=request.user, cursor=request.GET.get("before", ""))
    tz_name = request.user.time_zone
    notices = page.notices
    pages.shows_campaigns(request, {n.campaign_id for n in notices})
    states = subject_states(user=request.user, campaign_ids={n.campaign_id for n in notices})
    items = [
        {
            "notification": n,
            "message": describe(n, tz_name=tz_name),
            "short": n.kind in SUBJECT_SAYS_IT_ALL,
            "acknowledgeable": n.kind in ACKNOWLEDGEABLE,
            "subject": states.get(n.campaign_id),
            "earlier": [
                {"notification": e, "message": describe(e, tz_name=tz_name)}
                for e in page.earlier.get(n.pk, [])
            ],
            "more_earlier": max(n.earlier_count - len(page.earlier.get(n.pk, [])), 0),
            "pending_people": pending_people(n.payload),
        }
        for n in notices
    ]
    template = (
        "notifications/inbox.html#items" if wants_fragment(request) else "notifications/inbox.html"
    )
    # The owner's questions waiting for an answer, above the notices (first page only).
    # Kept pages record a campaign's revision before its data: read the list again once
    # the revisions of its campaigns are recorded.
    questions = [] if request.GET.get("before") else waiting_questions(user_id=request.user.pk)
    if questions:
        pages.shows_campaigns(request, {q.campaign_id for q in questions})
        questions = waiting_questions(user_id=request.user.pk)
    return render(request, template, {"page": page, "items": items, "questions": questions})


def unread_badge(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The header's unread counter, polled by htmx."""
    return render(
        request,
        "partials/unread_badge.html",
        {
            "unread_count": selectors.unread_count(user=request.user),
            "unread_shown_up_to": selectors.UNREAD_SHOWN_UP_TO,
        },
    )


@require_POST
def mark_read(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponseBase:
    services.inbox_mark_read(user=request.user, notification_id=pk)
    if wants_fragment(request):
        # The header badge listens for this event and refreshes itself.
        return HttpResponse(headers={"HX-Trigger": "inbox-changed"})
    return redirect("notifications:inbox")


@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        enabled = {
            (kind, channel)
            for kind in Kind.values
            for channel in (Channel.EMAIL, Channel.IN_APP)
            if request.POST.get(f"{kind}__{channel}") == "on"
        }
        # The digest box as the person left it, compared with how the page showed it: an
        # untouched box keeps the stored choice or, without one, the default.
        digest = request.POST.get("daily_digest") == "on"
        digest_shown = request.POST.get("daily_digest_shown")
        services.preferences_save(
            user=request.user,
            enabled=enabled,
            daily_digest=None if digest_shown == ("on" if digest else "off") else digest,
            weekly_preview=request.POST.get("weekly_preview") == "on",
        )
        messages.success(request, _("Your notification preferences were saved."))
        return redirect("notifications:preferences")
    matrix = selectors.preferences_matrix(user=request.user)
    rows = [
        {
            "kind": kind,
            "label": label,
            "cells": [
                {
                    "name": f"{kind}__{channel}",
                    "channel": channel,
                    "checked": matrix[(kind, channel)],
                    "locked": (kind, channel) in MANDATORY,
                }
                for channel in (Channel.EMAIL, Channel.IN_APP)
            ],
        }
        for kind, label in Kind.choices
    ]
    return render(
        request,
        "notifications/preferences.html",
        {
            "rows": rows,
            "daily_digest": selectors.wants_daily_digest(user=request.user),
            "weekly_preview": selectors.wants_weekly_preview(user=request.user),
            **_subscription_addresses(request),
        },
    )


# --- subscriptions: secret calendar and feed addresses ----------------------------------


def _subscription_addresses(request: AuthenticatedHttpRequest) -> dict[str, str]:
    """The person's calendar (.ics) and feed (Atom) addresses, for the preferences page;
    empty until they ask for them (a GET writes nothing, so no token row is made here)."""
    found = subscriptions.subscription_token_find(user=request.user)
    if found is None:
        return {
            "subscription_ical_url": "",
            "subscription_atom_url": "",
            "subscription_webcal_url": "",
        }
    ical_url = absolute_url(reverse("subscriptions:ical", args=[found.token]))
    return {
        "subscription_ical_url": ical_url,
        # webcal:// opens the system's calendar app on a subscription (Apple Calendar,
        # Outlook for Windows); the same address over http(s) underneath.
        "subscription_webcal_url": "webcal://" + ical_url.split("://", 1)[1],
        "subscription_atom_url": absolute_url(reverse("subscriptions:atom", args=[found.token])),
    }


@require_POST
def subscriptions_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    # Idempotent: a second click (or a stale page) shows the same addresses, never new ones.
    subscriptions.subscription_token_get_or_create(user=request.user)
    return redirect(reverse("notifications:preferences") + "#subscriptions")


@require_POST
def subscriptions_regenerate(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    subscriptions.subscription_token_regenerate(user=request.user)
    messages.success(
        request,
        _("New addresses were created. The old addresses stop working."),
    )
    return redirect(reverse("notifications:preferences") + "#subscriptions")


# --- one-click unsubscribe (RFC 8058) -------------------------------------------------------


def _topic_label(topic: str) -> str:
    if topic == WEEK_AHEAD:
        return _("Monday e-mail about the week ahead")
    return str(Kind(topic).label) if topic in Kind.values else topic


@login_not_required
@csrf_exempt  # the mail provider's POST carries no CSRF token; the signed address is the key
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page that says what the link switches off, with a button; it changes
    nothing (mail scanners fetch links). POST, from that button or from the mail client's
    one-click "Unsubscribe" (body `List-Unsubscribe=One-Click`): switch that kind of
    e-mail off for the person the link was sent to. No login either way."""
    try:
        claim = unsubscribe_token_read(token)
    except AckTokenError:
        claim = None
    person = None if claim is None else selectors.active_person(user_id=claim.user_id)
    language = person.language if person is not None else translation.get_language()
    with translation.override(language):
        context: dict[str, object] = {"error": "", "done": False, "changed": False}
        status = 200
        if claim is None or person is None:
            context["error"] = _("This unsubscribe link does not work. It may have been cut.")
            status = 400 if claim is None else 410
        elif not services.email_unsubscribe_possible(topic=claim.topic):
            context["error"] = _("These e-mails cannot be switched off.")
            status = 400
        else:
            context["topic"] = _topic_label(claim.topic)
            if request.method == "POST":
                try:
                    context["changed"] = services.email_unsubscribe(
                        user_id=claim.user_id, topic=claim.topic
                    )
                    context["done"] = True
                except DomainError as error:
                    context["error"] = error.message
                    status = 400
        response = render(request, "notifications/unsubscribe.html", context, status=status)
    # The address is a key: keep it out of search engines and of the Referer.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
