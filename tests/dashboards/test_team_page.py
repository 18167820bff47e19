import re
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Stakeholder
from dashboards import drilldown
from notifications.models import Kind, Notification
from teams.models import Membership, Team
from tests.dashboards.refreshes import refreshes_queued, run_refreshes
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    make_manager,
    make_marketer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="Ventes", slug="ventes", ack_policy=Team.AckPolicy.EVERY_MEMBER)


def url(team):
    return reverse("dashboards:team", args=[team.slug])


def nudge_url(team):
    return reverse("dashboards:team_nudge", args=[team.slug])


def test_lists_pending_campaigns_and_missing_people(client, team):
    paul = MembershipFactory(team=team, user__full_name="Paul Pending").user
    anna = MembershipFactory(team=team, user__full_name="Anna Acked").user
    late = announced_campaign(teams=[team], title="Late one")
    soon = announced_campaign(teams=[team], title="Soon one")
    done_by_team = announced_campaign(teams=[team], title="All acknowledged")
    for person in (paul, anna):
        services.campaign_acknowledge(actor=person, campaign_id=done_by_team.pk, team_id=team.pk)
    services.campaign_acknowledge(actor=anna, campaign_id=soon.pk, team_id=team.pk)
    Stakeholder.objects.filter(campaign=late).update(due_at=timezone.now() - timedelta(hours=1))
    client.force_login(make_manager())

    response = client.get(url(team))

    assert response.status_code == 200
    rows = {row.campaign.title: row for row in response.context["pending"].rows}
    assert set(rows) == {"Late one", "Soon one"}
    assert rows["Late one"].is_overdue
    assert not rows["Soon one"].is_overdue
    assert [p.full_name for p in rows["Late one"].people] == ["Anna Acked", "Paul Pending"]
    assert [p.full_name for p in rows["Soon one"].people] == ["Paul Pending"]
    assert response.context["pending"].rows[0].campaign.title == "Late one"
    assert (response.context["pending"].total, response.context["pending"].overdue) == (2, 1)
    html = response.content.decode()
    assert "Overdue" in html
    assert "All acknowledged" not in html
    assert f'id="nudge-{late.pk}-{paul.pk}"' in html


def nudge_all_url(team, campaign):
    return reverse("dashboards:team_nudge_all", args=[team.slug]) + f"?campaign={campaign.pk}"


def nudge_cells(html: str) -> list[str]:
    return re.findall(r'<span class="nudge" id="nudge-[^"]+" role="status">.*?</span>', html, re.S)


def test_a_long_row_lists_its_people_when_opened(client, team):
    """Past 4 people a row says how many and reads who when it is opened: listed on the
    page, 20 campaigns by 16 people were 320 buttons and 100 kB, growing with the team."""
    people = [MembershipFactory(team=team).user for _ in range(16)]
    campaign = announced_campaign(teams=[team])
    client.force_login(make_manager())

    html = client.get(url(team)).content.decode()

    assert nudge_cells(html) == []
    assert "16 people" in html
    opened = nudge_all_url(team, campaign)
    assert f'hx-get="{opened}" hx-trigger="toggle once"' in html
    assert f'<a href="{opened}">See who, and nudge them</a>' in html  # without JavaScript

    listed = client.get(nudge_all_url(team, campaign), headers={"HX-Request": "true"})
    fragment = listed.content.decode()
    assert "<html" not in fragment
    cells = nudge_cells(fragment)
    assert [f'id="nudge-{campaign.pk}-{p.pk}"' in fragment for p in people] == [True] * 16
    assert len(cells) == 16
    # What htmx swaps, and disabling the button meanwhile, are said once on the list: a
    # button is its name, value and address.
    assert max(len(cell) for cell in cells) < 200, cells[0]
    assert 'hx-disabled-elt="closest button"' in fragment
    assert "HX-Request" in listed.get("Vary", "")


def test_a_short_row_lists_its_people_on_the_page(client, team):
    people = [MembershipFactory(team=team).user for _ in range(4)]
    campaign = announced_campaign(teams=[team])
    client.force_login(make_manager())

    html = client.get(url(team)).content.decode()

    assert len(nudge_cells(html)) == 4
    assert f'id="nudge-{campaign.pk}-{people[0].pk}"' in html
    assert "nudge-people" not in html


