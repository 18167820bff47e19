"""Campaign pages. Views parse input, call one service, and render; rules live in services."""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns import feed, selectors, services
from campaigns.calendar import Period, calendar_weeks
from campaigns.feed_forms import FeedFilterForm
from campaigns.filters import CalendarForm, CampaignFilterForm, ContactPressureForm
from campaigns.forms import (
    INLINE_FIELDS,
    AcknowledgeForm,
    AnnounceForm,
    AttachmentForm,
    CampaignForm,
    KpiFormSet,
    OptionalReasonForm,
    ReasonForm,
    kpi_rows_plus_one,
    teams_for_channel,
)
from campaigns.models import Attachment, Campaign, Feedback
from core.csv_export import csv_download
from core.errors import DomainError, PermissionRefused
from core.htmx import wants_fragment
from notifications.selectors import failed_for_campaign
from notifications.tokens import AckTokenError, ack_token_read

PAGE_SIZE = 25


@vary_on_headers("HX-Request")  # one URL, two bodies: caches must not mix page and rows
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = CampaignFilterForm(request.GET)
    form.is_valid()  # invalid fields are shown and ignored; the valid ones still filter
    page = selectors.campaign_list(
        filters=form.to_filters(user=request.user),
        cursor=request.GET.get("cursor", ""),
        page_size=PAGE_SIZE,
    )
    template = "campaigns/list.html#rows" if wants_fragment(request) else "campaigns/list.html"
    return render(request, template, {"form": form, "page": page})


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "campaigns/detail.html", _detail_context(request, pk))


def _detail_context(request: HttpRequest, pk: int, **extra: object) -> dict[str, object]:
    try:
        campaign = selectors.campaign_detail(campaign_id=pk)
    except Campaign.DoesNotExist:
        raise Http404(_("This campaign does not exist.")) from None
    tally = selectors.feedback_tally(campaign_id=pk)
    my_stakeholders = selectors.stakeholders_for_user(campaign=campaign, user=request.user)
    context = _panels_context(request, campaign, tally)
    context.update(
        {
            "my_stakeholders": [
                {
                    "stakeholder": s,
                    "mine": selectors.user_acknowledged(
                        stakeholder=s, user=request.user, version=campaign.version
                    ),
                }
                for s in my_stakeholders
            ],
            "ack_form": AcknowledgeForm(initial={"version": campaign.version}),
            "failed_notifications": (
                list(failed_for_campaign(campaign_id=campaign.pk))
                if request.user.pk == campaign.owner_id
                or request.user.has_perm("campaigns.change_campaign")
                else []
            ),
            "events": campaign.events.all(),
            "feedback": campaign.feedback.all(),
            "feedback_form": _feedback_form(),
            "feedback_tags": Feedback.Tag.choices,
            "feedback_posted": False,
            "results": _results_rows(campaign),
            "results_error": "",
            "results_saved": False,
        }
    )
    context.update(extra)
    return context


def _panels_context(
    request: HttpRequest, campaign: Campaign, tally: selectors.FeedbackTally
) -> dict[str, object]:
    """What the panels refreshed while the page is open need (see campaign_live)."""
    stakeholders = list(campaign.stakeholders.all())
    now = timezone.now()
    return {
        "campaign": campaign,
        "stakeholders": stakeholders,
        "actions": selectors.campaign_actions(campaign=campaign, user=request.user),
        "announce_form": AnnounceForm(),
        "override_form": ReasonForm(),
        "cancel_form": OptionalReasonForm(),
        "now_value": now,
        "progress": {
            "acknowledged": sum(
                1 for s in stakeholders if s.acknowledged_version == campaign.version
            ),
            "total": len(stakeholders),
        },
        "countdown": launch_countdown(campaign, now=now),
        "tally": tally,
        "live_state": selectors.campaign_live_state(campaign=campaign, tally=tally),
        "poll_seconds": settings.CAMPAIGN_PAGE_POLL_SECONDS,
    }


@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    _require_form_permission(request, None)
    form = _campaign_form(request, None)
    if request.method == "POST" and not form.quiet and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, data=form.to_input())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if request.POST.get("then") == "attachments":
                messages.success(request, _("Draft saved. Add its files below."))
                return redirect(reverse("campaigns:edit", args=[campaign.pk]) + "#attachments")
            messages.success(request, _("Draft saved. Announce it when it is ready."))
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/form.html", _form_context(request, form))


