"""The managers' webhook pages: the list, the form, an endpoint's page with its delivery
log and buttons. Thin: forms read input, webhooks.services decides and writes; every
button is a plain POST form that redirects with the outcome as a message."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from core.http import AuthenticatedHttpRequest, actor_of, run_action
from webhooks import selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import WebhookEndpoint
from webhooks.rules import require_manage_webhooks
from webhooks.services.delivery import ROTATION_OVERLAP

# A new secret travels from the POST that made it to the page that shows it, once, in
# the session: the page after the redirect pops it (a reload no longer shows it).
_SECRET_SESSION_KEY = "webhooks:new_secret"  # noqa: S105 - a session key, not a secret


def _form_refused(form: forms.BaseForm, error: DomainError) -> None:
    """A service's refusal shown on the form: next to each field it names, else on top."""
    if not error.field_errors:
        form.add_error(None, error.message)
    for name, problems in error.field_errors.items():
        form.add_error(name if name in form.fields else None, problems)


def _endpoint(request: AuthenticatedHttpRequest, pk: int) -> WebhookEndpoint:
    require_manage_webhooks(actor_of(request))
    endpoint = selectors.endpoint_for_page(pk)
    if endpoint is None:
        raise services.endpoint_missing()
    return endpoint


def _show_secret_once(request: AuthenticatedHttpRequest, endpoint_id: int, secret: str) -> None:
    request.session[_SECRET_SESSION_KEY] = {"endpoint_id": endpoint_id, "secret": secret}


@require_http_methods(["GET"])
def endpoint_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_manage_webhooks(actor_of(request))
    endpoints = selectors.endpoints_listed()
    return render(request, "webhooks/list.html", {"endpoints": endpoints})


@require_http_methods(["GET", "POST"])
def endpoint_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_manage_webhooks(actor_of(request))
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(
                actor=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except DomainError as error:
            _form_refused(form, error)
        else:
            _show_secret_once(request, endpoint.pk, secret)
            messages.success(request, _("Endpoint added: it receives events from now on."))
            return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))
    status = 400 if request.method == "POST" else 200
    return render(request, "webhooks/form.html", {"form": form, "endpoint": None}, status=status)


@require_http_methods(["GET", "POST"])
def endpoint_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    form = (
        EndpointForm(request.POST)
        if request.method == "POST"
        else EndpointForm.for_endpoint(endpoint)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(
                actor=request.user,
                endpoint_id=endpoint.pk,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except DomainError as error:
            _form_refused(form, error)
        else:
            messages.success(request, _("Endpoint saved."))
            return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))
    status = 400 if request.method == "POST" else 200
    return render(
        request, "webhooks/form.html", {"form": form, "endpoint": endpoint}, status=status
    )


@require_http_methods(["GET"])
def endpoint_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    shown = request.session.get(_SECRET_SESSION_KEY)
    new_secret = ""
    if isinstance(shown, dict) and shown.get("endpoint_id") == endpoint.pk:
        new_secret = str(shown.get("secret", ""))
        del request.session[_SECRET_SESSION_KEY]
    context = {
        "endpoint": endpoint,
        "new_secret": new_secret,
        "page": selectors.delivery_log(endpoint=endpoint, page=request.GET.get("page")),
        "overlap_hours": int(ROTATION_OVERLAP.total_seconds() // 3600),
    }
    return render(request, "webhooks/detail.html", context)


@require_POST
def endpoint_enable(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return run_action(
        request,
        lambda: services.webhook_endpoint_enable(actor=request.user, endpoint_id=pk),
        success=_("Endpoint enabled: the messages kept for it are on their way."),
        redirect_to=reverse("webhooks:detail", args=[pk]),
    )


@require_POST
def endpoint_rotate_secret(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint, secret = services.webhook_endpoint_rotate_secret(actor=request.user, endpoint_id=pk)
    _show_secret_once(request, endpoint.pk, secret)
    messages.success(request, _("New secret made."))
    return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


@require_POST
def endpoint_send_test(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return run_action(
        request,
        lambda: services.webhook_endpoint_send_test(actor=request.user, endpoint_id=pk),
        success=_("Test message queued: it shows in the delivery log below within seconds."),
        redirect_to=reverse("webhooks:detail", args=[pk]) + "#deliveries",
    )


@require_http_methods(["GET", "POST"])
def endpoint_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A page that asks, then the POST that deletes."""
    endpoint = _endpoint(request, pk)
    if request.method == "POST":
        services.webhook_endpoint_delete(actor=request.user, endpoint_id=endpoint.pk)
        messages.success(request, _("Endpoint deleted: nothing more is sent to it."))
        return HttpResponseRedirect(reverse("webhooks:list"))
    return render(request, "webhooks/delete.html", {"endpoint": endpoint})


@require_POST
def delivery_resend(request: AuthenticatedHttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    delivery = endpoint.deliveries.filter(pk=delivery_id).values_list("pk", flat=True).first()
    if delivery is None:
        raise services.delivery_missing()
    return run_action(
        request,
        lambda: services.webhook_delivery_resend(actor=request.user, delivery_id=delivery_id),
        success=_("Message queued to be sent again, with the same id."),
        redirect_to=reverse("webhooks:detail", args=[endpoint.pk]) + "#deliveries",
    )
