"""The buttons that move a campaign through its life, and "Duplicate"."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns import services
from campaigns.forms import AnnounceForm
from core.errors import DomainError
from core.http import AuthenticatedHttpRequest, parse_id, run_action, show_refusal


def _page(pk: int) -> str:
    return reverse("campaigns:detail", args=[pk])


@require_POST
def campaign_announce(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = AnnounceForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))  # an ErrorList yields text
        return HttpResponseRedirect(_page(pk))
    reason = form.cleaned_data["already_sent_reason"] if form.cleaned_data["already_sent"] else ""
    return run_action(
        request,
        lambda: services.campaign_announce(
            actor=request.user, campaign_id=pk, already_sent_reason=reason
        ),
        success=_("Announced. The stakeholder teams are being notified."),
        redirect_to=_page(pk),
    )


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
