import ipaddress

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth has no type hints
    """Sign-up is closed unless opened by setting, and then only to allowed domains."""

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's rule (TRUSTED_PROXY_COUNT entries from the right of X-Forwarded-For),
        except that a shorter header is no server error: every entry in it was written by
        one of our proxies (one was skipped on the way), so its first is the client."""
        try:
            return str(super().get_client_ip(request))
        except ImproperlyConfigured:
            first = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
            try:
                return str(ipaddress.ip_address(first.strip("[]")))
            except ValueError:
                raise PermissionDenied(_("Unable to determine the client's address.")) from None

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
