"""The notice e-mail's HTML: fluid, the Acknowledge button first, brief headings smaller
than the title."""

import re
from html.parser import HTMLParser

import pytest

from notifications.channels import build_email, email_brief_html
from notifications.models import Channel, Kind, Notification
from tests.factories import make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db

BRIEF = "# Le message\n\nBonjour.\n\n## Points clés\n\n- Code valable 15 jours\n\n### Détail\n\nx"


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            style = dict(attrs).get("style") or ""
            size = re.search(r"font-size:(\d+)px", style)
            assert size, f"<{tag}> without an inline size: mail clients would use 2em"
            self.sizes.append((tag, int(size.group(1))))


def _html(kind: str = Kind.ANNOUNCED) -> str:
    team, (member,) = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team], body=BRIEF))
    row = Notification.objects.get(campaign=campaign, recipient=member, channel=Channel.EMAIL)
    row.kind = kind
    html, _mimetype = build_email(row).alternatives[0]
    return str(html)


def test_the_email_is_fluid_with_a_600px_table_only_for_outlook():
    html = _html()
    outside_mso = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html, flags=re.S)
    assert 'width="600"' not in outside_mso
    assert "max-width:600px" in outside_mso
    assert '<!--[if mso]><table role="presentation" width="600"' in html


def test_the_acknowledge_button_is_a_table_cell_above_the_brief():
    html = _html()
    button = re.search(
        r'<td align="center" bgcolor="#1d4ed8"[^>]*>\s*<a href="([^"]+/campaigns/ack/[^"]+)"', html
    )
    assert button, "the button's colour must be on a table cell (Outlook ignores it on <a>)"
    assert html.index(button.group(0)) < html.index("What customers receive")
    assert html.count("/campaigns/ack/") == 1


def test_notices_without_acknowledgement_have_no_button():
    assert "/campaigns/ack/" not in _html(Kind.CANCELLED)


def test_headings_inside_the_brief_are_smaller_than_the_title():
    parser = _Headings()
    parser.feed(_html())
    (title_tag, title_size), *brief = parser.sizes
    assert (title_tag, title_size) == ("h1", 22)
    assert brief  # the section heading and the brief's three
    assert all(size < title_size for _tag, size in brief)
    assert [tag for tag, _size in brief] == ["h2", "h3", "h4", "h5"]  # one h1 per e-mail


def test_brief_headings_go_two_levels_down_and_stop_at_h6():
    assert email_brief_html("<h1>a</h1><h5>b</h5><p>h1</p>") == (
        '<h3 style="margin:16px 0 6px;font-size:15px;line-height:1.35;">a</h3>'
        '<h6 style="margin:16px 0 6px;font-size:14px;line-height:1.35;">b</h6><p>h1</p>'
    )
