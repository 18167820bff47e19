"""A person's export: everything about them, nothing about anyone else, at a fixed cost."""

import io
import json
import zipfile

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from accounts.selectors import SECTIONS, personal_data_of
from api.services import api_token_create
from campaigns import services
from campaigns.services.snooze import NEXT_WORKING_DAY
from chat.models import ChatIdentity
from notifications.models import SubscriptionToken
from teams.models import Membership
from tests.factories import MembershipFactory, TeamFactory, announced_campaign, make_marketer

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_people():
    """Alice and Bob share a team and a campaign; both acknowledge with a note and write
    feedback, so each one's rows sit next to the other's everywhere."""
    owner = make_marketer(full_name="Octave Owner", email="octave@example.test")
    shared = TeamFactory(name="Shared desk")
    alice = MembershipFactory(
        team=shared, user__full_name="Alice Aubert", user__email="alice@example.test"
    ).user
    bob = MembershipFactory(
        team=shared, user__full_name="Bob Bernard", user__email="bob@example.test"
    ).user
    MembershipFactory(team=TeamFactory(name="Alice only"), user=alice, role=Membership.Role.LEAD)
    campaign = announced_campaign(owner=owner, teams=[shared], title="Spring offer")
    shared.ack_policy = shared.AckPolicy.EVERY_MEMBER
    shared.save()
    services.campaign_acknowledge(actor=alice, campaign_id=campaign.pk, note="alice-note-xyz")
    services.campaign_acknowledge(actor=bob, campaign_id=campaign.pk, note="bob-note-qwv")
    services.feedback_post(
        actor=alice, campaign_id=campaign.pk, tag="question", body="alice-question-kjh"
    )
    services.feedback_post(actor=bob, campaign_id=campaign.pk, tag="message", body="bob-text-zzp")
    SubscriptionToken.objects.create(user=alice, token="alice-secret-token-value")
    return owner, alice, bob, campaign


