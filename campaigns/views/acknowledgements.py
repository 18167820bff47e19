"""Acknowledging a campaign: from its page, from the e-mail's link, and withdrawing."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from campaigns import selectors, services
from campaigns.forms import AcknowledgeForm
from core.errors import DomainError
from core.http import AuthenticatedHttpRequest, actor_of, run_action, safe_next, show_refusal
from core.when import datetime_short
from notifications.tokens import AckTokenError, ack_token_read


def acknowledgement_message(result: services.AcknowledgementResult) -> str:
    """ "Acknowledged for Conseillers clientèle", or who already did it and when."""
    if result.was_new:
        return _("Acknowledged for %(teams)s. Thank you.") % {
            "teams": ", ".join(t.team.name for t in result.teams if t.newly_acknowledged)
        }
    first = result.teams[0]
    when = datetime_short(first.acknowledged_at) if first.acknowledged_at else ""
    who = first.acknowledged_by.display_name if first.acknowledged_by else _("someone")
    return _("Already acknowledged by %(who)s on %(when)s.") % {"who": who, "when": when}


def show_acknowledgement(
    request: AuthenticatedHttpRequest, result: services.AcknowledgementResult
) -> None:
    if result.was_new:
        messages.success(request, acknowledgement_message(result))
    else:
        messages.info(request, acknowledgement_message(result))


@require_POST
def campaign_acknowledge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    page = reverse("campaigns:detail", args=[pk])
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("This acknowledgement could not be read; reload the page and try again.")
        )
        return HttpResponseRedirect(page)
    try:
        result = services.campaign_acknowledge(
            actor=request.user,
            campaign_id=pk,
            version=form.cleaned_data["version"],
            team_id=form.cleaned_data.get("team"),
            note=form.cleaned_data.get("note", ""),
        )
    except DomainError as error:
        show_refusal(request, error)
    else:
        show_acknowledgement(request, result)
    return HttpResponseRedirect(safe_next(request, page))


@require_POST
def campaign_acknowledgement_revoke(
    request: AuthenticatedHttpRequest, pk: int, team_id: int
) -> HttpResponse:
    return run_action(
        request,
        lambda: services.campaign_acknowledgement_revoke(
            actor=request.user, campaign_id=pk, team_id=team_id
        ),
        success=_("Your acknowledgement was withdrawn."),
        redirect_to=reverse("campaigns:detail", args=[pk]),
    )


@require_http_methods(["GET", "POST"])
def acknowledge_link(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """The e-mail's Acknowledge link. GET only shows a confirmation page (mail scanners
    pre-fetch links); the button on it POSTs, and only the POST acknowledges."""
    try:
        claim = ack_token_read(token)
    except AckTokenError as error:
        return render(
            request, "campaigns/ack_link_error.html", {"reason": error.reason}, status=400
        )
    if claim.user_id != request.user.pk:
        return render(
            request, "campaigns/ack_link_error.html", {"reason": "other_user"}, status=403
        )
    viewer = actor_of(request)
    campaign = selectors.campaign_live(viewer=viewer, campaign_id=claim.campaign_id)
    context: dict[str, object] = {
        "campaign": campaign,
        "token": token,
        "claim": claim,
        "result": None,
        "error": "",
        # What changed since the version the reader last acknowledged (or the previous
        # one): re-acknowledging a small change takes seconds.
        "version_changes": (
            selectors.changes_for_reader(campaign=campaign, viewer=viewer)
            if campaign.version == claim.version
            else None
        ),
    }
    if request.method == "GET":
        # Say so before the button is pressed: the POST would refuse it anyway.
        state = selectors.acknowledge_state(campaign=campaign, viewer=viewer)
        if not state.allowed:
            context["error"] = state.reason
        elif campaign.version != claim.version:
            context["error"] = _(
                "This campaign changed since this e-mail (now version %(current)s). "
                "Read the new version before acknowledging it."
            ) % {"current": campaign.version}
    else:
        try:
            result = services.campaign_acknowledge(
                actor=request.user,
                campaign_id=claim.campaign_id,
                version=claim.version,
                note=request.POST.get("note", ""),
            )
        except DomainError as error:
            context["error"] = error.message
        else:
            context["result"] = result
            context["result_message"] = acknowledgement_message(result)
    return render(request, "campaigns/ack_link.html", context)
