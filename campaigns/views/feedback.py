"""The campaign's thread: questions, answers and customer reactions."""

from django.contrib import messages
from django.http import HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import services
from campaigns.views.page import detail_context, feedback_form
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest, parse_id, run_action


@require_POST
def campaign_feedback_post(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    tag = request.POST.get("tag", "")
    body = request.POST.get("body", "")
    parent = request.POST.get("parent", "")
    thread = reverse("campaigns:detail", args=[pk]) + "#feedback"
    try:
        posted = services.feedback_post(
            actor=request.user,
            campaign_id=pk,
            tag=tag,
            body=body,
            parent_id=parse_id(parent) if parent else None,
        )
    except DomainError as error:
        if not error.field_errors and not wants_fragment(request):
            # The thread is closed (draft, cancelled): nothing typed is worth keeping.
            messages.error(request, error.message)
            return HttpResponseRedirect(thread)
        context = detail_context(request, pk, feedback_form=feedback_form(tag, body, error))
        if wants_fragment(request):
            # htmx swaps only 2xx answers: the form comes back with its errors in place.
            return render(request, "campaigns/partials/feedback_response.html", context)
        return render(request, "campaigns/detail.html", context, status=400)
    if wants_fragment(request):
        context = detail_context(request, pk, feedback_posted=True)
        return render(request, "campaigns/partials/feedback_response.html", context)
    messages.success(request, _("Your message was posted."))
    if posted.parent_id:
        return HttpResponseRedirect(thread.replace("#feedback", f"#feedback-{posted.parent_id}"))
    return HttpResponseRedirect(thread)


@require_POST
def feedback_mark_answered(
    request: AuthenticatedHttpRequest, pk: int, feedback_id: int
) -> HttpResponseBase:
    """The asker or the campaign's owner marks a question answered (or open again)."""
    answered = request.POST.get("answered", "1") != "0"
    return run_action(
        request,
        lambda: services.feedback_mark_answered(
            actor=request.user, feedback_id=feedback_id, answered=answered
        ),
        success=_("The question is marked answered.")
        if answered
        else _("The question is open again."),
        redirect_to=reverse("campaigns:detail", args=[pk]) + f"#feedback-{feedback_id}",
    )
