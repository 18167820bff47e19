"""One plain test per cause of a server error that fuzzing found (test_no_server_error.py)
or the security review reported, so each fix stays even when the random run does not
hit that input again."""

from urllib.parse import urlencode

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from campaigns import selectors as campaign_selectors
from campaigns.models import Acknowledgement, Attachment, Campaign, Stakeholder
from core.bounds import HOURS_MAX, INT4_MAX
from notifications.tokens import AckTokenError, ack_token_read
from tests.campaigns.files import png
from tests.factories import TeamFactory, UserFactory, announced_campaign

pytestmark = pytest.mark.django_db

ACK_SALT = "passerelle.notifications.ack-link"


@pytest.fixture
def lenient_client() -> Client:
    # A 500 comes back as a response, as a browser would see it, not as an exception.
    return Client(raise_request_exception=False)


@pytest.fixture
def announced(marketer, support_team) -> Campaign:
    return announced_campaign(owner=marketer, teams=[support_team])


# --- anymail: a provider that is not configured ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/anymail/brevo/inbound/",
        "/anymail/mailgun/tracking/",
        "/anymail/amazon_ses/tracking/",
        "/anymail/mandrill/tracking/",
    ],
)
def test_webhook_of_an_unconfigured_provider_is_not_found(lenient_client, url):
    # (Mandrill reads its key only for a POST: a GET is refused as a method first.)
    assert lenient_client.get(url).status_code in (404, 405)
    assert lenient_client.post(url, {}).status_code == 404


def test_webhook_of_a_configured_provider_still_answers(lenient_client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "k" * 20}
    # Configured: anymail's own checks answer (basic auth missing), not a 404.
    assert lenient_client.post("/anymail/mailgun/tracking/", {}).status_code in (400, 401, 403)


# --- allauth's e-mail page under strict templates -------------------------------------


def test_email_page_renders_with_strict_templates(client, advisor):
    # pytest runs with --fail-on-template-vars: allauth's field element printed
    # attrs.errors, which the radio list of addresses does not have.
    client.force_login(advisor)
    response = client.get("/accounts/email/")
    assert response.status_code == 200
    assert advisor.email in response.text


# --- the admin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/admin/campaigns/campaign/", "/admin/teams/team/add/", "/admin/accounts/user/"]
)
def test_admin_refuses_an_empty_to_field(lenient_client, url):
    lenient_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = lenient_client.get(url, {"_to_field": ""})
    assert response.status_code == 400
    assert "_to_field" in response.text


@pytest.mark.parametrize(
    "query",
    [{"channel": "e\x00mail"}, {"status__exact": "\x00"}, {"q": "carte\x00"}, {"o\x00": "1"}],
    ids=["choice filter", "exact filter", "search", "parameter name"],
)
def test_admin_refuses_a_nul_character_in_a_query_parameter(lenient_client, query):
    """Found by the fuzzer on PostgreSQL: a changelist filtered by `?channel=` with a NUL
    inside failed with a 500 (PostgreSQL text cannot hold one); it is a 400 now."""
    lenient_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for method in (lenient_client.get, lenient_client.post):
        response = method("/admin/campaigns/campaign/?" + urlencode(query))
        assert response.status_code == 400
        assert "NUL character" in response.text


