"""Acknowledging a campaign: from its page, from the e-mail's link, and withdrawing."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as accounts_selectors
from campaigns import selectors, services
from campaigns.forms import AcknowledgeForm
from core.errors import DomainError, NotFound
from core.http import AuthenticatedHttpRequest, actor_of, run_action, safe_next, show_refusal
from core.when import datetime_short
from notifications.tokens import AckToken, AckTokenError, ack_token_make, ack_token_read
from teams.roles import Actor


def show_acknowledgement(
    request: AuthenticatedHttpRequest, result: services.AcknowledgementResult
) -> None:
    if result.was_new:
        messages.success(request, result.message())
    else:
        messages.info(request, result.message())


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


@require_GET
def acknowledge_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Where a Microsoft Teams card's Acknowledge button leads (its incoming webhooks
    cannot receive clicks): after sign-in, the one-tap page of the signed-in person, for
    the current version and their teams; its button acknowledges, as from the e-mail."""
    viewer = actor_of(request)
    campaign = selectors.campaign_live(viewer=viewer, campaign_id=pk)
    token = ack_token_make(
        user_id=request.user.pk,
        campaign_id=campaign.pk,
        version=campaign.version,
        team_ids=[
            t.stakeholder.team_id for t in selectors.my_teams(campaign=campaign, viewer=viewer)
        ],
    )
    return HttpResponseRedirect(reverse("campaigns:acknowledge_link", args=[token]))


