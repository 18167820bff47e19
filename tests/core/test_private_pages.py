"""Cache-Control: private, no-store on whatever a signed-in person is sent (pages,
fragments, downloads), unless the response states its own caching."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.urls import reverse

from core.caching import PrivatePagesMiddleware
from notifications.subscriptions import subscription_token_get_or_create
from tests.factories import UserFactory, make_manager

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


def test_signed_in_pages_and_fragments_are_private_and_not_stored(client, marketer):
    client.force_login(marketer)
    for url in (reverse("core:home"), reverse("notifications:preferences")):
        response = client.get(url, follow=True)
        assert response.status_code == 200
        assert {"private", "no-store"} <= directives(response), url
    fragment = client.get(reverse("notifications:unread_badge"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert {"private", "no-store"} <= directives(fragment)


def test_downloads_are_private_and_not_stored(client):
    """A manager's audit log or dashboard export is as private as its page."""
    client.force_login(make_manager())
    for url, params in (
        (reverse("audit:log"), {"format": "csv"}),
        (reverse("audit:log"), {"format": "xlsx"}),
        (reverse("dashboards:overview"), {"format": "csv"}),
    ):
        response = client.get(url, params)
        assert response.status_code == 200, url
        assert "attachment" in response["Content-Disposition"], url
        assert {"private", "no-store"} <= directives(response), (url, params)


def test_only_signed_in_responses_without_their_own_caching_are_marked(rf, marketer):
    def answer(content_type: str, cache_control: str | None = None):
        def view(request):
            response = HttpResponse("x", content_type=content_type)
            if cache_control:
                response["Cache-Control"] = cache_control
            return response

        return view

    anonymous = rf.get("/")
    anonymous.user = AnonymousUser()
    signed_in = rf.get("/")
    signed_in.user = marketer
    html = "text/html; charset=utf-8"

    assert not PrivatePagesMiddleware(answer(html))(anonymous).has_header("Cache-Control")
    csv = PrivatePagesMiddleware(answer("text/csv"))(signed_in)
    assert directives(csv) == {"private", "no-store"}
    own = PrivatePagesMiddleware(answer(html, "public, max-age=60"))(signed_in)
    assert own["Cache-Control"] == "public, max-age=60"
    marked = PrivatePagesMiddleware(answer(html))(signed_in)
    assert directives(marked) == {"private", "no-store"}


def test_subscription_feeds_keep_their_own_caching_and_304s(client):
    person = UserFactory()
    token = subscription_token_get_or_create(user=person).token
    client.force_login(person)  # a browser with a session open opens its feed
    url = reverse("subscriptions:atom", args=[token])
    response = client.get(url)
    assert response.status_code == 200
    assert directives(response) == {"private", "max-age=300"}
    again = client.get(url, headers={"if-none-match": response["ETag"]})
    assert again.status_code == 304
    assert "no-store" not in directives(again)
