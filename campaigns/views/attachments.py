"""Files that show what customers received: attach, download, remove."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors, services
from campaigns.forms import AttachmentForm, CampaignForm
from campaigns.models import Campaign
from campaigns.views.form import form_context
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, actor_of, safe_next, show_refusal
from core.uploads import cut_off_uploads


def _attachments_panel(
    request: AuthenticatedHttpRequest,
    campaign: Campaign,
    *,
    upload_form: AttachmentForm | None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "campaigns/partials/attachments.html",
        {
            "campaign": campaign,
            "upload_form": upload_form,
            "attachment_notice": notice,
            "actions": selectors.campaign_actions(campaign=campaign, viewer=actor_of(request)),
        },
        status=status,
    )


@require_POST
def attachment_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    cut_off = cut_off_uploads(request).get("file")
    upload_form = AttachmentForm(request.POST, request.FILES)
    if cut_off is not None:
        # Stopped at the limit while it arrived: the same error under the field as a file
        # refused by the service.
        upload_form.is_valid()
        upload_form.errors.pop("file", None)
        upload_form.add_domain_error(services.attachment_cut_off_error(file_name=cut_off))
    elif upload_form.is_valid():
        try:
            attachment = services.attachment_add(
                actor=request.user,
                campaign_id=pk,
                uploaded_file=upload_form.cleaned_data["file"],
            )
        except DomainError as error:
            if not error.field_errors and not wants_fragment(request):
                # The campaign refuses (it is closed): say so on its page.
                show_refusal(request, error)
                return HttpResponseRedirect(reverse("campaigns:detail", args=[pk]))
            upload_form.add_domain_error(error)
        else:
            notice = _("“%(name)s” attached.") % {"name": attachment.original_name}
            if wants_fragment(request):
                return _attachments_panel(
                    request, attachment.campaign, upload_form=AttachmentForm(), notice=notice
                )
            messages.success(request, notice)
            return HttpResponseRedirect(reverse("campaigns:edit", args=[pk]) + "#attachments")
    campaign = selectors.campaign_detail(viewer=actor_of(request), campaign_id=pk)
    if wants_fragment(request):
        # htmx swaps only 2xx answers: the panel comes back with the error under the input.
        return _attachments_panel(request, campaign, upload_form=upload_form)
    context = form_context(request, CampaignForm(instance=campaign), upload_form)
    return render(request, "campaigns/form.html", context, status=400)


@require_GET
def attachment_download(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    """The file, streamed from storage to those who may see its campaign: images shown
    inline (the previews), PDFs downloaded. Stored files are never served from a public
    URL."""
    attachment = selectors.attachment_for(viewer=actor_of(request), attachment_id=pk)
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
def attachment_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    viewer = actor_of(request)
    campaign_id = selectors.attachment_for(viewer=viewer, attachment_id=pk).campaign_id
    try:
        attachment = services.attachment_remove(actor=request.user, attachment_id=pk)
    except DomainError as error:
        notice, ok = error.message, False
    else:
        notice, ok = _("“%(name)s” removed.") % {"name": attachment.original_name}, True
    if wants_fragment(request):
        # The panel the button was on comes back: the campaign page's or the form's.
        with_upload = request.POST.get("panel") == "form"
        return _attachments_panel(
            request,
            selectors.campaign_detail(viewer=viewer, campaign_id=campaign_id),
            upload_form=AttachmentForm() if with_upload else None,
            notice=notice,
        )
    (messages.success if ok else messages.error)(request, notice)
    return HttpResponseRedirect(safe_next(request, reverse("campaigns:detail", args=[campaign_id])))
