"""The campaign form: create and edit, with its inline checks, Markdown preview, channel
default teams, KPI rows and the contact-pressure warning."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import rules, selectors, services
from campaigns.filters import ContactPressureForm
from campaigns.forms import (
    INLINE_FIELDS,
    AttachmentForm,
    CampaignForm,
    KpiFormSet,
    kpi_rows_plus_one,
    teams_for_channel,
)
from campaigns.models import Campaign
from campaigns.rules import Action
from core.errors import DomainError, PermissionRefused
from core.http import AuthenticatedHttpRequest, actor_of, show_refusal


class _NotEditable(Exception):
    """The campaign exists and the person could edit it, but not now (it is closed)."""

    def __init__(self, error: DomainError) -> None:
        self.error = error


def _form_campaign(request: AuthenticatedHttpRequest, pk: int | None) -> Campaign | None:
    """The campaign a form endpoint works for (None on the new-campaign form), after the
    rule book: 404 if the person may not see it, 403 if they may not write it, and
    _NotEditable when it can no longer change."""
    viewer = actor_of(request)
    if pk is None:
        rules.require_can_create(viewer)
        return None
    campaign = selectors.campaign_detail(viewer=viewer, campaign_id=pk)
    decision = rules.decide(Action.EDIT, viewer, rules.facts_of(campaign))
    try:
        decision.raise_if_refused()
    except DomainError as error:
        raise _NotEditable(error) from error
    return campaign


def _campaign_form(request: AuthenticatedHttpRequest, campaign: Campaign | None) -> CampaignForm:
    """The form as typed. "Preview" and "Add a KPI" (the buttons that work without
    JavaScript) show it again, unchecked and unsaved."""
    owner = campaign.owner if campaign else request.user
    if request.method != "POST":
        return CampaignForm(instance=campaign, owner=owner)
    data: QueryDict = request.POST
    if "add_kpi" in data:
        data = kpi_rows_plus_one(data)
    rerender = "preview" in data or "add_kpi" in data
    return CampaignForm(data, instance=campaign, owner=owner, quiet=rerender)


def form_context(
    request: AuthenticatedHttpRequest, form: CampaignForm, upload_form: AttachmentForm | None = None
) -> dict[str, object]:
    campaign = form.campaign
    preview = request.method == "POST" and "preview" in request.POST
    attach = (
        selectors.campaign_actions(campaign=campaign, viewer=actor_of(request))["attach"]
        if campaign
        else None
    )
    return {
        "form": form,
        "campaign": campaign,
        "show_preview": preview,
        "preview_body": (form["body"].value() or "") if preview else "",
        # Files change with the campaign: not once it is done or cancelled.
        "upload_form": (upload_form or AttachmentForm()) if attach and attach.allowed else None,
        "actions": {"attach": attach} if attach else {},
    }


@require_http_methods(["GET", "POST"])
def campaign_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _form_campaign(request, None)
    form = _campaign_form(request, None)
    if request.method == "POST" and not form.quiet and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, data=form.to_input())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if request.POST.get("then") == "attachments":
                messages.success(request, _("Draft saved. Add its files below."))
                return HttpResponseRedirect(
                    reverse("campaigns:edit", args=[campaign.pk]) + "#attachments"
                )
            messages.success(request, _("Draft saved. Announce it when it is ready."))
            return HttpResponseRedirect(campaign.get_absolute_url())
    return render(request, "campaigns/form.html", form_context(request, form))


@require_http_methods(["GET", "POST"])
def campaign_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    page = reverse("campaigns:detail", args=[pk])
    try:
        campaign = _form_campaign(request, pk)
    except _NotEditable as refused:
        show_refusal(request, refused.error)
        return HttpResponseRedirect(page)
    assert campaign is not None
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
            return HttpResponseRedirect(page)
    return render(request, "campaigns/form.html", form_context(request, form))


def _form_endpoint_campaign(request: AuthenticatedHttpRequest, pk: int | None) -> Campaign | None:
    """For the form's helpers: a closed campaign is 403 here (its form is not shown)."""
    try:
        return _form_campaign(request, pk)
    except _NotEditable as refused:
        raise PermissionRefused(refused.error.message) from refused


