from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicTaskRun(models.Model):
    """When each periodic (beat) task last finished, for /metrics and its alerts.

    One row per task name, upserted by core.beat after each run. In the database rather
    than the cache: the cache is Redis, whose loss (the very outage to alert on) would
    wipe these times and page everyone for every task at once; and the metrics collector
    reads this table in the same scrape as the outbox figures."""

    task = models.CharField(_("task"), max_length=200, unique=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)

    class Meta:
        verbose_name = _("periodic task run")
        verbose_name_plural = _("periodic task runs")

    def __str__(self) -> str:
        return self.task
