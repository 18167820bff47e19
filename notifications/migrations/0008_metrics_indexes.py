# Partial indexes for what /metrics reads at each scrape (core/metrics.py).
#
# On PostgreSQL they are built CONCURRENTLY (core.migration_operations): the outbox may
# hold millions of rows, and a plain CREATE INDEX would block every announce's inserts
# while it runs.

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0007_provider_message_id_index"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("status", "held")),
                fields=["recipient"],
                name="notification_held_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("status", "failed")),
                fields=["channel", "failure_reason"],
                name="notification_failed_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("claimed_at__isnull", False), ("status", "sent")),
                fields=["sent_at"],
                name="notification_delivered_idx",
            ),
        ),
    ]
