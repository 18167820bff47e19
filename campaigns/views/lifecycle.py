"""The buttons that move a campaign through its life, and "Duplicate"."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors, services
from campaigns.forms import AnnounceForm
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, actor_of, parse_id, run_action, show_refusal


def _page(pk: int) -> str:
    return reverse("campaigns:detail", args=[pk])


@require_GET
def campaign_announce_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Before announcing: who will be told, on which channels, by when each team must
    acknowledge, and the campaigns it crowds. A page, or the panel alone for htmx; the
    "already went out" answer typed beside the Announce button comes along in the query."""
    form = AnnounceForm(initial=request.GET.dict())
    return _confirm_page(request, pk, form)


def _confirm_page(
    request: AuthenticatedHttpRequest, pk: int, form: AnnounceForm, *, status: int = 200
) -> HttpResponse:
    preview = selectors.announce_preview(viewer=actor_of(request), campaign_id=pk)
    template = "campaigns/announce_confirm.html"
    if wants_fragment(request):
        template += "#panel"
    context = {"preview": preview, "announce_form": form}
    return render(request, template, context, status=status)


@require_POST
def campaign_announce(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Announce. From the confirmation page (`confirmed`), a refused reason comes back on
    that page, as typed; from elsewhere, as a message on the campaign page. Posting twice
    announces once: the service refuses the second as "already announced"."""
    form = AnnounceForm(request.POST)
    confirmed = "confirmed" in request.POST
    if not form.is_valid():
        if confirmed:
            return _confirm_page(request, pk, form, status=400)
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))  # an ErrorList yields text
        return HttpResponseRedirect(_page(pk))
    reason = form.cleaned_data["already_sent_reason"] if form.cleaned_data["already_sent"] else ""
    try:
        services.campaign_announce(actor=request.user, campaign_id=pk, already_sent_reason=reason)
    except DomainError as error:
        if confirmed and error.field_errors:
            form.add_domain_error(error)
            return _confirm_page(request, pk, form, status=400)
        show_refusal(request, error)
    else:
        messages.success(request, _("Announced. The stakeholder teams are being notified."))
    return HttpResponseRedirect(_page(pk))


@require_POST
def campaign_mark_done(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return run_action(
        request,
        lambda: services.campaign_mark_done(actor=request.user, campaign_id=pk),
        success=_("Campaign marked as done."),
        redirect_to=_page(pk),
    )


@require_POST
def campaign_override_done(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return run_action(
        request,
        lambda: services.campaign_override_done(actor=request.user, campaign_id=pk, reason=reason),
        success=_("Campaign marked as done by override. The reason is on the timeline."),
        redirect_to=_page(pk),
    )


@require_POST
def campaign_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return run_action(
        request,
        lambda: services.campaign_cancel(actor=request.user, campaign_id=pk, reason=reason),
        success=_("Campaign cancelled."),
        redirect_to=_page(pk),
    )


@require_POST
def campaign_deliveries_retry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """ "Send again": every failed message of the campaign, or the one named."""
    notification_id = parse_id(request.POST.get("notification", ""))
    if "notification" in request.POST and notification_id is None:
        # One row was meant: an unreadable id must not become "all of them".
        messages.error(request, _("That message could not be found; nothing was sent again."))
        return HttpResponseRedirect(_page(pk))
    try:
        count = services.campaign_deliveries_retry(
            actor=request.user, campaign_id=pk, notification_id=notification_id
        )
    except DomainError as error:
        show_refusal(request, error)
    else:
        if not count:
            messages.info(
                request,
                _("Nothing to send again: those messages were already sent again or delivered."),
            )
            return HttpResponseRedirect(_page(pk))
        messages.success(
            request,
            ngettext(
                "%(count)s message is being sent again.",
                "%(count)s messages are being sent again.",
                count,
            )
            % {"count": count},
        )
    return HttpResponseRedirect(_page(pk))


@require_POST
def campaign_duplicate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    copy = services.campaign_duplicate(actor=request.user, campaign_id=pk)
    messages.success(
        request,
        _(
            "Copied as a new draft with the same content, KPI targets and teams. "
            "Set its dates, check it, then save."
        ),
    )
    return HttpResponseRedirect(reverse("campaigns:edit", args=[copy.pk]))
