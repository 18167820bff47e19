"""The OpenID Connect callback, with the ID token's signature always checked.

allauth skips the signature of an ID token that came straight from the provider's token
endpoint (OpenID Connect Core allows it over TLS). Passerelle checks it anyway, against
the provider's published keys: TLS may end at a proxy in front of either side, and a
provider configured with an http:// address would otherwise go unchecked.
"""

from typing import Any

from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect import views as oidc_views
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse


class SignatureCheckingAdapter(OpenIDConnectOAuth2Adapter):  # type: ignore[misc]
    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, object]:
        decoded: dict[str, object] = jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )
        return decoded


def _configured(provider_id: str) -> bool:
    """Only the providers of the settings (hub/sso.py): an address naming anything else
    is a 404 before allauth looks it up (the fuzzer's NUL byte made PostgreSQL fail)."""
    openid_connect: dict[str, Any] = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {})
    return any(app.get("provider_id") == provider_id for app in openid_connect.get("APPS", []))


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    if not _configured(provider_id):
        raise Http404
    response: HttpResponse = oidc_views.login(request, provider_id)
    return response


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    if not _configured(provider_id):
        raise Http404
    try:
        view = OAuth2CallbackView.adapter_view(SignatureCheckingAdapter(request, provider_id))
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    return response
