# The partial launch index of the campaigns everybody may see (campaigns.models), built
# CONCURRENTLY on PostgreSQL: campaigns are written by every acknowledgement.

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0022_external_reference"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="campaign",
            index=models.Index(
                condition=models.Q(
                    ("status", "draft"),
                    models.Q(("announced_at__isnull", True), ("status", "cancelled")),
                    _connector="OR",
                    _negated=True,
                ),
                fields=["launch_at", "id"],
                name="campaign_launch_visible_idx",
            ),
        ),
    ]
