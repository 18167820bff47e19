"""Campaign Markdown never loads an image from someone else's host (a tracking pixel
would report who read the campaign, and when): images are shown as links."""

import re

import pytest
from django.urls import reverse

from core.markdown import render_markdown
from notifications.channels import build_email
from notifications.models import Channel, Notification
from tests.factories import CampaignFactory, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

BODY = (
    "## Visuel\n\n"
    '![pixel](https://evil.example/p.gif "Suivi")\n\n'
    "![](https://evil.example/no-alt.png)\n\n"
    "<img src=https://evil.example/raw.gif>\n\n"
    "[site](https://example.com)"
)


def test_markdown_images_become_links_to_the_image():
    html = render_markdown(BODY)
    assert "<img" not in html
    assert re.search(r'<a href="https://evil\.example/p\.gif"[^>]*>pixel</a>', html)
    assert re.search(
        r'<a href="https://evil\.example/no-alt\.png"[^>]*>https://evil\.example/no-alt\.png</a>',
        html,
    )
    assert "raw.gif" not in html  # a raw <img> tag is dropped with its source
    assert '<a href="https://example.com"' in html


def test_an_image_with_a_dangerous_source_leaves_no_link():
    html = render_markdown("![x](javascript:alert(1))")
    assert "javascript" not in html
    assert "<img" not in html


@pytest.mark.django_db
def test_the_campaign_page_loads_no_remote_image(client, marketer):
    campaign = CampaignFactory(owner=marketer, body=BODY)
    client.force_login(marketer)
    html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert not re.search(r"<img[^>]*evil\.example", html)
    assert 'href="https://evil.example/p.gif"' in html


@pytest.mark.django_db
def test_the_announcement_email_loads_no_remote_image():
    team, _members = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team], body=BODY))
    email = build_email(Notification.objects.get(campaign=campaign, channel=Channel.EMAIL))
    html = email.alternatives[0][0]
    assert not re.search(r"<img[^>]*evil\.example", html)
    assert 'href="https://evil.example/p.gif"' in html
