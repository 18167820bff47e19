"""Chat messages in the team's language: labels, punctuation, dates and numbers."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import translation

from notifications.channels import webhook_payload
from notifications.models import Channel, Notification
from teams.models import Team
from tests.factories import TeamFactory, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db

NBSP, NNBSP = "\u00a0", "\u202f"
LAUNCH = datetime(2027, 3, 4, 14, 0, tzinfo=UTC)  # 15:00 in Paris


@pytest.fixture(autouse=True)
def _before_the_launch():
    """The messages name LAUNCH's date as written here: the tests run before it,
    whatever today's date is (announcing a launch already past needs a reason)."""
    with time_machine.travel(datetime(2027, 2, 1, 9, 0, tzinfo=UTC), tick=True):
        yield


def chat_notification(language: str, webhook_format: str) -> Notification:
    team, _members = team_with_members(
        1,
        webhook_url="https://chat.example.com/hooks/x",
        webhook_format=webhook_format,
        language=language,
    )
    campaign = announce(
        campaign_for(
            owner=make_marketer(),
            teams=[team],
            title="Soldes",
            estimated_recipients=1500,
            launch_at=LAUNCH,
        )
    )
    return Notification.objects.select_related("team").get(
        campaign=campaign, channel=Channel.WEBHOOK
    )


def text_of(payload: dict) -> str:
    """Every string in the payload, whatever the format's shape, with French no-break
    spaces made plain so the assertions read as the message does."""
    text = json.dumps(payload, ensure_ascii=False)
    return text.replace(NBSP, " ").replace(NNBSP, " ")


@pytest.mark.parametrize("webhook_format", Team.WebhookFormat.values)
def test_a_french_team_reads_its_chat_message_in_french(webhook_format):
    notification = chat_notification("fr", webhook_format)

    raw = json.dumps(webhook_payload(notification, webhook_format=webhook_format))
    text = text_of(webhook_payload(notification, webhook_format=webhook_format))

    assert "Canal :" in text
    assert "Destinataires :" in text
    assert "1 500" in text
    assert "Nouvelle campagne" in text
    assert "4 mars 2027 à 15:00" in text
    # The spaces are no-break ones, so a narrow chat window never strands ":" or "500".
    assert "Canal\\u00a0:" in raw
    assert "1\\u00a0500" in raw or "1\\u202f500" in raw
    assert "Channel" not in text
    assert "1,500" not in text


@pytest.mark.parametrize("webhook_format", Team.WebhookFormat.values)
def test_an_english_team_reads_its_chat_message_in_english(webhook_format):
    notification = chat_notification("en", webhook_format)

    text = text_of(webhook_payload(notification, webhook_format=webhook_format))

    assert "Channel:" in text
    assert "Recipients:" in text
    assert "1,500" in text
    assert "4 Mar 2027, 15:00" in text
    assert "Canal" not in text


def test_the_chat_language_does_not_follow_the_installation_or_the_request(settings):
    settings.LANGUAGE_CODE = "en"
    notification = chat_notification("fr", Team.WebhookFormat.SLACK)
    with translation.override("en"):
        text = text_of(webhook_payload(notification, webhook_format="slack"))
    assert "Canal :" in text


def test_a_new_team_speaks_the_installation_language(settings):
    assert TeamFactory().language == settings.LANGUAGE_CODE == "en"
    field = Team._meta.get_field("language")
    assert [code for code, _label in field.choices] == [code for code, _ in settings.LANGUAGES]


def test_a_team_language_is_chosen_in_the_admin(admin_client):
    team = TeamFactory()
    page = admin_client.get(f"/admin/teams/team/{team.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data |= {"language": "fr", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    data["working_days"] = list(team.working_days)  # checkboxes post one value per day

    response = admin_client.post(f"/admin/teams/team/{team.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    team.refresh_from_db()
    assert team.language == "fr"
    data["language"] = "de"
    refused = admin_client.post(f"/admin/teams/team/{team.pk}/change/", data)
    assert refused.status_code == 200
    team.refresh_from_db()
    assert team.language == "fr"
