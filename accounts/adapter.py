from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth has no type hints
    """Sign-up is closed unless opened by setting, and then only to allowed domains."""

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