def _texts_of(client, person):
    """The JSON export and each CSV of the zip, as text, downloaded as `person`."""
    client.force_login(person)
    url = reverse("accounts:my_data")
    as_json = client.get(url, {"format": "json"})
    as_zip = client.get(url, {"format": "csv"})
    assert as_json.status_code == 200
    assert as_json["Content-Type"].startswith("application/json")
    assert "attachment" in as_json["Content-Disposition"]
    assert as_zip.status_code == 200
    assert as_zip["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(as_zip.content))
    assert sorted(archive.namelist()) == sorted(f"{section}.csv" for section in SECTIONS)
    csvs = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    return as_json.content.decode(), csvs


def test_the_export_holds_the_persons_data_and_nobody_elses(client, two_people):
    _owner, alice, _bob, _campaign = two_people

    as_json, csvs = _texts_of(client, alice)
    data = json.loads(as_json)

    assert data["profile"] == [data["profile"][0]]
    assert data["profile"][0]["email"] == "alice@example.test"
    assert data["profile"][0]["full_name"] == "Alice Aubert"
    assert {(m["team"], m["role"]) for m in data["memberships"]} == {
        ("Shared desk", "member"),
        ("Alice only", "lead"),
    }
    assert [(a["campaign"], a["note"]) for a in data["acknowledgements"]] == [
        ("Spring offer", "alice-note-xyz")
    ]
    assert [f["text"] for f in data["feedback"]] == ["alice-question-kjh"]
    assert data["notifications"], "the announcement reached her"
    assert {n["summary"]["title"] for n in data["notifications"]} == {"Spring offer"}
    assert len(data["subscription_tokens"]) == 1
    assert data["campaigns_owned"] == []
    everything = [as_json, *csvs.values()]
    for text in everything:
        for foreign in (
            "Bob Bernard",
            "bob@example.test",
            "bob-note-qwv",
            "bob-text-zzp",
            "Octave Owner",
            "octave@example.test",
            "alice-secret-token-value",
        ):
            assert foreign not in text
    assert "alice-note-xyz" in csvs["acknowledgements.csv"]
    assert "alice-question-kjh" in csvs["feedback.csv"]
    assert "Shared desk" in csvs["memberships.csv"]


def test_an_owners_export_leaves_out_what_others_wrote_in_their_notices(client, two_people):
    owner, _alice, _bob, _campaign = two_people

    as_json, csvs = _texts_of(client, owner)
    data = json.loads(as_json)

    assert [c["title"] for c in data["campaigns_owned"]] == ["Spring offer"]
    assert data["profile"][0]["roles"] == ["Marketer"]
    # The owner was told about both notes and both messages: the notices are listed,
    # their authors' names and words are not (they are the authors' data).
    assert {n["kind"] for n in data["notifications"]} >= {"feedback"}
    for text in [as_json, *csvs.values()]:
        for foreign in ("Alice Aubert", "alice@example.test", "alice-note-xyz", "bob-text-zzp"):
            assert foreign not in text


def test_the_export_costs_the_same_queries_however_long_the_history(
    django_assert_max_num_queries,
):
    newcomer = MembershipFactory().user
    veteran = make_marketer()
    for _ in range(6):
        team = TeamFactory()
        MembershipFactory(team=team, user=veteran)
        campaign = announced_campaign(owner=veteran, teams=[team])
        services.campaign_acknowledge(actor=veteran, campaign_id=campaign.pk, note="ok")
        services.feedback_post(actor=veteran, campaign_id=campaign.pk, tag="message", body="x")

    with django_assert_max_num_queries(17):
        small = personal_data_of(person=newcomer)
    with django_assert_max_num_queries(17):
        large = personal_data_of(person=veteran)

    assert len(large["acknowledgements"]) == 6
    assert len(large["campaigns_owned"]) == 6
    assert len(large["feedback"]) == 6
    assert small["acknowledgements"] == []


def test_a_formula_in_a_title_is_neutralised_in_the_csv(client):
    owner = make_marketer()
    member = MembershipFactory()
    campaign = announced_campaign(owner=owner, teams=[member.team], title="=HYPERLINK(1)")
    services.campaign_acknowledge(actor=member.user, campaign_id=campaign.pk)

    _, csvs = _texts_of(client, member.user)

    assert "'=HYPERLINK(1)" in csvs["acknowledgements.csv"]


def test_an_unknown_format_is_a_clear_400(client):
    client.force_login(MembershipFactory().user)

    for query in ({}, {"format": "xml"}, {"format": ""}):
        response = client.get(reverse("accounts:my_data"), query)
        assert response.status_code == 400
        assert "format=json, format=csv or format=xlsx" in response.content.decode()


def test_the_export_needs_a_login(client):
    response = client.get(reverse("accounts:my_data"), {"format": "json"})

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_profile_links_to_both_downloads_and_says_what_they_hold(client):
    client.force_login(MembershipFactory().user)

    page = client.get(reverse("accounts:profile")).content.decode()

    assert f"{reverse('accounts:my_data')}?format=json" in page
    assert f"{reverse('accounts:my_data')}?format=csv" in page
    assert f"{reverse('accounts:my_data')}?format=xlsx" in page
    assert "your acknowledgements and the notes you left" in page


def test_the_workbook_has_a_sheet_per_section_with_formulas_kept_as_text(client):
    import openpyxl

    owner = make_marketer()
    member = MembershipFactory()
    campaign = announced_campaign(owner=owner, teams=[member.team], title="=HYPERLINK(1)")
    services.campaign_acknowledge(actor=member.user, campaign_id=campaign.pk)
    client.force_login(member.user)

    response = client.get(reverse("accounts:my_data"), {"format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    _, csvs = _texts_of(client, member.user)
    assert sorted(workbook.sheetnames) == sorted(name.removesuffix(".csv") for name in csvs)
    cells = [c for row in workbook["acknowledgements"].iter_rows() for c in row]
    [title] = [c for c in cells if c.value == "=HYPERLINK(1)"]
    assert title.data_type == "s"  # text, exactly as written, never a formula


def test_the_export_holds_what_else_ties_the_account_and_never_a_secret(client):
    """A "not ready" objection, a snoozed reminder, an API token, a second factor, a
    connected chat account and what the security log recorded the person doing; Bob's
    stay out, and no token hash or authenticator secret goes into the file."""
    owner = make_marketer(full_name="Octave Owner")
    team = TeamFactory(name="Front desk")
    alice = MembershipFactory(team=team, user__full_name="Alice Aubert").user
    bob = MembershipFactory(team=team, user__full_name="Bob Bernard").user
    campaign = announced_campaign(owner=owner, teams=[team], title="Spring offer")
    services.stakeholder_not_ready(
        actor=alice, campaign_id=campaign.pk, team_id=team.pk, reason="alice-objection-rrt"
    )
    services.stakeholder_not_ready(
        actor=bob, campaign_id=campaign.pk, team_id=team.pk, reason="bob-objection-ppq"
    )
    services.reminders_snooze(actor=alice, campaign_id=campaign.pk, choice=NEXT_WORKING_DAY)
    made = api_token_create(actor=alice, name="Mon tableur", scope="read", expires_in_days=30)
    Authenticator.objects.create(
        user=alice, type=Authenticator.Type.TOTP, data={"secret": "alice-totp-secret"}
    )
    for person, chat_id in ((alice, "U0ALICE"), (bob, "U0BOB")):
        ChatIdentity.objects.create(
            platform="slack", workspace_id="T1", external_user_id=chat_id, user=person
        )

    as_json, csvs = _texts_of(client, alice)
    data = json.loads(as_json)

    assert [(row["kind"], row["team"], row["text"]) for row in data["not_ready"]] == [
        ("not_ready", "Front desk", "alice-objection-rrt")
    ]
    assert [row["campaign"] for row in data["reminder_snoozes"]] == ["Spring offer"]
    assert [(row["name"], row["scope"]) for row in data["api_tokens"]] == [("Mon tableur", "read")]
    assert [row["type"] for row in data["second_factors"]] == ["totp"]
    assert [row["user_id"] for row in data["chat_identities"]] == ["U0ALICE"]
    assert "api_token_created" in {row["action"] for row in data["audit_log"]}
    for text in [as_json, *csvs.values()]:
        for foreign in (
            "bob-objection-ppq",
            "U0BOB",
            "Bob Bernard",
            "alice-totp-secret",
            made.secret,
            made.token.key_hash,
        ):
            assert foreign not in text
