from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext as _

from dashboards.context_processors import remember_dashboard_access
from dashboards.selectors import user_can_view_dashboard


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up is closed unless opened by setting, and then only to allowed domains."""

    def login(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        super().login(request, user)
        # Whether the nav shows "Dashboard": decided once here, not on every page.
        remember_dashboard_access(request, allowed=user_can_view_dashboard(user=user))

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.PASSERELLE_SIGNUP_OPEN

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        allowed = settings.PASSERELLE_SIGNUP_DOMAINS
        if allowed and email.rsplit("@", 1)[-1].lower() not in allowed:
            raise forms.ValidationError(
                _("Sign-up is limited to addresses at: %(domains)s.")
                % {"domains": ", ".join(allowed)}
            )
        return email
