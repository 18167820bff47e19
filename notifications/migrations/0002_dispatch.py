import json

import django.db.models.deletion
from django.db import migrations, models


def move_payloads_to_dispatches(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    Dispatch = apps.get_model("notifications", "Dispatch")
    dispatches = {}
    for notification in Notification.objects.order_by("pk").iterator():
        key = (
            notification.campaign_id,
            notification.campaign_version,
            notification.kind,
            json.dumps(notification.payload, sort_keys=True),
        )
        if key not in dispatches:
            dispatches[key] = Dispatch.objects.create(
                campaign_id=notification.campaign_id,
                campaign_version=notification.campaign_version,
                kind=notification.kind,
                payload=notification.payload,
            )
        notification.dispatch = dispatches[key]
        notification.save(update_fields=["dispatch"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Dispatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("campaign_version", models.PositiveIntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("announced", "Campaign announced"),
                            ("changed", "Campaign changed"),
                            ("reminder", "Reminder"),
                            ("escalation", "Escalation"),
                            ("cancelled", "Campaign cancelled"),
                            ("done", "Campaign done"),
                            ("feedback", "Feedback and notes"),
                        ],
                        max_length=20,
                    ),
                ),
                ("payload", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dispatches",
                        to="campaigns.campaign",
                    ),
                ),
            ],
            options={"verbose_name": "dispatch", "verbose_name_plural": "dispatches"},
        ),
        migrations.AddField(
            model_name="notification",
            name="dispatch",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="notifications.dispatch",
            ),
        ),
        migrations.RunPython(move_payloads_to_dispatches, migrations.RunPython.noop),
        migrations.RemoveField(model_name="notification", name="payload"),
        migrations.AlterField(
            model_name="notification",
            name="dispatch",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="notifications.dispatch",
            ),
        ),
    ]
