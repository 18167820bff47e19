"""A person's own profile: the name others see, the language and time zone they read in."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import ProfileForm
from accounts.models import User
from core.http import AuthenticatedHttpRequest


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
