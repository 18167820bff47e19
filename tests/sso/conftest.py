"""A real OpenID Connect provider on loopback for the single sign-on tests (see
tests/sso/provider): started once per test session, after the live server whose callback
address it must know, and stopped at the end."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.sso import SsoProvider
from tests.support.browser import browser_page  # noqa: F401 - the fixture
from tests.support.servers import free_port

CLIENT_ID = "passerelle-test-client"
PROVIDER_ID = "company"
PEOPLE = [
    {
        "username": "sophie",
        "email": "sophie.martin@example.com",
        "password": "provider-pass-1",
        "first_name": "Sophie",
        "last_name": "Martin",
    },
    {
        "username": "paul",
        "email": "paul.durand@example.com",
        "password": "provider-pass-2",
        "first_name": "Paul",
        "last_name": "Durand",
    },
    {
        "username": "eve",
        "email": "eve@elsewhere.org",
        "password": "provider-pass-3",
        "first_name": "Eve",
        "last_name": "Outside",
    },
]


@dataclass(frozen=True)
class OidcProvider:
    url: str  # the issuer: discovery is at url + "/.well-known/openid-configuration"
    client_id: str
    secret: str
    root: str

    def app(self, **settings: object) -> dict[str, object]:
        app = SsoProvider(PROVIDER_ID, "Company", self.url, self.client_id, self.secret).app(
            allowed_domains=["example.com"]
        )
        app["settings"].update(settings)  # type: ignore[union-attr]
        return app


def _rsa_keys() -> tuple[str, str]:
    """A private key (PEM) for the provider, and the public JWKS of another key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = signing.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(other))
    jwk.update({"kid": "not-the-signing-key", "alg": "RS256", "use": "sig"})
    return pem, json.dumps({"keys": [jwk]})


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory) -> Iterator[OidcProvider]:
    port = free_port()
    secret = secrets.token_urlsafe(24)
    pem, other_jwks = _rsa_keys()
    env = {
        **os.environ,
        "SSO_PROVIDER_SECRET_KEY": secrets.token_urlsafe(40),
        "SSO_PROVIDER_DB": str(tmp_path_factory.mktemp("oidc") / "provider.sqlite3"),
        "SSO_PROVIDER_RSA_KEY": pem,
        "SSO_PROVIDER_OTHER_JWKS": other_jwks,
        "SSO_PROVIDER_PEOPLE": json.dumps(PEOPLE),
    }
    env.pop("DATABASE_URL", None)
    redirect = f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/callback/"
    serve = Path(__file__).parent / "provider" / "serve.py"
    process = subprocess.Popen(  # noqa: S603 - our own script, our own arguments
        [sys.executable, str(serve), str(port), redirect, CLIENT_ID, secret],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{root}/o/.well-known/openid-configuration") as r:
                    if r.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError(f"the OIDC provider stopped:\n{output}") from None
                time.sleep(0.2)
        else:
            raise RuntimeError("the OIDC provider did not start within 60 s")
        yield OidcProvider(url=f"{root}/o", client_id=CLIENT_ID, secret=secret, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def sso(settings, oidc_provider) -> OidcProvider:
    """Passerelle configured for the provider, as the SSO_* environment variables would."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": [oidc_provider.app()]}
    }
    settings.SSO_ALLOWED_DOMAINS = ["example.com"]
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], oidc_provider.root],
    }
    return oidc_provider