@require_POST
def campaign_form_validate(
    request: AuthenticatedHttpRequest, pk: int | None = None
) -> HttpResponse:
    """One part of the campaign form, checked as the marketer leaves it (htmx posts the
    whole form). The answer is that part again, with its error or without one: the same
    rules as a submit, since both run CampaignForm (and through it the services' rules)."""
    campaign = _form_endpoint_campaign(request, pk)
    name = request.GET.get("field", "")
    if name not in (*INLINE_FIELDS, "teams", "kpis", "editors"):
        return HttpResponseBadRequest(_("This field cannot be checked on its own."))
    owner = campaign.owner if campaign else request.user
    form = CampaignForm(request.POST, instance=campaign, owner=owner)
    form.is_valid()
    if name == "teams":
        return render(request, "campaigns/form.html#teams_errors", {"form": form})
    if name == "kpis":
        return render(request, "campaigns/form.html#kpi_errors", {"form": form, "inline": True})
    return render(request, "campaigns/partials/form_field.html", {"field": form[name]})


@require_POST
def campaign_form_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The body as the campaign page will show it: Markdown rendered, then sanitised."""
    rules.require_writes_campaigns(actor_of(request))
    return render(
        request,
        "campaigns/form.html#preview",
        {"show_preview": True, "preview_body": request.POST.get("body", "")},
    )


@require_GET
def campaign_form_channel_teams(
    request: AuthenticatedHttpRequest, pk: int | None = None
) -> HttpResponse:
    """The stakeholder teams once a channel is chosen: its default teams checked, the
    marketer's other choices kept (htmx swaps the fieldset; the channel field comes along
    out of band with its own error, if any)."""
    campaign = _form_endpoint_campaign(request, pk)
    # Only a channel the app knows reaches a query (PostgreSQL refuses a NUL, say); the
    # form below still shows its own error for anything else.
    known = set(Campaign.Channel.values)
    channel = request.GET.get("channel", "")
    previous = request.GET.get("defaults_channel", "")
    checked = [
        int(v) for v in request.GET.getlist("teams") if v.isascii() and v.isdigit() and len(v) < 19
    ]
    team_ids = teams_for_channel(
        channel=channel if channel in known else "",
        previous_channel=previous if previous in known else "",
        checked=checked,
    )
    data = request.GET.copy()
    data.setlist("teams", [str(team_id) for team_id in team_ids])
    data["defaults_channel"] = channel if channel in known else ""
    owner = campaign.owner if campaign else request.user
    form = CampaignForm(data, instance=campaign, owner=owner)
    teams_field = form.fields["teams"]
    assert isinstance(teams_field, forms.ModelMultipleChoiceField)
    assert teams_field.queryset is not None  # every team (CampaignForm.teams)
    defaults = set(selectors.channel_default_team_ids(channel)) if channel in known else set()
    return render(
        request,
        "campaigns/form.html#channel_changed",
        {
            "form": form,
            "channel_label": Campaign.Channel(channel).label
            if channel in Campaign.Channel.values
            else "",
            "default_team_names": [
                team.name for team in teams_field.queryset if team.pk in defaults
            ],
        },
    )


@require_GET
def campaign_form_kpi_row(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One more empty KPI row for "Add a KPI" (htmx), with the formset's row count."""
    rules.require_writes_campaigns(actor_of(request))
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


@require_GET
def campaign_contact_pressure(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The contact-pressure warning for the campaign form (an htmx fragment): other
    campaigns reaching an overlapping audience within three days. Only a warning: the
    form saves regardless, so unreadable input simply shows nothing. For those who write
    campaigns only: it is part of their form, and names campaigns by audience."""
    viewer = actor_of(request)
    rules.require_writes_campaigns(viewer)
    form = ContactPressureForm(request.GET)
    clashes: list[Campaign] = []
    if form.is_valid() and form.cleaned_data["launch_at"] and form.cleaned_data["audience"]:
        clashes = selectors.campaigns_with_contact_pressure(
            viewer=viewer,
            audience=form.cleaned_data["audience"],
            launch_at=form.cleaned_data["launch_at"],
            exclude_id=form.cleaned_data["campaign"],
        )
    return render(request, "campaigns/partials/contact_pressure.html", {"clashes": clashes})
