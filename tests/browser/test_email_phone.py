"""The notice e-mail as a phone's mail app shows it: 390 px wide, no sideways scroll,
the Acknowledge button before the brief."""

import pytest

from notifications.channels import build_email
from notifications.models import Channel, Notification
from tests.factories import make_marketer, team_with_members
from tests.support.browser import shot
from tests.support.servers import announce, campaign_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
BRIEF = (
    "# Ce que les clients reçoivent\n\nUn e-mail avec un code promo personnel "
    "https://www.example.com/une/adresse/tres/longue/qui/ne/se/coupe/pas/toute/seule\n\n"
    "## Points clés\n\n- Code valable 15 jours\n- Non cumulable avec les remises pro"
)


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}])
def test_the_notice_email_fits_a_phone_with_the_button_first(browser_page, viewport):
    team, (member,) = team_with_members(1)
    campaign = announce(
        campaign_for(owner=make_marketer(), teams=[team], title="Soldes d'hiver", body=BRIEF)
    )
    row = Notification.objects.get(campaign=campaign, recipient=member, channel=Channel.EMAIL)
    html, _mimetype = build_email(row).alternatives[0]
    page = browser_page
    page.set_viewport_size(viewport)
    page.set_content(str(html))

    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    card = page.locator("td.card").bounding_box()
    assert card is not None
    assert card["width"] <= 600
    button = page.get_by_role("link", name="Acknowledge").bounding_box()
    brief = page.get_by_role("heading", name="What customers receive and what to tell them")
    brief_box = brief.bounding_box()
    assert button is not None
    assert brief_box is not None
    assert button["y"] + button["height"] < brief_box["y"]
    assert button["height"] >= 40  # a finger-sized target
    title = page.get_by_role("heading", level=1).evaluate("h => getComputedStyle(h).fontSize")
    inner = page.get_by_role("heading", name="Points clés").evaluate(
        "h => getComputedStyle(h).fontSize"
    )
    assert float(inner.removesuffix("px")) < float(title.removesuffix("px"))
    shot(page, f"email-notice-{viewport['width']}")
