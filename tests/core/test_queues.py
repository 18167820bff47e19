"""Every task has a queue of its kind, with its own time limits."""

from django.utils.module_loading import autodiscover_modules

from hub import queues
from hub.celery import app


def our_tasks() -> dict[str, object]:
    autodiscover_modules("tasks")  # what the worker imports at start-up
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_is_routed_to_one_of_the_queues():
    unrouted = sorted(set(our_tasks()) - set(queues.ROUTES))
    assert unrouted == [], f"add these tasks to hub.queues.ROUTES: {unrouted}"
    assert set(queues.ROUTES.values()) == set(queues.QUEUE_NAMES)
    assert set(queues.ROUTES) <= set(our_tasks()), "a route names a task that does not exist"


def test_every_task_has_its_own_time_limits_and_survives_a_lost_worker():
    for name, task in our_tasks().items():
        assert task.time_limit, name
        assert task.soft_time_limit, name
        assert task.soft_time_limit < task.time_limit, name
        assert task.acks_late, name
        assert task.reject_on_worker_lost, name


def test_the_broker_visibility_timeout_outlasts_the_longest_task(settings):
    longest = max(task.time_limit for task in our_tasks().values())
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if "visibility_timeout" in options:  # Redis only: an unacked task is redelivered after it
        assert options["visibility_timeout"] > longest


def test_a_prefix_gives_a_test_run_queues_of_its_own():
    names = [queue.name for queue in queues.task_queues("run1-")]
    assert names == [f"run1-{name}" for name in queues.QUEUE_NAMES]
    assert queues.task_routes("run1-")["notifications.tasks.deliver"] == {"queue": "run1-email"}
