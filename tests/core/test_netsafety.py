"""The SSRF guard against IPv6 forms that wrap or tunnel to an IPv4 address, at both
places it runs: when a webhook URL is saved, and when the request connects."""

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from core.netsafety import UnsafeURLError, is_public_address, resolve_public_address
from tests.factories import TeamFactory

# One per form; each hides a loopback, private, link-local or metadata IPv4 address, or
# is a tunnel whose far end cannot be judged.
WRAPPED_PRIVATE = [
    pytest.param("64:ff9b::a9fe:a9fe", id="nat64-metadata"),
    pytest.param("64:ff9b::7f00:1", id="nat64-loopback"),
    pytest.param("64:ff9b::10.0.0.1", id="nat64-private-dotted"),
    pytest.param("64:ff9b:1::8.8.8.8", id="nat64-local-use"),
    pytest.param("::ffff:127.0.0.1", id="mapped-dotted"),
    pytest.param("::ffff:7f00:1", id="mapped-hex"),
    pytest.param("::ffff:a9fe:a9fe", id="mapped-metadata"),
    pytest.param("::ffff:0:a00:1", id="translated-private"),
    pytest.param("::127.0.0.1", id="compatible-loopback"),
    pytest.param("::a9fe:a9fe", id="compatible-metadata"),
    pytest.param("2002:a9fe:a9fe::", id="6to4-metadata"),
    pytest.param("2002:808:808::1", id="6to4-public"),
    pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", id="teredo"),
    pytest.param("2001:0:a9fe:a9fe::1", id="teredo-metadata"),
]


@pytest.mark.parametrize("host", WRAPPED_PRIVATE)
def test_wrapped_and_tunnelled_forms_are_not_public(host):
    assert is_public_address(ipaddress.ip_address(host)) is False


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"]
)
def test_public_addresses_and_wrapped_public_ipv4_pass(host):
    assert is_public_address(ipaddress.ip_address(host)) is True


@pytest.mark.django_db
@pytest.mark.parametrize("host", WRAPPED_PRIVATE)
def test_a_team_cannot_save_a_webhook_to_a_wrapped_private_address(host, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    team = TeamFactory.build(webhook_url=f"https://[{host}]/hook")
    with pytest.raises(ValidationError) as error:
        team.full_clean()
    assert "private address" in str(error.value.message_dict["webhook_url"])


@pytest.mark.parametrize("host", WRAPPED_PRIVATE)
def test_a_name_that_resolves_to_a_wrapped_form_is_refused_at_connect_time(host, monkeypatch):
    """DNS may answer differently at delivery than when the URL was saved."""

    def answer(name, port, *args, **kwargs):
        assert name == "chat.example.com"
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (host, port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", answer)
    with pytest.raises(UnsafeURLError) as refused:
        resolve_public_address("chat.example.com", 443, allow_private=False)
    assert refused.value.transient is False
    assert "private address" in str(refused.value)