@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    _require_form_permission(request, campaign)
    form = _campaign_form(request, campaign)
    if request.method == "POST" and not form.quiet and form.is_valid():
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
    return render(request, "campaigns/form.html", _form_context(request, form))


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


# --- the campaign page: live panels, feedback thread, results ---------------------------


def launch_countdown(campaign: Campaign, *, now: datetime) -> str:
    """How far launch is ("launches in 3 days", "launched yesterday"): calendar days in the
    reader's time zone, hours or minutes on the day itself. Empty without a launch date or
    once cancelled."""
    if campaign.launch_at is None or campaign.status == Campaign.Status.CANCELLED:
        return ""
    launch = campaign.launch_at
    days = (timezone.localdate(launch) - timezone.localdate(now)).days
    if days == 1:
        return _("launches tomorrow")
    if days == -1:
        return _("launched yesterday")
    if days > 1:
        return ngettext("launches in %(count)d day", "launches in %(count)d days", days) % {
            "count": days
        }
    if days < -1:
        return ngettext("launched %(count)d day ago", "launched %(count)d days ago", -days) % {
            "count": -days
        }
    delta = launch - now
    minutes = round(abs(delta) / timedelta(minutes=1))
    if minutes < 1:
        return _("launching now")
    if minutes < 60:
        if delta > timedelta(0):
            text = ngettext(
                "launches in %(count)d minute", "launches in %(count)d minutes", minutes
            )
        else:
            text = ngettext(
                "launched %(count)d minute ago", "launched %(count)d minutes ago", minutes
            )
        return text % {"count": minutes}
    hours = round(minutes / 60)
    if delta > timedelta(0):
        text = ngettext("launches in %(count)d hour", "launches in %(count)d hours", hours)
    else:
        text = ngettext("launched %(count)d hour ago", "launched %(count)d hours ago", hours)
    return text % {"count": hours}


