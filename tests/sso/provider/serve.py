"""Run the test OpenID Connect provider on loopback.

    python tests/sso/provider/serve.py PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET

Creates its database, one confidential client (authorization code, PKCE, no consent
screen) and the people of the tests, then serves until killed. Prints READY when it
answers.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


def main() -> None:
    port, redirect_uri, client_id, client_secret = sys.argv[1:5]
    people = json.loads(os.environ.get("SSO_PROVIDER_PEOPLE", "[]"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.sso.provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for person in people:
        User.objects.create_user(
            username=person["username"],
            email=person["email"],
            password=person["password"],
            first_name=person.get("first_name", ""),
            last_name=person.get("last_name", ""),
        )
    Application.objects.create(
        name="Passerelle",
        client_id=client_id,
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    print("READY", flush=True)  # noqa: T201 - the test waits for it
    run("127.0.0.1", int(port), get_wsgi_application(), threading=True, server_cls=WSGIServer)


if __name__ == "__main__":
    main()
