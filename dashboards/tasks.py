"""Celery tasks of the dashboards: thin, idempotent."""

from celery import shared_task

from dashboards import cache as figures_cache
from dashboards import refresh


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def figures_refresh(key_parts: list[object]) -> bool:
    """Compute stale dashboard figures again and keep them (dashboards.refresh); queued
    by the first page that finds them stale, at most once per REFRESH_SECONDS."""
    return refresh.figures_refresh(key_parts)


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def figures_keep_warm() -> int:
    """Beat: compute again, before they go stale, the figures read in the last
    DASHBOARD_WARM_SECONDS (dashboards.cache.figures_keep_warm)."""
    return figures_cache.figures_keep_warm()