@require_GET
@never_cache
def campaign_live(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The panels that change while the campaign page is open (summary, reactions tally,
    next step, stakeholder teams, the feedback thread's messages, the timeline), polled by
    htmx and swapped out of band; a constant number of queries.

    The page sends the fingerprint of what it shows (`state`): when nothing changed the
    answer is an empty 204, so a half-typed reason is not wiped every few seconds. Once
    the campaign is no longer announced the answer is 286, htmx's "stop polling".
    """
    if not wants_fragment(request):
        return redirect("campaigns:detail", pk=pk)
    try:
        campaign = selectors.campaign_live(campaign_id=pk)
    except Campaign.DoesNotExist:
        raise Http404(_("This campaign does not exist.")) from None
    tally = selectors.feedback_tally(campaign_id=pk)
    announced = campaign.status == Campaign.Status.ANNOUNCED
    state = selectors.campaign_live_state(campaign=campaign, tally=tally)
    if announced and request.GET.get("state") == state:
        return HttpResponse(status=204)
    context = _panels_context(request, campaign, tally)
    # Lazy: read only when something changed and the panels are rendered.
    context["feedback"] = selectors.feedback_thread(campaign_id=pk)
    context["events"] = selectors.campaign_events(campaign_id=pk)
    context["changed_since_loaded"] = request.GET.get("v", str(campaign.version)) != str(
        campaign.version
    )
    response = render(request, "campaigns/partials/live.html", context)
    if not announced:
        response.status_code = 286
    return response


def _feedback_form(
    tag: str = Feedback.Tag.MESSAGE, body: str = "", error: DomainError | None = None
) -> dict[str, object]:
    """The thread's form, by hand: the service is the one place its rules live."""
    errors = error.field_errors if error else {}
    return {
        "tag": tag,
        "body": body,
        "errors": errors,
        "error": error.message if error and not errors else "",
        "max_length": services.FEEDBACK_MAX_LENGTH,
    }


@require_POST
def campaign_feedback_post(request: HttpRequest, pk: int) -> HttpResponseBase:
    tag = request.POST.get("tag", "")
    body = request.POST.get("body", "")
    try:
        services.feedback_post(actor=request.user, campaign_id=pk, tag=tag, body=body)
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        if error.code == "not_found":
            raise Http404(error.message) from error
        if not error.field_errors and not wants_fragment(request):
            # The thread is closed (draft, cancelled): nothing typed is worth keeping.
            messages.error(request, error.message)
            return redirect(reverse("campaigns:detail", args=[pk]) + "#feedback")
        context = _detail_context(request, pk, feedback_form=_feedback_form(tag, body, error))
        if wants_fragment(request):
            # htmx swaps only 2xx answers: the form comes back with its errors in place.
            return render(request, "campaigns/partials/feedback_response.html", context)
        return render(request, "campaigns/detail.html", context, status=400)
    if wants_fragment(request):
        context = _detail_context(request, pk, feedback_posted=True)
        return render(request, "campaigns/partials/feedback_response.html", context)
    messages.success(request, _("Your message was posted."))
    return redirect(reverse("campaigns:detail", args=[pk]) + "#feedback")


_KPI_FIELD = re.compile(r"kpi_(\d+)")


def _results_rows(
    campaign: Campaign,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> list[dict[str, object]]:
    """Target against actual for each KPI, with what was typed and its error on a refusal."""
    rows = []
    for result in selectors.kpi_results(campaign=campaign):
        name = f"kpi_{result.kpi.pk}"
        actual = result.kpi.actual
        rows.append(
            {
                "result": result,
                "name": name,
                "value": (values or {}).get(name, "" if actual is None else str(actual)),
                "errors": (errors or {}).get(name, []),
            }
        )
    return rows


@require_POST
def campaign_results_record(request: HttpRequest, pk: int) -> HttpResponseBase:
    actuals: dict[int, int | None] = {}
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in request.POST.items():
        if not (match := _KPI_FIELD.fullmatch(key)):
            continue
        values[key] = raw.strip()
        try:
            actuals[int(match[1])] = int(values[key]) if values[key] else None
        except ValueError:
            errors[key] = [_("Enter a whole number.")]
    try:
        if errors:
            raise DomainError.for_fields(errors)
        services.campaign_record_results(actor=request.user, campaign_id=pk, actuals=actuals)
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        if error.code == "not_found":
            raise Http404(error.message) from error
        context = _detail_context(
            request, pk, results_error="" if error.field_errors else error.message
        )
        campaign = context["campaign"]
        assert isinstance(campaign, Campaign)
        context["results"] = _results_rows(campaign, values, error.field_errors)
        if wants_fragment(request):
            return render(request, "campaigns/partials/results_response.html", context)
        return render(request, "campaigns/detail.html", context, status=400)
    if wants_fragment(request):
        context = _detail_context(request, pk, results_saved=True)
        return render(request, "campaigns/partials/results_response.html", context)
    messages.success(request, _("Results saved."))
    return redirect(reverse("campaigns:detail", args=[pk]) + "#results")


# --- the marketer workspace: calendar and contact pressure ---------------------------------


@require_GET
def campaign_calendar(request: HttpRequest) -> HttpResponse:
    form = CalendarForm(request.GET)
    today = timezone.localdate()
    period = form.period(today=today)
    start, end = period.bounds()
    weeks = calendar_weeks(period, selectors.campaign_launches(start=start, end=end), today=today)
    return render(
        request,
        "campaigns/calendar.html",
        {
            "form": form,
            "period": period,
            "weeks": weeks,
            "days": [day for week in weeks for day in week],
            "launch_count": sum(len(d.launches) for week in weeks for d in week if d.in_period),
            "this_month": Period.month_of(today),
            "this_week": Period.week_of(today),
            "month_view": period.as_month(),
            "week_view": period.as_week(today),
        },
    )


@require_GET
def campaign_contact_pressure(request: HttpRequest) -> HttpResponse:
    """The contact-pressure warning for the campaign form (an htmx fragment): other
    campaigns reaching an overlapping audience within three days. Only a warning: the
    form saves regardless, so unreadable input simply shows nothing."""
    form = ContactPressureForm(request.GET)
    clashes: list[Campaign] = []
    if form.is_valid() and form.cleaned_data["launch_at"] and form.cleaned_data["audience"]:
        clashes = selectors.campaigns_with_contact_pressure(
            audience=form.cleaned_data["audience"],
            launch_at=form.cleaned_data["launch_at"],
            exclude_id=form.cleaned_data["campaign"],
        )
    return render(request, "campaigns/partials/contact_pressure.html", {"clashes": clashes})


# --- the campaign form: inline checks, preview, channel defaults, KPI rows ---------------


def _require_form_permission(request: HttpRequest, campaign: Campaign | None) -> None:
    if campaign is None and not request.user.has_perm("campaigns.add_campaign"):
        raise PermissionDenied(_("Only marketers can create campaigns."))
    if campaign is not None and not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied(_("Only marketers can edit campaigns."))


def _form_campaign(request: HttpRequest, pk: int | None) -> Campaign | None:
    """The campaign a form endpoint works for (None on the new-campaign form), or 403/404."""
    campaign = get_object_or_404(Campaign, pk=pk) if pk is not None else None
    _require_form_permission(request, campaign)
    return campaign


def _campaign_form(request: HttpRequest, campaign: Campaign | None) -> CampaignForm:
    """The form as typed. "Preview" and "Add a KPI" (the buttons that work without
    JavaScript) show it again, unchecked and unsaved."""
    if request.method != "POST":
        return CampaignForm(instance=campaign)
    data = request.POST
    if "add_kpi" in data:
        data = kpi_rows_plus_one(data)
    rerender = "preview" in data or "add_kpi" in data
    return CampaignForm(data, instance=campaign, quiet=rerender)


def _form_context(
    request: HttpRequest, form: CampaignForm, upload_form: AttachmentForm | None = None
) -> dict[str, object]:
    campaign = form.campaign
    preview = request.method == "POST" and "preview" in request.POST
    return {
        "form": form,
        "campaign": campaign,
        "show_preview": preview,
        "preview_body": (form["body"].value() or "") if preview else "",
        # Files change with the campaign: not once it is done or cancelled.
        "upload_form": (upload_form or AttachmentForm())
        if campaign and campaign.status in services.EDITABLE_STATUSES
        else None,
    }


@require_POST
def campaign_form_validate(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """One part of the campaign form, checked as the marketer leaves it (htmx posts the
    whole form). The answer is that part again, with its error or without one: the same
    rules as a submit, since both run CampaignForm (and through it the services' rules)."""
    campaign = _form_campaign(request, pk)
    name = request.GET.get("field", "")
    if name not in (*INLINE_FIELDS, "teams", "kpis"):
        return HttpResponseBadRequest(_("This field cannot be checked on its own."))
    form = CampaignForm(request.POST, instance=campaign)
    form.is_valid()
    if name == "teams":
        return render(request, "campaigns/form.html#teams_errors", {"form": form})
    if name == "kpis":
        return render(request, "campaigns/form.html#kpi_errors", {"form": form, "inline": True})
    return render(request, "campaigns/partials/form_field.html", {"field": form[name]})


@require_POST
def campaign_form_preview(request: HttpRequest) -> HttpResponse:
    """The body as the campaign page will show it: Markdown rendered, then sanitised."""
    if not (
        request.user.has_perm("campaigns.add_campaign")
        or request.user.has_perm("campaigns.change_campaign")
    ):
        raise PermissionDenied(_("Only marketers can write campaigns."))
    return render(
        request,
        "campaigns/form.html#preview",
        {"show_preview": True, "preview_body": request.POST.get("body", "")},
    )


@require_GET
def campaign_form_channel_teams(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The stakeholder teams once a channel is chosen: its default teams checked, the
    marketer's other choices kept (htmx swaps the fieldset; the channel field comes along
    out of band with its own error, if any)."""
    campaign = _form_campaign(request, pk)
    channel = request.GET.get("channel", "")
    checked = [
        int(v) for v in request.GET.getlist("teams") if v.isascii() and v.isdigit() and len(v) < 19
    ]
    team_ids = teams_for_channel(
        channel=channel,
        previous_channel=request.GET.get("defaults_channel", ""),
        checked=checked,
    )
    data = request.GET.copy()
    data.setlist("teams", [str(team_id) for team_id in team_ids])
    data["defaults_channel"] = channel
    form = CampaignForm(data, instance=campaign)
    defaults = set(selectors.channel_default_team_ids(channel)) if channel else set()
    return render(
        request,
        "campaigns/form.html#channel_changed",
        {
            "form": form,
            "channel_label": Campaign.Channel(channel).label
            if channel in Campaign.Channel.values
            else "",
            "default_team_names": [
                team.name for team in form.fields["teams"].queryset if team.pk in defaults
            ],
        },
    )


@require_GET
def campaign_form_kpi_row(request: HttpRequest) -> HttpResponse:
    """One more empty KPI row for "Add a KPI" (htmx), with the formset's row count."""
    if not (
        request.user.has_perm("campaigns.add_campaign")
        or request.user.has_perm("campaigns.change_campaign")
    ):
        raise PermissionDenied(_("Only marketers can write campaigns."))
    formset = KpiFormSet(prefix="kpis")
    try:
        index = int(request.GET.get(f"{formset.prefix}-TOTAL_FORMS", ""))
    except ValueError:
        return HttpResponseBadRequest(_("The KPI rows could not be read; reload the page."))
    if not 0 <= index < formset.max_num:
        return HttpResponse(status=204)  # htmx swaps nothing: the row limit is reached
    return render(
        request,
        "campaigns/form.html#kpi_row_added",
        {"kpi_form": formset.new_row(index), "total_forms": index + 1},
    )


# --- attachments -------------------------------------------------------------------------


def _attachments_panel(
    request: HttpRequest,
    campaign: Campaign,
    *,
    upload_form: AttachmentForm | None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "campaigns/partials/attachments.html",
        {"campaign": campaign, "upload_form": upload_form, "attachment_notice": notice},
        status=status,
    )


@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied(_("Only marketers can add attachments."))
    upload_form = AttachmentForm(request.POST, request.FILES)
    if upload_form.is_valid():
        try:
            attachment = services.attachment_add(
                actor=request.user,
                campaign_id=pk,
                uploaded_file=upload_form.cleaned_data["file"],
            )
        except PermissionRefused as error:
            raise PermissionDenied(error.message) from error
        except DomainError as error:
            if not error.field_errors and not wants_fragment(request):
                # The campaign refuses (it is closed): say so on its page.
                messages.error(request, error.message)
                return redirect("campaigns:detail", pk=pk)
            upload_form.add_domain_error(error)
        else:
            notice = _("“%(name)s” attached.") % {"name": attachment.original_name}
            if wants_fragment(request):
                return _attachments_panel(
                    request, campaign, upload_form=AttachmentForm(), notice=notice
                )
            messages.success(request, notice)
            return redirect(reverse("campaigns:edit", args=[pk]) + "#attachments")
    if wants_fragment(request):
        # htmx swaps only 2xx answers: the panel comes back with the error under the input.
        return _attachments_panel(request, campaign, upload_form=upload_form)
    context = _form_context(request, CampaignForm(instance=campaign), upload_form)
    return render(request, "campaigns/form.html", context, status=400)


@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file, streamed from storage to anyone logged in: images shown inline (the
    previews), PDFs downloaded. Stored files are never served from a public URL."""
    attachment = get_object_or_404(Attachment, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("This file is no longer stored.")) from None
    response = FileResponse(
        handle,
        as_attachment=not attachment.is_image,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    # Uploaded content: never run as a page, whatever a browser would make of it.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
def attachment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    campaign_id = Attachment.objects.filter(pk=pk).values_list("campaign_id", flat=True).first()
    try:
        attachment = services.attachment_remove(actor=request.user, attachment_id=pk)
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        if error.code == "not_found" or campaign_id is None:
            raise Http404(error.message) from error
        notice, ok = error.message, False
    else:
        notice, ok = _("“%(name)s” removed.") % {"name": attachment.original_name}, True
    if wants_fragment(request):
        # The panel the button was on comes back: the campaign page's or the form's.
        with_upload = request.POST.get("panel") == "form"
        return _attachments_panel(
            request,
            get_object_or_404(Campaign, pk=campaign_id),
            upload_form=AttachmentForm() if with_upload else None,
            notice=notice,
        )
    (messages.success if ok else messages.error)(request, notice)
    if request.POST.get("next"):
        return redirect(_safe_next(request))
    return redirect("campaigns:detail", pk=campaign_id)


# --- duplicate ---------------------------------------------------------------------------


@require_POST
def campaign_duplicate(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        copy = services.campaign_duplicate(actor=request.user, campaign_id=pk)
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        raise Http404(error.message) from error
    messages.success(
        request,
        _(
            "Copied as a new draft with the same content, KPI targets and teams. "
            "Set its dates, check it, then save."
        ),
    )
    return redirect("campaigns:edit", pk=copy.pk)


# --- the stakeholders' weekly feed (routes in campaigns.feed_urls) -------------------------

FEED_PAGE_SIZE = 20


def _feed_week_or_none(value: str | None) -> feed.Week | None:
    if value is None:
        return feed.Week.of(timezone.localdate())
    try:
        return feed.Week.parse(value)
    except ValueError:
        return None


def _bad_week(request: HttpRequest, value: str) -> HttpResponse:
    return render(
        request,
        "feed/bad_week.html",
        {"value": value[:20], "this_week": feed.Week.of(timezone.localdate())},
        status=400,
    )


@require_GET
@vary_on_headers("HX-Request")
def feed_week(request: HttpRequest, week: str | None = None) -> HttpResponse:
    selected = _feed_week_or_none(week)
    if selected is None:
        return _bad_week(request, week or "")
    form = FeedFilterForm(request.GET)
    form.is_valid()  # invalid fields are shown and ignored
    # Pages of FEED_PAGE_SIZE: "Load more" appends the next one with htmx, and is a
    # plain link to it without JavaScript.
    page = feed.feed_week(
        user=request.user,
        week=selected,
        filters=form.to_filters(),
        tz=timezone.get_current_timezone(),
        cursor=request.GET.get("cursor", ""),
        page_size=FEED_PAGE_SIZE,
    )
    filters_only = request.GET.copy()
    filters_only.pop("cursor", None)
    query = filters_only.urlencode()
    context = {
        "week": selected,
        "this_week": feed.Week.of(timezone.localdate()),
        "form": form,
        "page": page,
        "query": query,
        "cursor": request.GET.get("cursor", ""),
        # where an inline acknowledgement made without JavaScript comes back to
        "next_url": reverse("feed:week", args=[selected]) + (f"?{query}" if query else ""),
        "item_error": "",
    }
    template = "feed/week.html#days" if wants_fragment(request) else "feed/week.html"
    return render(request, template, context)


@require_GET
def feed_export(request: HttpRequest, week: str) -> HttpResponseBase:
    selected = _feed_week_or_none(week)
    if selected is None:
        return _bad_week(request, week)
    form = FeedFilterForm(request.GET)
    form.is_valid()
    tz = timezone.get_current_timezone()
    page = feed.feed_week(user=request.user, week=selected, filters=form.to_filters(), tz=tz)

    def acknowledgement(item: feed.FeedItem) -> str:
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
            timezone.localtime(item.campaign.launch_at, tz).strftime("%Y-%m-%d %H:%M"),
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
    return csv_download(f"passerelle-{selected}.csv", header, rows)


def _feed_item_response(request: HttpRequest, pk: int, **extra: object) -> HttpResponse:
    try:
        item = feed.feed_item(user=request.user, campaign_id=pk, tz=timezone.get_current_timezone())
    except Campaign.DoesNotExist:
        raise Http404(_("This campaign does not exist.")) from None
    context = {"item": item, "next_url": request.POST.get("next", ""), "item_error": ""}
    context.update(extra)
    return render(request, "feed/partials/item.html", context)


@require_POST
def feed_acknowledge(request: HttpRequest, pk: int) -> HttpResponseBase:
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
        except PermissionRefused as refused:
            raise PermissionDenied(refused.message) from refused
        except DomainError as domain_error:
            error = domain_error.message
    if wants_fragment(request):
        return _feed_item_response(request, pk, item_error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _acknowledgement_message(result))
    return redirect(_safe_next(request) if request.POST.get("next") else "feed:this_week")


@require_GET
def feed_item_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The talking points of one feed item, loaded when the reader opens them."""
    campaign = get_object_or_404(feed.visible_campaigns(), pk=pk)
    return render(request, "feed/partials/body.html", {"campaign": campaign})
