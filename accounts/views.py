"""A person's own profile: the name others see, the language and time zone they read in."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import exports, services
from accounts.forms import ProfileForm
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