def admin_team_change(client, team, **changes: str):
    """A superuser posts the team's admin change form: its current values, no membership
    rows, with `changes` on top."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {
        "name": team.name,
        "slug": team.slug,
        "kind": team.kind,
        "ack_deadline_hours": "48",
        "reminder_hours_before": "12",
        "ack_policy": team.ack_policy,
        "time_zone": team.time_zone,
        "working_days": list(team.working_days),
        "work_starts_at": team.work_starts_at.strftime("%H:%M"),
        "work_ends_at": team.work_ends_at.strftime("%H:%M"),
        "holiday_country": team.holiday_country,
        "language": team.language,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    return client.post(f"/admin/teams/team/{team.pk}/change/", {**form, **changes})


def test_admin_team_refuses_a_deadline_beyond_a_year(client):
    team = TeamFactory()
    response = admin_team_change(client, team, ack_deadline_hours=str(INT4_MAX))
    assert response.status_code == 200  # the form again, with its error
    assert f"less than or equal to {HOURS_MAX}" in response.text
    team.refresh_from_db()
    assert team.ack_deadline_hours == 48


def test_admin_cannot_add_an_acknowledgement(lenient_client):
    lenient_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = lenient_client.post("/admin/campaigns/acknowledgement/add/", {"version": "9" * 30})
    assert response.status_code == 403
    assert not Acknowledgement.objects.exists()


# --- integers beyond their column --------------------------------------------------------


@pytest.mark.parametrize("field", ["estimated_recipients", "version"])
def test_integer_fields_are_bounded_in_the_model(field):
    campaign = Campaign(**{field: INT4_MAX + 1})
    with pytest.raises(ValidationError) as refused:
        campaign.clean_fields(exclude=[f.name for f in Campaign._meta.fields if f.name != field])
    assert field in refused.value.message_dict


def test_team_hours_are_bounded_in_the_model():
    team = TeamFactory.build(ack_deadline_hours=HOURS_MAX + 1, reminder_hours_before=-1)
    with pytest.raises(ValidationError) as refused:
        team.full_clean()
    assert {"ack_deadline_hours", "reminder_hours_before"} <= set(refused.value.message_dict)


def test_campaign_form_refuses_recipients_beyond_the_column(client, marketer, support_team):
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:create"),
        {
            "title": "Soldes",
            "channel": Campaign.Channel.EMAIL,
            "estimated_recipients": str(2**40),
            "teams": [support_team.pk],
        },
    )
    assert response.status_code == 200
    assert "estimated_recipients" in response.context["form"].errors
    assert not Campaign.objects.filter(title="Soldes").exists()


# --- forged acknowledge tokens and cursors ----------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"u": 10**30, "c": 1, "v": 1},
        {"u": 1, "c": 2**63, "v": 1},
        {"u": 1, "c": 1, "v": 2**31},
        {"u": -1, "c": 1, "v": 1},
        {"u": True, "c": 1, "v": 1},
        {"u": 1.5, "c": 1, "v": 1},
        {"u": "1", "c": 1, "v": 1},
    ],
)
def test_ack_token_claims_out_of_range_are_invalid(claims):
    with pytest.raises(AckTokenError) as refused:
        ack_token_read(signing.dumps(claims, salt=ACK_SALT, compress=True))
    assert refused.value.reason == "invalid"


def test_ack_link_with_an_absurd_campaign_id_is_a_clear_400(lenient_client, advisor):
    lenient_client.force_login(advisor)
    token = signing.dumps({"u": advisor.pk, "c": 10**30, "v": 1}, salt=ACK_SALT)
    response = lenient_client.get(reverse("campaigns:acknowledge_link", args=[token]))
    assert response.status_code == 400
    assert "link" in response.text.lower()


@pytest.mark.parametrize(
    "values",
    [
        ["0001-01-01T00:00:00+00:00", 1],
        ["9999-12-31T23:59:59+14:00", 2**63],
        ["2026-01-01T00:00:00", "x"],
        [None, None, None, None],
        [True, 1.5],
    ],
)
def test_forged_list_cursors_give_the_first_page(client, marketer, announced, values):
    client.force_login(marketer)
    cursor = signing.dumps(values, salt=campaign_selectors.CURSOR_SALT)
    response = client.get(reverse("campaigns:list"), {"cursor": cursor})
    assert response.status_code == 200
    assert announced.title in response.text


# --- next=… on the buttons ------------------------------------------------------------


@pytest.mark.parametrize("next_value", ["foo", "//evil.example/", "https://evil.example/", "\x00"])
def test_acknowledge_with_a_foreign_next_goes_to_the_campaign(
    client, advisor, announced, next_value
):
    client.force_login(advisor)
    response = client.post(
        reverse("campaigns:acknowledge", args=[announced.pk]),
        {"version": announced.version, "next": next_value},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[announced.pk])
    assert Stakeholder.objects.get(campaign=announced).acknowledged_version == announced.version


def test_feed_acknowledge_with_a_foreign_next_goes_to_the_feed(client, advisor, announced):
    client.force_login(advisor)
    response = client.post(
        reverse("feed:acknowledge", args=[announced.pk]),
        {"version": announced.version, "next": "foo"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("feed:this_week")
    assert Stakeholder.objects.get(campaign=announced).acknowledged_version == announced.version


def test_attachment_remove_with_a_foreign_next_removes_then_goes_to_the_campaign(
    client, marketer, announced
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from campaigns import services

    attachment = services.attachment_add(
        actor=marketer,
        campaign_id=announced.pk,
        uploaded_file=SimpleUploadedFile("a.png", png(), content_type="image/png"),
    )
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:attachment_remove", args=[attachment.pk]), {"next": "foo"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[announced.pk])
    assert not Attachment.objects.filter(pk=attachment.pk).exists()


# --- ids beyond any column in forms and buttons -------------------------------------------


@pytest.mark.parametrize("team", [str(2**63), str(10**30), "-1", "x"])
def test_acknowledge_with_an_absurd_team_is_refused_with_a_message(
    client, advisor, announced, team
):
    client.force_login(advisor)
    response = client.post(
        reverse("campaigns:acknowledge", args=[announced.pk]),
        {"version": announced.version, "team": team},
        follow=True,
    )
    assert response.status_code == 200
    assert "could not be read" in response.text
    assert Stakeholder.objects.get(campaign=announced).acknowledged_version is None


@pytest.mark.parametrize("campaign", [str(2**63), str(10**30), "-5", "é"])
def test_nudge_with_an_absurd_campaign_is_not_a_server_error(
    lenient_client, manager, support_team, campaign
):
    lenient_client.force_login(manager)
    response = lenient_client.post(
        reverse("dashboards:team_nudge", args=[support_team.slug]),
        {"campaign": campaign, "user": "1"},
    )
    assert response.status_code in (400, 404)


def test_campaign_page_with_an_id_beyond_bigint_is_not_found(lenient_client, marketer):
    lenient_client.force_login(marketer)
    assert lenient_client.get(f"/campaigns/{2**64}/").status_code == 404
    response = lenient_client.post(f"/campaigns/{10**30}/acknowledge/", {"version": "1"})
    assert response.status_code == 404


def test_admin_changelist_with_bad_lookups_twice_renders(lenient_client):
    # `?e=` is the changelist's "the lookups were wrong" flag: its page rendered without
    # the site's context (site_title), a missing variable under strict templates.
    lenient_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = lenient_client.get("/admin/campaigns/campaign/", {"e": "", "nonsense__gt": "x"})
    assert response.status_code == 200
    assert "Database error" in response.text


ABSURD_CURSORS = [
    ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00", 1],
    ["9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59-14:00", 2**63],
    ["2026-W01", "9999-12-31T23:59:59+14:00", 1],
    ["x", None, -1],
    [1, 2, 3],
]


@pytest.mark.parametrize("values", ABSURD_CURSORS)
def test_forged_cursors_on_every_keyset_page_give_a_page(
    client, manager, advisor, support_team, announced, values
):
    from dashboards.drilldown import PENDING_CURSOR_SALT
    from feed.selectors import CURSOR_SALT as FEED_SALT
    from notifications.selectors import INBOX_CURSOR_SALT

    pages = [
        (advisor, reverse("feed:this_week"), "cursor", FEED_SALT),
        (advisor, reverse("notifications:inbox"), "before", INBOX_CURSOR_SALT),
        (
            manager,
            reverse("dashboards:team", args=[support_team.slug]),
            "after",
            PENDING_CURSOR_SALT,
        ),
    ]
    for user, url, name, salt in pages:
        client.force_login(user)
        response = client.get(url, {name: signing.dumps(values, salt=salt)})
        assert response.status_code == 200, url


# --- a NUL character in a bare posted field (PostgreSQL refuses it in text and JSON) ----


def test_cancel_with_a_nul_in_the_reason_is_refused_and_changes_nothing(
    client, marketer, announced
):
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:cancel", args=[announced.pk]), {"reason": "Budget\x00"}, follow=True
    )
    assert response.status_code == 200
    assert "cannot be stored" in response.text
    assert Campaign.objects.get(pk=announced.pk).status == Campaign.Status.ANNOUNCED


def test_override_done_with_a_nul_in_the_reason_is_refused(manager, announced):
    from campaigns import services
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        services.campaign_override_done(
            actor=manager, campaign_id=announced.pk, reason="Urgent\x00"
        )
    assert "reason" in refused.value.field_errors
    assert Campaign.objects.get(pk=announced.pk).status == Campaign.Status.ANNOUNCED


def test_ack_link_note_with_a_nul_is_refused_on_the_page(client, advisor, announced):
    from notifications.tokens import ack_token_make

    client.force_login(advisor)
    token = ack_token_make(user_id=advisor.pk, campaign_id=announced.pk, version=announced.version)
    response = client.post(reverse("campaigns:acknowledge_link", args=[token]), {"note": "ok\x00"})
    assert response.status_code == 200
    assert "cannot be stored" in response.text
    assert Stakeholder.objects.get(campaign=announced).acknowledged_version is None


def test_admin_action_with_unreadable_selected_rows_is_a_400(lenient_client, announced):
    lenient_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = lenient_client.post(
        "/admin/campaigns/feedback/",
        {"action": "delete_selected", "index": "0", "_selected_action": ["1", "abc"]},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("user", ["0001-01-01", "abc", str(10**30)])
def test_admin_team_inline_with_an_unreadable_user_shows_the_form(client, user):
    # The membership inline's autocomplete widget looked the posted user up as it was.
    team = TeamFactory()
    response = admin_team_change(
        client,
        team,
        **{
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-user": user,
            "memberships-0-role": "member",
        },
    )
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors


@pytest.mark.parametrize("token", ["\x00", "abc\x00def"])
def test_subscription_token_with_a_nul_is_not_found(lenient_client, token):
    from notifications.subscriptions import subscription_user

    assert subscription_user(token=token) is None
    response = lenient_client.get(reverse("subscriptions:atom", args=[token]))
    assert response.status_code == 404
