"""Celery tasks of the chat integrations: ids in, idempotent, each on the webhooks queue
(hub.queues) so a slow chat server delays no e-mail."""

from celery import shared_task

from chat import services


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def chat_action_process(action_id: int) -> str:
    """Carry out a click or form received from Slack (chat.actions)."""
    from chat.actions import slack_action_process

    return slack_action_process(action_id=action_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def chat_posts_refresh(campaign_id: int) -> int:
    """Update the campaign's chat messages marked stale to what they show now."""
    return services.chat_posts_refresh(campaign_id=campaign_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def chat_sweep() -> int:
    """Beat: queue again what a lost publish or a dead worker left (pending actions,
    messages still marked stale)."""
    return services.chat_sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=540, time_limit=600)
def chat_actions_purge_expired() -> int:
    """Beat, daily: delete chat clicks carried out or refused, once no replay of them
    could be accepted any more (docs/PRIVACY.md)."""
    return services.chat_actions_purge_expired()
