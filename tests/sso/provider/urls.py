import os

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path


def other_keys(request):  # type: ignore[no-untyped-def]
    """Keys that did not sign anything: a relying party checking against these must refuse."""
    return HttpResponse(os.environ["SSO_PROVIDER_OTHER_JWKS"], content_type="application/json")


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("other-keys.json", other_keys),
]
