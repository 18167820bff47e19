"""Single sign-on providers from environment variables (README "Single sign-on").

Each configured provider is an app of allauth's OpenID Connect provider, with PKCE:
Microsoft Entra ID (`SSO_ENTRA_*`), Google Workspace (`SSO_GOOGLE_*`) and any standard
OpenID Connect provider such as Keycloak or Okta (`SSO_OIDC_*`). A provider is on when its
client id is set. The provider's word on an address is trusted for the allowed domains
(`SSO_ALLOWED_DOMAINS`): that is what matches an existing account by e-mail.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from hub.env import env_bool, env_str


@dataclass(frozen=True)
class SsoProvider:
    provider_id: str
    name: str
    server_url: str
    client_id: str
    secret: str
    # Whether this provider's directory is the company's own (Entra ID tenant, Google
    # Workspace): its addresses in the allowed domains are then trusted as verified. A
    # generic provider may let people edit their address, so only its email_verified
    # claim counts, unless SSO_OIDC_TRUST_EMAIL says its directory is authoritative.
    directory_owns_addresses: bool = False

    @property
    def origin(self) -> str:
        """Where its sign-in page is (the authorization endpoint's scheme and host)."""
        parts = urlsplit(self.server_url)
        return f"{parts.scheme}://{parts.netloc}"

    def app(self, *, allowed_domains: list[str]) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id,
            "name": self.name,
            "client_id": self.client_id,
            "secret": self.secret,
            "settings": {
                "server_url": self.server_url,
                # Only the provider's own claim counts, except for a company directory
                # whose addresses in the allowed domains are its own.
                "verified_email": (
                    allowed_domains if self.directory_owns_addresses and allowed_domains else False
                ),
                "oauth_pkce_enabled": True,
            },
        }


def sso_providers() -> list[SsoProvider]:
    providers = []
    if client_id := env_str("SSO_ENTRA_CLIENT_ID"):
        tenant = env_str("SSO_ENTRA_TENANT_ID")
        if not tenant:
            raise ImproperlyConfigured("SSO_ENTRA_TENANT_ID is required with SSO_ENTRA_CLIENT_ID.")
        providers.append(
            SsoProvider(
                "entra",
                env_str("SSO_ENTRA_NAME", "Microsoft"),
                f"https://login.microsoftonline.com/{tenant}/v2.0",
                client_id,
                env_str("SSO_ENTRA_CLIENT_SECRET"),
                directory_owns_addresses=True,
            )
        )
    if client_id := env_str("SSO_GOOGLE_CLIENT_ID"):
        providers.append(
            SsoProvider(
                "google",
                env_str("SSO_GOOGLE_NAME", "Google"),
                "https://accounts.google.com",
                client_id,
                env_str("SSO_GOOGLE_CLIENT_SECRET"),
                directory_owns_addresses=True,
            )
        )
    if client_id := env_str("SSO_OIDC_CLIENT_ID"):
        server_url = env_str("SSO_OIDC_SERVER_URL")
        if not server_url:
            raise ImproperlyConfigured("SSO_OIDC_SERVER_URL is required with SSO_OIDC_CLIENT_ID.")
        providers.append(
            SsoProvider(
                env_str("SSO_OIDC_ID", "oidc"),
                env_str("SSO_OIDC_NAME", "your company account"),
                server_url.rstrip("/"),
                client_id,
                env_str("SSO_OIDC_CLIENT_SECRET"),
                directory_owns_addresses=env_bool("SSO_OIDC_TRUST_EMAIL", default=False),
            )
        )
    return providers