@require_POST
def reminders_snooze(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Hold the person's reminders about this campaign (from its page, the inbox)."""
    page = reverse("campaigns:detail", args=[pk])
    try:
        snoozed = services.reminders_snooze(
            actor=request.user, campaign_id=pk, choice=request.POST.get("choice", "")
        )
    except DomainError as error:
        show_refusal(request, error)
    else:
        when = datetime_short(snoozed.until)
        messages.success(
            request,
            _("No reminder about this campaign until %(when)s, your team's due date.")
            % {"when": when}
            if snoozed.capped
            else _("No reminder about this campaign until %(when)s.") % {"when": when},
        )
    return HttpResponseRedirect(safe_next(request, page))


@require_POST
def reminders_snooze_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    services.reminders_snooze_cancel(actor=request.user, campaign_id=pk)
    messages.success(request, _("You will be reminded as usual."))
    return HttpResponseRedirect(safe_next(request, reverse("campaigns:detail", args=[pk])))


@require_POST
def team_not_ready(request: AuthenticatedHttpRequest, pk: int, team_id: int) -> HttpResponse:
    """A member says their team is not ready, with the reason (campaign page)."""
    return run_action(
        request,
        lambda: services.stakeholder_not_ready(
            actor=request.user,
            campaign_id=pk,
            team_id=team_id,
            reason=request.POST.get("reason", ""),
        ),
        success=_("Marketing was told your team is not ready. The campaign stays open."),
        redirect_to=reverse("campaigns:detail", args=[pk]),
    )


@require_POST
def team_not_ready_reply(request: AuthenticatedHttpRequest, pk: int, team_id: int) -> HttpResponse:
    """The owner (a co-editor, a manager) answers a team that is not ready."""
    return run_action(
        request,
        lambda: services.stakeholder_not_ready_reply(
            actor=request.user,
            campaign_id=pk,
            team_id=team_id,
            reply=request.POST.get("reply", ""),
        ),
        success=_("Your reply was sent to the team."),
        redirect_to=reverse("campaigns:detail", args=[pk]) + f"#objection-{team_id}",
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def acknowledge_link(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mail's one-tap Acknowledge link, with or without a session.

    The signed token names the person, the campaign and the version, and expires
    (notifications.tokens). GET and HEAD only show what would be acknowledged, for whom
    and for which teams (mail scanners prefetch links); the page's button POSTs, and only
    the POST acknowledges, once, marked "via the e-mail's link" on the timeline. Nothing
    else is open to the token: the campaign's page, its thread, posting, all need a
    sign-in. A link already used, expired, for an older version or for a closed campaign
    gets a page that says so and where to go instead."""
    try:
        claim = ack_token_read(token)
    except AckTokenError as error:
        return _link_refused(request, error.reason, campaign_id=_campaign_of(error.claim))
    person = accounts_selectors.person_for_link(user_id=claim.user_id)
    if person is None:
        return _link_refused(request, "no_person")
    if request.user.is_authenticated and request.user.pk != person.pk:
        return _link_refused(request, "other_user", status=403)
    viewer = Actor.of(person)
    try:
        campaign = selectors.campaign_live(viewer=viewer, campaign_id=claim.campaign_id)
    except NotFound:
        return _link_refused(request, "invalid")
    # The teams the link was sent for that the person is still in (all of their teams
    # for a link made before links named their teams).
    teams = [
        team
        for team in selectors.my_teams(campaign=campaign, viewer=viewer)
        if claim.team_ids is None or team.stakeholder.team_id in claim.team_ids
    ]
    context: dict[str, object] = {
        "campaign": campaign,
        "person": person,
        "teams": teams,
        "claim": claim,
        "signed_in": request.user.is_authenticated,
        "campaign_url": _sign_in_to(request, reverse("campaigns:detail", args=[campaign.pk])),
        "result": None,
        "error": "",
        "not_ready_said": "",
        "not_ready_error": "",
        "reason": "",
        "not_ready_max_length": services.NOT_READY_REASON_MAX_LENGTH,
    }
    # Spent once its person acknowledged that version, even if they withdrew since: a
    # forwarded or logged link must not acknowledge (and write notes) in their name again.
    spent = selectors.acknowledged_by_person(
        user_id=person.pk, campaign_id=campaign.pk, version=claim.version
    )
    if spent:
        context["used"] = True
        return render(request, "campaigns/ack_link.html", context)
    if not teams:
        context["error"] = _(
            "You are no longer in a team this link was sent for: there is nothing to "
            "acknowledge with it."
        )
        return render(request, "campaigns/ack_link.html", context)
    if request.method == "POST" and request.POST.get("answer") == "not_ready":
        reason = request.POST.get("reason", "")
        try:
            said = [
                services.stakeholder_not_ready(
                    actor=person,
                    campaign_id=claim.campaign_id,
                    team_id=team.stakeholder.team_id,
                    reason=reason,
                    via=services.VIA_EMAIL_LINK,
                )
                for team in teams
                if team.say_not_ready.allowed
            ]
        except DomainError as error:
            # Shown beside the form, with what they typed: nothing is lost.
            context["not_ready_error"] = error.message
            context["reason"] = reason
        else:
            if said:
                context["not_ready_said"] = ", ".join(s.team.name for s in said)
                return render(request, "campaigns/ack_link.html", context)
            context["error"] = _("Your team can no longer say it is not ready for this campaign.")
            return render(request, "campaigns/ack_link.html", context)
    elif request.method == "POST":
        try:
            result = services.campaign_acknowledge(
                actor=person,
                campaign_id=claim.campaign_id,
                version=claim.version,
                note=request.POST.get("note", ""),
                via=services.VIA_EMAIL_LINK,
                team_ids=[team.stakeholder.team_id for team in teams],
            )
        except DomainError as error:
            context["error"] = error.message
        else:
            context["result"] = result
            context["result_message"] = (
                result.message()
                if result.was_new or request.user.is_authenticated
                # Without a session, colleagues are not named.
                else _("Your team has already acknowledged this version.")
            )
        return render(request, "campaigns/ack_link.html", context)
    # Say why before the button is pressed: the POST would refuse it anyway.
    state = selectors.acknowledge_state(campaign=campaign, viewer=viewer)
    if campaign.version != claim.version and state.allowed:
        context["error"] = _(
            "This campaign changed since this e-mail (now version %(current)s). Sign in to "
            "read the new version before acknowledging it."
        ) % {"current": campaign.version}
    elif not any(team.offer_acknowledge for team in teams) and state.allowed:
        context["used"] = True
    elif not state.allowed:
        context["error"] = state.reason
    else:
        # What changed since the version they last acknowledged (or the previous one):
        # re-acknowledging a small change takes seconds.
        context["version_changes"] = selectors.changes_for_reader(campaign=campaign, viewer=viewer)
        context["team_names"] = ", ".join(
            team.stakeholder.team.name for team in teams if team.offer_acknowledge
        )
        context["may_say_not_ready"] = any(team.say_not_ready.allowed for team in teams)
    return render(request, "campaigns/ack_link.html", context)


def _campaign_of(claim: AckToken | None) -> int | None:
    return claim.campaign_id if claim is not None else None


def _sign_in_to(request: HttpRequest, path: str) -> str:
    """`path`, through the sign-in page when there is no session (SSO first there)."""
    if request.user.is_authenticated:
        return path
    return f"{reverse('account_login')}?{urlencode({'next': path})}"


def _link_refused(
    request: HttpRequest, reason: str, *, campaign_id: int | None = None, status: int = 400
) -> HttpResponse:
    """The page of a link that acknowledges nothing: why, and where to go instead."""
    campaign_path = reverse("campaigns:detail", args=[campaign_id]) if campaign_id else None
    context = {
        "reason": reason,
        "campaign_url": _sign_in_to(request, campaign_path) if campaign_path else "",
        "inbox_url": _sign_in_to(request, reverse("notifications:inbox")),
    }
    return render(request, "campaigns/ack_link_error.html", context, status=status)
