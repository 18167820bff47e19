"""Figures refreshes queued by pages, recorded instead of sent to a broker, and run as the
worker would."""

from dashboards import cache as figures_cache
from dashboards.cache import REFRESH_TASK
from dashboards.tasks import figures_refresh


def refreshes_queued(monkeypatch) -> list[list[object]]:
    keys: list[list[object]] = []

    def publish(task_name, *args, countdown=None, expires=None):
        assert task_name == REFRESH_TASK
        keys.append(args[0])
        return True

    monkeypatch.setattr(figures_cache, "publish_task", publish)
    return keys


def run_refreshes(keys: list[list[object]]) -> None:
    while keys:
        figures_refresh(keys.pop(0))
