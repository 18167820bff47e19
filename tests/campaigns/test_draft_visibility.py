"""Drafts are for marketers and managers only: no page, fragment, file, export, feed or
probe shows one to anyone else, even to a member or lead of its stakeholder team.

The URLs are read from the URLconf, so a new view is covered as soon as it exists: one
that this test does not know how to call fails it until it is added below.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.invitations import invitation_token_make
from campaigns import services
from campaigns.models import Campaign
from feed.selectors import Week
from notifications.subscriptions import subscription_token_get_or_create
from notifications.tokens import ack_token_make, unsubscribe_token_make
from teams.models import Membership
from tests.campaigns.files import pdf
from tests.factories import CampaignFactory, MembershipFactory, StakeholderFactory, make_marketer

pytestmark = pytest.mark.django_db

SECRET = "Projet Zéphyr confidentiel"
AUDIENCE = "Clients premium Zéphyr"
# The namespaces whose views may show campaigns; admin is for staff, allauth shows none.
NAMESPACES = {
    "core",
    "accounts",
    "campaigns",
    "feed",
    "notifications",
    "dashboards",
    "subscriptions",
}


def our_urls() -> list[tuple[str, URLPattern]]:
    found = []

    def walk(patterns: list, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif namespace in NAMESPACES and pattern.name:
                found.append((f"{namespace}:{pattern.name}", pattern))

    walk(get_resolver().url_patterns, "")
    return found


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    owner = make_marketer()
    membership = MembershipFactory(role=Membership.Role.LEAD, user__full_name="Léa Lead")
    team, reader = membership.team, membership.user
    launch = timezone.now() + timedelta(days=2)
    draft = CampaignFactory(owner=owner, title=SECRET, audience=AUDIENCE, launch_at=launch)
    StakeholderFactory(campaign=draft, team=team)
    attachment = services.attachment_add(
        actor=owner,
        campaign_id=draft.pk,
        uploaded_file=SimpleUploadedFile("zephyr.pdf", pdf(), "application/pdf"),
    )
    # A draft cancelled before anyone was told is just as private.
    dropped = CampaignFactory(owner=owner, title=f"{SECRET} abandonné", launch_at=launch)
    StakeholderFactory(campaign=dropped, team=team)
    services.campaign_cancel(actor=owner, campaign_id=dropped.pk)
    return {
        "draft": draft,
        "dropped": Campaign.objects.get(pk=dropped.pk),
        "team": team,
        "reader": reader,
        "attachment": attachment,
        "week": str(Week.of(timezone.localdate(launch))),
        "month": timezone.localtime(launch).strftime("%Y-%m"),
        "token": subscription_token_get_or_create(user=reader).token,
    }


POST_DATA = {
    "version": "1",
    "tag": "question",
    "body": "Une question",
    "reason": "Parce que",
    "note": "Vu",
    "reply": "Réponse",
    "title": "Piraté",
    "channel": "email",
    "campaign": "1",
    "user": "1",
}


def _xlsx_text(body: bytes) -> str:
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)


def requests_for(name: str, world: dict, campaign: Campaign) -> list[tuple[str, str]] | None:
    """(method, url) to try for one URL name; None for a URL this test does not know."""
    pk, week = campaign.pk, world["week"]
    by_campaign = {
        "campaigns:detail": "get",
        "campaigns:live": "htmx",
        "campaigns:edit": "get",
        "campaigns:validate": "post",
        "campaigns:channel_teams": "get",
        "campaigns:announce": "post",
        "campaigns:announce_confirm": "get",
        "campaigns:acknowledge_open": "get",
        "campaigns:snooze": "post",
        "campaigns:snooze_cancel": "post",
        "campaigns:mark_done": "post",
        "campaigns:override_done": "post",
        "campaigns:cancel": "post",
        "campaigns:duplicate": "post",
        "campaigns:acknowledge": "post",
        "campaigns:feedback": "post",
        "campaigns:results": "post",
        "campaigns:deliveries_retry": "post",
        "campaigns:attachment_add": "post",
        "feed:acknowledge": "post",
        "feed:body": "get",
    }
    if name in by_campaign:
        suffix = (
            "?field=title&channel=email" if name.endswith(("validate", "channel_teams")) else ""
        )
        return [(by_campaign[name], reverse(name, args=[pk]) + suffix)]
    if name in (
        "campaigns:acknowledgement_revoke",
        "campaigns:not_ready",
        "campaigns:not_ready_reply",
    ):
        return [("post", reverse(name, args=[pk, world["team"].pk]))]
    if name == "campaigns:feedback_answered":
        return [("post", reverse(name, args=[pk, 999_999]))]
    if name in ("campaigns:attachment", "campaigns:attachment_remove"):
        method = "get" if name == "campaigns:attachment" else "post"
        return [(method, reverse(name, args=[world["attachment"].pk]))]
    if name == "campaigns:acknowledge_link":
        token = ack_token_make(user_id=world["reader"].pk, campaign_id=pk, version=1)
        return [("get", reverse(name, args=[token])), ("post", reverse(name, args=[token]))]
    if name == "notifications:unsubscribe":
        token = unsubscribe_token_make(user_id=world["reader"].pk, topic="announced")
        return [("get", reverse(name, args=[token])), ("post", reverse(name, args=[token]))]
    if name in ("feed:week", "feed:export", "feed:export_xlsx"):
        return [("get", reverse(name, args=[week]) + "?q=Zéphyr")]
    if name in ("subscriptions:atom", "subscriptions:ical"):
        return [("get", reverse(name, args=[world["token"]]))]
    if name in ("dashboards:team", "dashboards:team_nudge"):
        method = "get" if name == "dashboards:team" else "post"
        return [(method, reverse(name, args=[world["team"].slug]))]
    if name == "dashboards:team_nudge_all":
        url = reverse(name, args=[world["team"].slug])
        return [("get", f"{url}?campaign={pk}"), ("post", f"{url}?campaign={pk}")]
    if name == "notifications:mark_read":
        return [("post", reverse(name, args=[1]))]
    if name == "accounts:invitation":
        token = invitation_token_make(world["reader"])
        return [("get", reverse(name, args=[token]))]
    if name == "accounts:my_data":  # the JSON is searched as text (the zip is compressed)
        return [("get", reverse(name) + "?format=json")]
    pages = {
        "campaigns:list": "?q=Zéphyr",
        "campaigns:search": "?q=zephyr",
        "campaigns:calendar": f"?month={world['month']}",
        "campaigns:contact_pressure": (
            f"?audience={AUDIENCE}&launch_at="
            + timezone.localtime(campaign.launch_at).strftime("%Y-%m-%dT%H:%M")
        ),
        "feed:this_week": "?q=Zéphyr",
    }
    for simple in (
        "core:home",
        "core:health",
        "core:health_live",
        "core:health_ready",
        "core:metrics",
        "accounts:profile",
        "campaigns:create",
        "campaigns:preview",
        "campaigns:kpi_row",
        "campaigns:import",
        "campaigns:import_preview",
        "campaigns:import_confirm",
        "notifications:inbox",
        "notifications:unread_badge",
        "notifications:mark_all_read",
        "notifications:preferences",
        "notifications:subscriptions_regenerate",
        "notifications:subscriptions_create",
        "dashboards:overview",
        *pages,
    ):
        if name == simple:
            posted = ("campaigns:preview", "campaigns:import_confirm")
            method = "post" if name in posted or "subscriptions_" in name else "get"
            return [(method, reverse(name) + pages.get(name, ""))]
    return None


@pytest.mark.parametrize("which", ["draft", "dropped"])
def test_no_url_shows_a_draft_to_a_stakeholder(client, world, which):
    campaign = world[which]
    client.force_login(world["reader"])
    unknown, leaks = [], []
    for name, _pattern in our_urls():
        attempts = requests_for(name, world, campaign)
        if attempts is None:
            unknown.append(name)
            continue
        for method, url in attempts:
            if method == "htmx":  # an htmx fragment: a plain GET is sent to the page
                response = client.get(url, headers={"HX-Request": "true"})
            else:
                response = getattr(client, method)(url, POST_DATA if method == "post" else None)
            body = b"".join(response) if response.streaming else response.content
            text = body.decode(errors="replace")
            if response.get("Content-Type", "").endswith("spreadsheetml.sheet"):
                text = _xlsx_text(body)  # compressed: searched cell by cell
            names_a_campaign = "pk" in _pattern.pattern.converters or "token" in url
            refused = response.status_code in (403, 404, 405)
            if SECRET in text or AUDIENCE in text or "zephyr.pdf" in text:
                leaks.append(f"{method.upper()} {url}: shows the draft")
            elif name.startswith(("campaigns:", "feed:")) and names_a_campaign and not refused:
                leaks.append(f"{method.upper()} {url}: answered {response.status_code}")
    assert unknown == [], f"New views: say in requests_for how to call {unknown}"
    assert leaks == [], "\n".join(leaks)
    assert Campaign.objects.get(pk=campaign.pk).title.startswith(SECRET)


def test_the_same_urls_do_show_it_to_its_owner(client, world):
    """The check above is not empty: the owner finds the draft on these pages."""
    client.force_login(world["draft"].owner)
    for url in (
        reverse("campaigns:detail", args=[world["draft"].pk]),
        reverse("campaigns:list") + "?q=Zéphyr",
        reverse("campaigns:search") + "?q=zephyr",
        reverse("campaigns:calendar") + f"?month={world['month']}",
    ):
        assert SECRET in client.get(url).content.decode(), url
    response = client.get(reverse("campaigns:attachment", args=[world["attachment"].pk]))
    assert response.status_code == 200
