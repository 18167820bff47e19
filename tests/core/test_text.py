"""Names and titles: bidi controls stripped, control characters refused with a message,
and e-mail headers built from old rows that still hold a line break never fail."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.forms import ProfileForm
from accounts.models import User
from campaigns import services as campaign_services
from campaigns.models import Campaign, Feedback
from campaigns.services import CampaignInput
from core.errors import DomainError
from core.text import (
    ONE_LINE_MESSAGE,
    document_safe,
    has_control_characters,
    header_safe,
    strip_bidi,
)
from notifications import services as notification_services
from notifications.models import Channel, Notification
from teams.models import Team
from tests.factories import TeamFactory, UserFactory, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"]
BIDI += ["\u2069", "\u200e", "\u200f", "\u061c"]
CONTROLS = ["\n", "\r", "\t", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\u200b", "\ufeff"]


@pytest.mark.parametrize("character", BIDI)
def test_bidi_controls_are_stripped(character):
    assert strip_bidi(f"Soldes{character} 2027") == "Soldes 2027"
    assert not has_control_characters(f"Soldes{character} 2027")


@pytest.mark.parametrize("character", CONTROLS)
def test_control_characters_are_found(character):
    assert has_control_characters(f"Eve{character}Bcc: x@evil.example")


def test_letters_of_every_script_and_joiners_are_not_control_characters():
    for name in ["Zoë Œuvre-d'Art", "محمد", "मनोज\u200d", "می\u200cخواهم", "👩\u200d💻 Équipe"]:
        assert not has_control_characters(name)


def test_header_safe_makes_one_clean_line_of_anything():
    assert header_safe("Note from Eve\nBcc: x@evil.example\r\n on\tSoldes") == (
        "Note from Eve Bcc: x@evil.example on Soldes"
    )
    assert header_safe("\u202eevil\u2028 \x00name ") == "evil name"


# --- names: people and teams --------------------------------------------------------------


@pytest.mark.django_db
class TestNames:
    def test_the_profile_form_strips_bidi_controls(self):
        person = UserFactory()
        form = ProfileForm(
            {"full_name": "Eve \u202eevE", "language": "en", "time_zone": "Europe/Paris"},
            instance=person,
        )
        assert form.is_valid(), form.errors
        assert form.save().full_name == "Eve evE"

    @pytest.mark.parametrize("character", ["\n", "\t", "\x07", "\u2028"])
    def test_the_profile_page_refuses_a_name_on_two_lines(self, client, character):
        person = UserFactory(full_name="Eve")
        client.force_login(person)
        response = client.post(
            reverse("accounts:profile"),
            {"full_name": f"Eve{character}Bcc", "language": "en", "time_zone": "Europe/Paris"},
        )
        assert response.status_code == 200
        assert response.context["form"].errors["full_name"] == [ONE_LINE_MESSAGE]
        assert "A name must fit on one line" in response.content.decode()
        person.refresh_from_db()
        assert person.full_name == "Eve"

    def test_the_profile_service_refuses_it_too(self):
        person = UserFactory(full_name="Eve")
        data = account_services.ProfileInput(
            full_name="Eve\nBcc", language="en", time_zone="Europe/Paris"
        )
        with pytest.raises(ValidationError) as refused:
            account_services.profile_update(user=person, data=data)
        assert refused.value.message_dict["full_name"] == [ONE_LINE_MESSAGE]
        person.refresh_from_db()
        assert person.full_name == "Eve"

    def test_a_team_name_is_one_line_without_bidi_controls(self):
        team = TeamFactory.build(name="Support\u202e")
        team.full_clean(exclude=["slug"])
        assert team.name == "Support"
        bad = TeamFactory.build(name="Support\nVIP")
        with pytest.raises(ValidationError) as refused:
            bad.full_clean(exclude=["slug"])
        assert refused.value.message_dict["name"] == [ONE_LINE_MESSAGE]

    def test_the_admin_team_form_shows_the_error(self, admin_client):
        response = admin_client.post(
            reverse("admin:teams_team_add"),
            {
                "name": "Support\tVIP",
                "slug": "support-vip",
                "kind": "other",
                "ack_deadline_hours": 48,
                "reminder_hours_before": 12,
                "ack_policy": "any",
                "webhook_format": "slack",
            },
        )
        assert response.status_code == 200
        assert "A name must fit on one line" in response.content.decode()
        assert not Team.objects.filter(slug="support-vip").exists()


# --- campaign titles, audiences and summaries ---------------------------------------------


def _input(**changes: object) -> CampaignInput:
    values: dict[str, object] = {
        "title": "Relance panier",
        "channel": Campaign.Channel.EMAIL,
        "launch_at": timezone.now() + timedelta(days=5),
    }
    values.update(changes)
    return CampaignInput(**values)  # type: ignore[arg-type]


@pytest.mark.django_db
class TestCampaignText:
    def test_bidi_controls_are_stripped_from_title_audience_and_summary(self):
        campaign = campaign_services.campaign_create(
            actor=make_marketer(),
            data=_input(
                title="Soldes \u202e7202\u202c",
                audience="Clients\u2066 VIP\u2069",
                summary="Ligne 1\u200f\nLigne 2",
            ),
        )
        campaign.refresh_from_db()
        assert campaign.title == "Soldes 7202"
        assert campaign.audience == "Clients VIP"
        assert campaign.summary == "Ligne 1\nLigne 2"  # a summary may have lines

    @pytest.mark.parametrize("field", ["title", "audience"])
    @pytest.mark.parametrize("character", ["\n", "\t", "\x00", "\u2028"])
    def test_a_title_or_audience_with_control_characters_is_refused(self, field, character):
        with pytest.raises(DomainError) as refused:
            campaign_services.campaign_create(
                actor=make_marketer(), data=_input(**{field: f"Soldes{character}2027"})
            )
        assert "must fit on one line" in refused.value.field_errors[field][0]
        assert Campaign.objects.count() == 0

    def test_the_form_shows_the_error_next_to_the_title(self, client, support_team):
        client.force_login(make_marketer())
        response = client.post(
            reverse("campaigns:create"),
            {
                "title": "Soldes\x07 2027",
                "channel": "email",
                "audience": "Tous",
                "estimated_recipients": "10",
                "launch_at": (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
                "summary": "",
                "body": "",
                "objective": "",
                "teams": [support_team.pk],
            },
        )
        assert response.status_code == 200
        assert "The title must fit on one line" in response.content.decode()
        assert Campaign.objects.count() == 0


# --- e-mails for people whose stored name predates the rule -------------------------------


@pytest.mark.django_db
def test_a_name_with_a_line_break_in_the_database_never_stops_an_email(mailoutbox):
    team, (eve,) = team_with_members(1)
    owner = make_marketer(full_name="Marie")
    # Written straight to the database, as an older row or an import could hold it.
    bad_name = "Eve\nBcc: everyone@evil.example"
    User.objects.filter(pk__in=[eve.pk, owner.pk]).update(full_name=bad_name)
    owner.refresh_from_db()
    eve.refresh_from_db()

    campaign = announce(campaign_for(owner=owner, teams=[team], title="Soldes"))
    campaign_services.feedback_post(
        actor=eve, campaign_id=campaign.pk, tag=Feedback.Tag.MESSAGE, body="Une question"
    )
    rows = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)
    assert {row.recipient_id for row in rows} == {eve.pk, owner.pk}

    notification_services.notifications_deliver(notification_ids=[row.pk for row in rows])

    assert set(rows.values_list("status", flat=True)) == {Notification.Status.SENT}
    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert subjects[owner.email] == "Message from Eve Bcc: everyone@evil.example on Soldes"
    for message in mailoutbox:
        assert "\n" not in message.subject
        assert "\r" not in message.subject
        message.message()  # the whole message still serialises


def test_document_safe_keeps_tabs_and_line_breaks_and_marks_other_controls():
    assert document_safe("Prix\tbarrés\r\nfin") == "Prix\tbarrés\r\nfin"
    assert document_safe("a\x00b\x0bc\x1bd\x7fe\uffff") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd"
    assert document_safe("Réseau ‍👩‍💻 عربى") == "Réseau ‍👩‍💻 عربى"
