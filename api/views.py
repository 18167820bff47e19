"""The pages around the API: a person's tokens, and managers' integration tokens.

A new token's secret is shown in the answer to the POST that made it, once: it is not
kept anywhere it could be read again (not in the session, not in a message)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from api import selectors, services
from api.forms import ServiceTokenForm, TokenForm
from core.errors import DomainError, PermissionRefused
from core.http import AuthenticatedHttpRequest, actor_of, run_action
from dashboards.context_processors import remember_integrations_access


def _refused(form: TokenForm, error: DomainError) -> None:
    if not error.field_errors:
        form.add_error(None, error.message)
    for name, problems in error.field_errors.items():
        form.add_error(name if name in form.fields else None, problems)


@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        try:
            made = services.api_token_create(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            _refused(form, error)
        else:
            form = TokenForm()
    context = {
        "form": form,
        "made": made,
        "tokens": selectors.personal_tokens(user=request.user),
    }
    return render(request, "api/tokens.html", context, status=400 if form.errors else 200)


@require_POST
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    back = (
        "api_pages:integrations"
        if request.POST.get("from") == "integrations"
        else "api_pages:tokens"
    )
    return run_action(
        request,
        lambda: services.api_token_revoke(actor=request.user, token_id=pk),
        success=_("Token revoked: it no longer works."),
        redirect_to=reverse(back),
    )


@require_http_methods(["GET", "POST"])
def integrations(request: AuthenticatedHttpRequest) -> HttpResponse:
    is_manager = actor_of(request).is_manager
    remember_integrations_access(request, allowed=is_manager)
    if not is_manager:
        raise PermissionRefused(_("Only managers set up integrations."))
    form = ServiceTokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        try:
            made = services.service_token_create(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            _refused(form, error)
        else:
            form = ServiceTokenForm()
    context = {"form": form, "made": made, "tokens": selectors.service_tokens()}
    return render(request, "api/integrations.html", context, status=400 if form.errors else 200)
