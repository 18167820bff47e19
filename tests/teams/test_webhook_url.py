import pytest
from django.core.exceptions import ValidationError

from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "https://localhost/hook",
        "http://10.0.0.7/hook",
        "http://[::1]/x",
    ],
)
def test_a_team_cannot_save_a_webhook_to_a_private_address(url, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    team = TeamFactory.build(webhook_url=url)
    with pytest.raises(ValidationError) as error:
        team.full_clean()
    assert "private address" in str(error.value.message_dict["webhook_url"])


def test_a_team_webhook_must_be_http(settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    team = TeamFactory.build(webhook_url="ftp://chat.example.com/hook")
    with pytest.raises(ValidationError) as error:
        team.full_clean()
    assert "webhook_url" in error.value.message_dict


def test_private_webhooks_are_accepted_when_the_setting_allows_them(settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    TeamFactory.build(webhook_url="http://127.0.0.1:9000/hook").full_clean()
