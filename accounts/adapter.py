import ipaddress
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.text import header_safe


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


def sso_domain_allowed(email: str) -> bool:
    allowed = settings.SSO_ALLOWED_DOMAINS
    return not allowed or email.rsplit("@", 1)[-1].lower() in allowed


def _refused(request: HttpRequest, reason: str) -> ImmediateHttpResponse:
    """The page of a single sign-on refused: outside the allowed domains, or an address
    the provider did not verify."""
    context = {"reason": reason, "domains": settings.SSO_ALLOWED_DOMAINS}
    return ImmediateHttpResponse(render(request, "account/sso_refused.html", context, status=403))


class SocialAccountAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]
    """Single sign-on: only addresses of the allowed domains, an account matched by the
    e-mail the provider vouches for, or created on the first sign-in without any role."""

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        emails = [address.email for address in sociallogin.email_addresses] or [
            sociallogin.user.email or ""
        ]
        if not any(email and sso_domain_allowed(email) for email in emails):
            raise _refused(request, "domain")
        if settings.SSO_ALLOWED_DOMAINS and sociallogin.account.provider == "google":
            # A Google Workspace account of the company carries its hosted domain (hd); a
            # personal Gmail account never does.
            claims = sociallogin.account.extra_data or {}
            hosted = (claims.get("id_token") or {}).get("hd") or (claims.get("userinfo") or {}).get(
                "hd"
            )
            if str(hosted or "").lower() not in settings.SSO_ALLOWED_DOMAINS:
                raise _refused(request, "domain")
        if not sociallogin.is_existing and not any(a.verified for a in sociallogin.email_addresses):
            raise _refused(request, "unverified")

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        """Just-in-time accounts only for the company's own domains (pre_social_login
        checked the address): without SSO_ALLOWED_DOMAINS, any account of a public
        provider (any Google account) could otherwise come in. Sign-up opened by setting
        opens it here too."""
        return bool(settings.SSO_ALLOWED_DOMAINS) or settings.PASSERELLE_SIGNUP_OPEN

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        claims = sociallogin.account.extra_data or {}
        userinfo = claims.get("userinfo", claims) if isinstance(claims, dict) else {}
        name = (
            userinfo.get("name")
            or " ".join(filter(None, [data.get("first_name"), data.get("last_name")]))
            or ""
        )
        # The provider's name is taken as it comes (nobody can be asked to retype it), so
        # made one line of visible text the way e-mail headers are: a line break or a bidi
        # override in a directory entry must not reach our headers and pages.
        user.full_name = header_safe(str(name))[:150]
        user.email = (user.email or "").lower()
        return user
