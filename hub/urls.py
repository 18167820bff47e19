from django.contrib import admin
from django.urls import include, path

from accounts import sso as accounts_sso

urlpatterns = [
    path("", include("core.urls")),
    # Early: calendar apps and feed readers poll these all day (the rest of the list is
    # not tried for each of them).
    path("subscriptions/", include("feed.subscription_urls")),
    path("accounts/", include("accounts.urls")),
    # Before allauth's own: single sign-on only for the configured providers, and a
    # callback that always checks the ID token's signature (accounts/sso.py).
    path("accounts/oidc/<str:provider_id>/login/", accounts_sso.login, name="sso_login"),
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        accounts_sso.callback,
        name="sso_callback",
    ),
    path("accounts/", include("allauth.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("feed/", include("feed.urls")),
    path("", include("teams.urls")),
    path("notifications/", include("notifications.urls")),
    path("chat/", include("chat.urls")),
    # Integration API (issue 17): a person's API tokens, managers' integration tokens.
    path("", include("api.web_urls")),
    # Trust (issue 13): the managers' audit log, next to their dashboard.
    path("dashboard/audit/", include("audit.urls")),
    path("dashboard/", include("dashboards.urls")),
    path("manage/webhooks/", include("webhooks.urls")),
    path("admin/", admin.site.urls),
    # The e-mail provider's delivery reports (bounces), behind basic auth (docs/EMAIL.md);
    # 404 for a provider that is not configured (notifications/anymail_urls.py).
    path("anymail/", include("notifications.anymail_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Integration API (issue 17): versioned, with its OpenAPI schema and docs.
    path("api/v1/", include("api.urls", namespace="api")),
]
# Uploaded files are never served from a public media URL: attachments go through
# campaigns.views.attachment_download, which checks the login.
