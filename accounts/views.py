"""A person's own profile: the name others see, the language and time zone they read in."""

from allauth.account.internal.flows.login import record_authentication
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import exports, services
from accounts.forms import ProfileForm
from accounts.invitations import InvitationInvalid, invitation_token_read
from accounts.models import User
from core.http import AuthenticatedHttpRequest
from core.xlsx_export import XLSX_CONTENT_TYPE


@require_http_methods(["GET", "POST"])
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    # A copy: a half-valid form writes its valid fields onto its instance, and
    # request.user must keep showing what is saved (the menu, Content-Language).
    own_account = User.objects.get(pk=request.user.pk)
    form = ProfileForm(request.POST or None, instance=own_account)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.profile_update(
                user=own_account, data=services.ProfileInput(**form.cleaned_data)
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            # The confirmation is read in the language just chosen.
            with translation.override(user.language):
                messages.success(request, _("Your profile was saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@never_cache
@require_GET
def my_data(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Everything Passerelle holds about the signed-in person, as a JSON file
    (`?format=json`), a zip of CSV files (`?format=csv`) or a workbook (`?format=xlsx`)."""
    export_format = request.GET.get("format", "")
    if export_format not in {"json", "csv", "xlsx"}:
        return HttpResponseBadRequest(
            _("Choose the format of your data: format=json, format=csv or format=xlsx."),
            content_type="text/plain; charset=utf-8",
        )
    data = services.personal_data_export(
        person=request.user, export_format=export_format, request=request
    )
    stem = f"passerelle-my-data-{timezone.localdate().isoformat()}"
    if export_format == "json":
        response = HttpResponse(
            exports.personal_data_json(data), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.json"'
    elif export_format == "xlsx":
        response = HttpResponse(exports.personal_data_xlsx(data), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    else:
        response = HttpResponse(exports.personal_data_zip(data), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{stem}.zip"'
    return response


@login_not_required
@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's link: choose a password (or sign in with the company's single
    sign-on), and be signed in. Expired, used or damaged links say so."""
    try:
        person = invitation_token_read(token)
    except InvitationInvalid as error:
        return render(
            request, "accounts/invitation_invalid.html", {"reason": error.reason}, status=400
        )
    if request.user.is_authenticated and request.user.pk != person.pk:
        return render(
            request, "accounts/invitation_invalid.html", {"reason": "other_user"}, status=403
        )
    form = SetPasswordForm(person, request.POST or None) if not settings.SSO_ONLY else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            # The row the password was set on: signing in with the stale one would tie
            # the session to the old password's hash, and the next request would end it.
            person = services.invitation_accept(
                token=token, password=form.cleaned_data["new_password1"]
            )
        except InvitationInvalid as error:  # used meanwhile, by a second tab
            return render(
                request, "accounts/invitation_invalid.html", {"reason": error.reason}, status=400
            )
        auth_login(request, person, backend="accounts.backends.OneQueryModelBackend")
        # As a password sign-in, for allauth and the second-factor rule.
        record_authentication(request, person, method="password", email=person.email)
        messages.success(request, _("Welcome to Passerelle. Your account is ready."))
        return redirect("core:home")
    context = {
        "person": person,
        "teams": list(person.teams.order_by("name").values_list("name", flat=True)),
        "form": form,
    }
    return render(request, "accounts/invitation.html", context)
