"""Chat clicks are kept while a replay of them could still be accepted, then purged."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from chat import tasks
from chat.models import ChatAction, Platform
from chat.services import chat_actions_purge_expired
from hub import queues

pytestmark = pytest.mark.django_db
Status = ChatAction.Status


def _action(days_old: float, status: str) -> int:
    action = ChatAction.objects.create(
        platform=Platform.MATTERMOST,
        fingerprint=f"{days_old}-{status}",
        kind="ack",
        payload={"user_name": "alice"},
        status=status,
    )
    # received_at is auto_now_add: aged by an update, as time would.
    ChatAction.objects.filter(pk=action.pk).update(
        received_at=timezone.now() - timedelta(days=days_old)
    )
    return action.pk


def test_done_and_refused_clicks_go_once_their_token_could_not_be_replayed(settings):
    settings.CHAT_ACTION_MAX_AGE_DAYS = 30
    old = [_action(31.5, Status.DONE), _action(40, Status.REFUSED)]
    # Within the token's life (plus a day): a replay would pass the signature check,
    # so the fingerprint that refuses it must stay.
    kept = [_action(30.5, Status.DONE), _action(2, Status.REFUSED), _action(90, Status.PENDING)]

    assert chat_actions_purge_expired(batch_size=1) == len(old)

    assert set(ChatAction.objects.values_list("pk", flat=True)) == set(kept)
    assert chat_actions_purge_expired() == 0


def test_the_task_is_a_daily_housekeeping_beat_task():
    _action(settings.CHAT_ACTION_MAX_AGE_DAYS + 2, Status.DONE)

    assert tasks.chat_actions_purge_expired() == 1

    name = "chat.tasks.chat_actions_purge_expired"
    assert queues.ROUTES[name] == queues.HOUSEKEEPING
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == name]
    assert len(entries) == 1
    assert entries[0]["schedule"].hour == {3}
