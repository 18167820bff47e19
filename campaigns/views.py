"""Campaign pages. Views parse input, call one service, and render; rules live in services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns import selectors, services
from campaigns.forms import (
    AcknowledgeForm,
    AnnounceForm,
    CampaignForm,
    OptionalReasonForm,
    ReasonForm,
)
from campaigns.models import Campaign
from core.errors import DomainError, PermissionRefused
from core.htmx import wants_fragment
from notifications.selectors import failed_for_campaign
from notifications.tokens import AckTokenError, ack_token_read

PAGE_SIZE = 25


@vary_on_headers("HX-Request")  # one URL, two bodies: caches must not mix page and rows
def campaign_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in Campaign.Status.values:
        status = None
    page = Paginator(selectors.campaign_list(status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    template = "campaigns/list.html#rows" if wants_fragment(request) else "campaigns/list.html"
    return render(
        request,
        template,
        {"page": page, "status": status or "", "statuses": Campaign.Status.choices},
    )


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "campaigns/detail.html", _detail_context(request, pk))


def _detail_context(request: HttpRequest, pk: int, **extra: object) -> dict[str, object]:
    try:
        campaign = selectors.campaign_detail(campaign_id=pk)
    except Campaign.DoesNotExist:
        raise Http404(_("This campaign does not exist.")) from None
    my_stakeholders = selectors.stakeholders_for_user(campaign=campaign, user=request.user)
    context: dict[str, object] = {
        "campaign": campaign,
        "stakeholders": list(campaign.stakeholders.all()),
        "actions": selectors.campaign_actions(campaign=campaign, user=request.user),
        "my_stakeholders": [
            {
                "stakeholder": s,
                "mine": selectors.user_acknowledged(
                    stakeholder=s, user=request.user, version=campaign.version
                ),
            }
            for s in my_stakeholders
        ],
        "announce_form": AnnounceForm(),
        "override_form": ReasonForm(),
        "cancel_form": OptionalReasonForm(),
        "ack_form": AcknowledgeForm(initial={"version": campaign.version}),
        "now_value": timezone.now(),
        "failed_notifications": (
            list(failed_for_campaign(campaign_id=campaign.pk))
            if request.user.pk == campaign.owner_id
            or request.user.has_perm("campaigns.change_campaign")
            else []
        ),
    }
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("campaigns.add_campaign"):
        raise PermissionDenied(_("Only marketers can create campaigns."))
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, data=form.to_input())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Draft saved. Announce it when it is ready."))
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": None})


@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied(_("Only marketers can edit campaigns."))
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        version = campaign.version
        try:
            campaign = services.campaign_update(
                actor=request.user, campaign_id=pk, data=form.to_input()
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if campaign.version != version:
                messages.warning(
                    request,
                    _(
                        "Material change: now version %(version)s. "
                        "Teams were asked to acknowledge again."
                    )
                    % {"version": campaign.version},
                )
            else:
                messages.success(request, _("Changes saved."))
            return redirect("campaigns:detail", pk=pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": campaign})


def _run(request: HttpRequest, pk: int, call: object, success: str) -> HttpResponseBase:
    """Run one state-changing service; refusals become a 403 or a message, never a 500."""
    try:
        call()  # type: ignore[operator]
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("campaigns:detail", pk=pk)


@require_POST
def campaign_announce(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = AnnounceForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("campaigns:detail", pk=pk)
    reason = form.cleaned_data["already_sent_reason"] if form.cleaned_data["already_sent"] else ""
    return _run(
        request,
        pk,
        lambda: services.campaign_announce(
            actor=request.user, campaign_id=pk, already_sent_reason=reason
        ),
        _("Announced. The stakeholder teams are being notified."),
    )


@require_POST
def campaign_mark_done(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(
        request,
        pk,
        lambda: services.campaign_mark_done(actor=request.user, campaign_id=pk),
        _("Campaign marked as done."),
    )


@require_POST
def campaign_override_done(request: HttpRequest, pk: int) -> HttpResponseBase:
    reason = request.POST.get("reason", "")
    return _run(
        request,
        pk,
        lambda: services.campaign_override_done(actor=request.user, campaign_id=pk, reason=reason),
        _("Campaign marked as done by override. The reason is on the timeline."),
    )


@require_POST
def campaign_cancel(request: HttpRequest, pk: int) -> HttpResponseBase:
    reason = request.POST.get("reason", "")
    return _run(
        request,
        pk,
        lambda: services.campaign_cancel(actor=request.user, campaign_id=pk, reason=reason),
        _("Campaign cancelled."),
    )


@require_POST
def campaign_acknowledge(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("This acknowledgement could not be read; reload the page and try again.")
        )
        return redirect("campaigns:detail", pk=pk)
    try:
        result = services.campaign_acknowledge(
            actor=request.user,
            campaign_id=pk,
            version=form.cleaned_data["version"],
            team_id=form.cleaned_data.get("team"),
            note=form.cleaned_data.get("note", ""),
        )
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _acknowledgement_message(result))
    if request.POST.get("next"):
        return redirect(_safe_next(request))
    return redirect("campaigns:detail", pk=pk)


@require_POST
def campaign_acknowledgement_revoke(
    request: HttpRequest, pk: int, team_id: int
) -> HttpResponseBase:
    return _run(
        request,
        pk,
        lambda: services.campaign_acknowledgement_revoke(
            actor=request.user, campaign_id=pk, team_id=team_id
        ),
        _("Your acknowledgement was withdrawn."),
    )


def _acknowledgement_message(result: services.AcknowledgementResult) -> str:
    if result.was_new:
        return _("Acknowledged for %(teams)s. Thank you.") % {
            "teams": ", ".join(t.team.name for t in result.teams if t.newly_acknowledged)
        }
    first = result.teams[0]
    when = (
        formats.date_format(timezone.localtime(first.acknowledged_at), "DATETIME_FORMAT")
        if first.acknowledged_at
        else ""
    )
    who = first.acknowledged_by.display_name if first.acknowledged_by else _("someone")
    return _("Already acknowledged by %(who)s on %(when)s.") % {"who": who, "when": when}


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def acknowledge_link(request: HttpRequest, token: str) -> HttpResponse:
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
    campaign = get_object_or_404(Campaign.objects.select_related("owner"), pk=claim.campaign_id)
    context: dict[str, object] = {
        "campaign": campaign,
        "token": token,
        "claim": claim,
        "result": None,
        "error": None,
    }
    if request.method == "GET" and (
        campaign.status != Campaign.Status.ANNOUNCED or campaign.version != claim.version
    ):
        # Say so before the button is pressed: the POST would refuse it anyway.
        context["error"] = DomainError(
            _(
                "This campaign changed since this e-mail (now version %(current)s). "
                "Read the new version before acknowledging it."
            )
            % {"current": campaign.version}
            if campaign.status == Campaign.Status.ANNOUNCED
            else _("This campaign is %(status)s: there is nothing to acknowledge.")
            % {"status": campaign.get_status_display().lower()}
        )
    if request.method == "POST":
        try:
            context["result"] = services.campaign_acknowledge(
                actor=request.user,
                campaign_id=claim.campaign_id,
                version=claim.version,
                note=request.POST.get("note", ""),
            )
            context["result_message"] = _acknowledgement_message(context["result"])  # type: ignore[arg-type]
        except DomainError as error:
            context["error"] = error
    return render(request, "campaigns/ack_link.html", context)