def test_the_page_does_not_grow_with_the_team(client):
    """Two teams alike but for their size: the same page, to a few bytes (the count)."""
    small = TeamFactory(name="Équipe A", slug="equipe-a", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    large = TeamFactory(name="Équipe B", slug="equipe-b", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    for team, size in ((small, 10), (large, 90)):
        for _ in range(size):
            MembershipFactory(team=team)
        for n in range(3):
            announced_campaign(teams=[team], title=f"Campagne {team.slug} {n}")
    client.force_login(make_manager())

    sizes = [len(client.get(url(team)).content) for team in (small, large)]

    assert abs(sizes[1] - sizes[0]) < 40, sizes


def test_opening_a_row_the_team_no_longer_owes_says_so(client, team):
    MembershipFactory(team=team)
    campaign = announced_campaign(teams=[team])
    Stakeholder.objects.filter(campaign=campaign).update(
        acknowledged_version=campaign.version, acknowledged_at=timezone.now()
    )
    client.force_login(make_manager())

    listed = client.get(nudge_all_url(team, campaign), headers={"HX-Request": "true"})

    assert listed.status_code == 200
    assert "Nothing left to nudge" in listed.content.decode()
    assert nudge_cells(listed.content.decode()) == []


def test_opening_a_row_is_for_those_who_see_the_team(client, team):
    campaign = announced_campaign(teams=[team])
    client.force_login(MembershipFactory(team=team).user)

    listed = client.get(nudge_all_url(team, campaign), headers={"HX-Request": "true"})

    assert listed.status_code == 403


def test_opening_a_row_costs_the_same_for_any_team_size(
    client, team, django_assert_max_num_queries
):
    campaign = announced_campaign(teams=[team])
    client.force_login(make_manager())
    counts = []
    for size in (5, 40):
        while Membership.objects.filter(team=team).count() < size:
            MembershipFactory(team=team)
        with django_assert_max_num_queries(20) as captured:
            listed = client.get(nudge_all_url(team, campaign), headers={"HX-Request": "true"})
        assert listed.status_code == 200
        assert len(nudge_cells(listed.content.decode())) == size
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_any_member_team_lists_every_member(client):
    team = TeamFactory(ack_policy=Team.AckPolicy.ANY_MEMBER)
    people = [MembershipFactory(team=team).user for _ in range(3)]
    announced_campaign(teams=[team])
    rows = drilldown.team_pending_acknowledgements(team=team).rows
    assert {p.pk for p in rows[0].people} == {p.pk for p in people}


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 200), ("lead", 200), ("other_lead", 403), ("member", 403), ("marketer", 403)],
)
def test_permissions(client, team, who, status):
    users = {
        "manager": make_manager,
        "lead": lambda: MembershipFactory(team=team, role=Membership.Role.LEAD).user,
        "other_lead": lambda: MembershipFactory(role=Membership.Role.LEAD).user,
        "member": lambda: MembershipFactory(team=team).user,
        "marketer": make_marketer,
    }
    client.force_login(users[who]())
    assert client.get(url(team)).status_code == status
    # No campaign 1 exists: those who may nudge are told so (404), the others 403.
    assert client.post(nudge_url(team), {"campaign": 1, "user": 1}).status_code == (
        403 if status == 403 else 404
    )


def test_anonymous_is_sent_to_log_in(client, team):
    assert client.get(url(team)).status_code == 302


def test_query_count_does_not_grow(client, team, django_assert_max_num_queries):
    client.force_login(make_manager())
    MembershipFactory(team=team)
    announced_campaign(teams=[team])
    with django_assert_max_num_queries(12) as small:
        client.get(url(team))
    for _ in range(5):
        MembershipFactory(team=team)
        announced_campaign(teams=[team])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url(team))
    assert len(response.context["pending"].rows) == 6


def test_pending_list_pages_by_urgency_with_a_keyset(client, team):
    MembershipFactory(team=team)
    now = timezone.now()
    campaigns = [announced_campaign(teams=[team], title=f"C{n}") for n in range(5)]
    # Due dates out of creation order; two share a due date, launch date breaks the tie.
    dues = [3, 1, 2, 2, -1]
    for campaign, hours in zip(campaigns, dues, strict=True):
        Stakeholder.objects.filter(campaign=campaign).update(due_at=now + timedelta(hours=hours))
    tied = sorted(["C2", "C3"], key=lambda title: campaigns[int(title[1])].launch_at)
    expected = ["C4", "C1", *tied, "C0"]

    titles, cursor, pages = [], "", 0
    while True:
        page = drilldown.team_pending_acknowledgements(team=team, cursor=cursor, page_size=2)
        titles += [row.campaign.title for row in page.rows]
        pages += 1
        assert (page.total, page.overdue) == (5, 1)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert titles == expected
    assert pages == 3

    # A tampered or foreign cursor falls back to the first page.
    first = drilldown.team_pending_acknowledgements(team=team, cursor="junk", page_size=2)
    assert [row.campaign.title for row in first.rows] == expected[:2]


