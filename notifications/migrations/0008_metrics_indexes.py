# Partial indexes for what /metrics reads at each scrape (core/metrics.py).
#
# On PostgreSQL they are built CONCURRENTLY: the outbox may hold millions of rows, and a
# plain CREATE INDEX would block every announce's inserts while it runs (seconds per
# million rows). Hence a non-atomic migration; an interrupted run can leave an INVALID
# index behind, which `DROP INDEX <name>` clears before migrating again.

from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    """AddIndex, built CONCURRENTLY on PostgreSQL and plainly elsewhere (SQLite)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


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