def test_show_more_with_htmx_returns_only_the_next_rows(client, team, monkeypatch):
    monkeypatch.setattr(drilldown, "PENDING_PAGE_SIZE", 2)
    MembershipFactory(team=team)
    for n in range(3):
        announced_campaign(teams=[team], title=f"Campagne {n}")
    client.force_login(make_manager())

    html = client.get(url(team)).content.decode()
    assert html.count('<tr id="pending-') == 2 + 1  # two rows and the "more" row
    assert "3 campaigns wait for this team" in html
    cursor = re.search(r'href="\?after=([^"]+)"', html).group(1)

    fragment = client.get(f"{url(team)}?after={cursor}", headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body
    assert body.count('<tr id="pending-') == 1
    assert 'id="pending-more"' not in body

    # Without JavaScript the link gives a full page with a way back.
    full = client.get(f"{url(team)}?after={cursor}").content.decode()
    assert "<html" in full
    assert "Back to the most urgent" in full


def test_nudge_with_htmx_returns_the_fragment(client, team):
    person = MembershipFactory(team=team).user
    campaign = announced_campaign(teams=[team])
    client.force_login(make_manager())
    data = {"campaign": campaign.pk, "user": person.pk}

    response = client.post(nudge_url(team), data, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'id="nudge-{campaign.pk}-{person.pk}"' in html
    assert "Nudged" in html
    assert Notification.objects.filter(recipient=person, kind=Kind.REMINDER).exists()
    again = client.post(nudge_url(team), data, headers={"HX-Request": "true"})
    assert "Already nudged in the last hour" in again.content.decode()


def test_nudge_without_javascript_redirects_with_a_message(client, team):
    person = MembershipFactory(team=team).user
    campaign = announced_campaign(teams=[team])
    client.force_login(make_manager())
    response = client.post(
        nudge_url(team), {"campaign": campaign.pk, "user": person.pk}, follow=True
    )
    assert response.redirect_chain[-1][0] == url(team)
    assert "Reminder sent." in response.content.decode()
    # What the page's buttons send without JavaScript: one form, "campaign-person".
    other = MembershipFactory(team=team).user
    plain = client.post(nudge_url(team), {"nudge": f"{campaign.pk}-{other.pk}"}, follow=True)
    assert "Reminder sent." in plain.content.decode()
    outsider = MembershipFactory().user
    refused = client.post(
        nudge_url(team), {"campaign": campaign.pk, "user": outsider.pk}, follow=True
    )
    assert "nothing left to acknowledge" in refused.content.decode()
    assert client.post(nudge_url(team), {"campaign": "x"}).status_code == 400
    assert client.post(nudge_url(team), {"campaign": "9" * 30, "user": "1"}).status_code == 400


def test_page_shows_the_trend_chart_as_svg_and_table(client, team):
    client.force_login(make_manager())
    response = client.get(url(team))
    html = response.content.decode()
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    ElementTree.fromstring(html[start:end])  # noqa: S314 (our own output)
    assert len(response.context["trend"]) == 12
    assert "<table><caption>" in html


# --- the weekly trend --------------------------------------------------------------------

# Monday 2 November 2026, 00:30 in Paris is Sunday 1 November 23:30 UTC.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _stake(team, due_at, ack_at=None, *, acked_current=True):
    campaign = announced_campaign(teams=[team], launch_at=NOW + timedelta(days=30))
    stakeholder = Stakeholder.objects.get(campaign=campaign, team=team)
    stakeholder.due_at = due_at
    if ack_at is not None:
        stakeholder.acknowledged_at = ack_at
        stakeholder.acknowledged_version = campaign.version if acked_current else None
    stakeholder.save()
    return stakeholder


def test_weekly_trend_against_hand_computed_figures(team):
    with time_machine.travel(NOW, tick=False), timezone.override("Europe/Paris"):
        # Week of 2 Nov (W45): the 00:30 Paris due date belongs to Monday, not W44.
        monday_night = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
        _stake(team, monday_night, monday_night - timedelta(hours=1))  # on time
        _stake(team, monday_night, monday_night + timedelta(hours=1))  # late
        _stake(team, monday_night + timedelta(days=2))  # never
        _stake(team, monday_night, monday_night - timedelta(hours=2), acked_current=False)
        # Week of 16 Nov (W47): 1 of 1 on time.
        _stake(team, datetime(2026, 11, 18, 9, tzinfo=UTC), datetime(2026, 11, 17, tzinfo=UTC))
        # This week (W48): one due date passed (late), one still ahead (not judged).
        _stake(team, datetime(2026, 11, 24, 9, tzinfo=UTC))
        _stake(team, datetime(2026, 11, 27, 9, tzinfo=UTC))
        # Another team's figures do not count.
        _stake(TeamFactory(), datetime(2026, 11, 18, 9, tzinfo=UTC))

        trend = drilldown.team_weekly_trend(team=team)

    assert len(trend) == 12
    assert trend[0].monday == date(2026, 9, 7)
    assert trend[-1].monday == date(2026, 11, 23)
    figures = {week.label: (week.due, week.on_time, week.rate) for week in trend if week.due}
    assert figures == {
        "2026-W45": (4, 1, 25),
        "2026-W47": (1, 1, 100),
        "2026-W48": (1, 0, 0),
    }
    assert trend[0].rate is None


def test_trend_is_one_query(team, django_assert_num_queries):
    with django_assert_num_queries(1):
        drilldown.team_weekly_trend(team=team)


def test_inactive_members_are_not_listed(team):
    gone = UserFactory(is_active=False)
    MembershipFactory(team=team, user=gone)
    MembershipFactory(team=team)
    announced_campaign(teams=[team])
    rows = drilldown.team_pending_acknowledgements(team=team).rows
    assert gone.pk not in {p.pk for p in rows[0].people}


def test_a_team_named_script_is_escaped_in_the_page_and_chart(client):
    team = TeamFactory(name="<script>alert(1)</script>", slug="xss")
    client.force_login(make_manager())
    html = client.get(url(team)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: acknowledged on time" in html

    # A cursor that can no longer be read does not append the first page again.
    stale = client.get(f"{url(team)}?after=tampered", headers={"HX-Request": "true"})
    stale_body = stale.content.decode()
    assert '<tr id="pending-more">' in stale_body
    assert "can no longer continue" in stale_body
    assert stale_body.count('<tr id="pending-') == 1  # only the message row, no campaign


def test_pending_keyset_survives_ties_and_equal_due_dates(team):
    """Rows tied on due date and launch date come in id order, none skipped or repeated,
    whatever the page size."""
    MembershipFactory(team=team)
    campaigns = [announced_campaign(teams=[team], title=f"T{n}") for n in range(5)]
    due = timezone.now() + timedelta(hours=5)
    launch = timezone.now() + timedelta(days=3)
    for campaign in campaigns:
        Campaign.objects.filter(pk=campaign.pk).update(launch_at=launch)
        Stakeholder.objects.filter(campaign=campaign).update(due_at=due)
    expected = [c.title for c in sorted(campaigns, key=lambda c: c.stakeholders.get().pk)]
    for size in (1, 2, 3):
        titles, cursor = [], ""
        while True:
            page = drilldown.team_pending_acknowledgements(team=team, cursor=cursor, page_size=size)
            titles += [row.campaign.title for row in page.rows]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert titles == expected, size


def test_an_unreadable_cursor_without_javascript_is_simply_the_first_page(client, team):
    MembershipFactory(team=team)
    announced_campaign(teams=[team], title="Seule")
    client.force_login(make_manager())
    html = client.get(f"{url(team)}?after=tampered").content.decode()
    assert "Seule" in html
    assert "Back to the most urgent" not in html


def test_the_pending_list_is_kept_a_minute_but_who_still_owes_is_live(
    client, team, settings, monkeypatch
):
    settings.DASHBOARD_CACHE_SECONDS = 60
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "team"}
    }
    paul = MembershipFactory(team=team, user__full_name="Paul Pending").user
    anna = MembershipFactory(team=team, user__full_name="Anna Acked").user
    first = announced_campaign(teams=[team], title="First one")
    client.force_login(make_manager())
    assert "List as of" in client.get(url(team)).content.decode()

    services.campaign_acknowledge(actor=anna, campaign_id=first.pk, team_id=team.pk)
    announced_campaign(teams=[team], title="Second one")  # listed from the next minute
    kept = client.get(url(team))
    assert [row.campaign.title for row in kept.context["pending"].rows] == ["First one"]
    assert [p.pk for p in kept.context["pending"].rows[0].people] == [paul.pk]

    queued = refreshes_queued(monkeypatch)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        client.force_login(make_manager())
        stale = client.get(url(team)).context["pending"]
        assert [row.campaign.title for row in stale.rows] == ["First one"]
        run_refreshes(queued)  # what the worker does
        fresh = client.get(url(team)).context["pending"]
    assert {row.campaign.title for row in fresh.rows} == {"First one", "Second one"}
    assert fresh.total == 2
