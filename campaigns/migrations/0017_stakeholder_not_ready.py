"""A team's "not ready" answer and the owner's reply, on its stakeholder row.

SQLite rebuilds the stakeholder table to add the foreign keys, which its revision
triggers (0016) refer to: they are dropped first and made again after, on SQLite only
(PostgreSQL alters the table in place and keeps them).
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_revision = importlib.import_module("campaigns.migrations.0016_campaign_revision")


def _sqlite_only(step):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            step(apps, schema_editor)

    return run


drop_triggers = _sqlite_only(_revision.backwards)
make_triggers = _sqlite_only(_revision.forwards)


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0016_campaign_revision'),
        ('teams', '0007_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_triggers, make_triggers),
        migrations.AddField(
            model_name='stakeholder',
            name='not_ready_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='stakeholder',
            name='not_ready_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='stakeholder',
            name='not_ready_reason',
            field=models.TextField(blank=True, verbose_name='why the team is not ready'),
        ),
        migrations.AddField(
            model_name='stakeholder',
            name='not_ready_replied_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='stakeholder',
            name='not_ready_replied_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='stakeholder',
            name='not_ready_reply',
            field=models.TextField(blank=True, verbose_name='reply to the team'),
        ),
        migrations.AlterField(
            model_name='campaignevent',
            name='kind',
            field=models.CharField(choices=[('created', 'Created'), ('edited', 'Edited'), ('announced', 'Announced'), ('version_bumped', 'Changed after announcement'), ('acknowledged', 'Acknowledged'), ('ack_revoked', 'Acknowledgement withdrawn'), ('team_acknowledged', 'Team acknowledged'), ('not_ready', 'Team not ready'), ('not_ready_replied', 'Replied to a team not ready'), ('done', 'Marked as done'), ('done_overridden', 'Marked as done by override'), ('duplicated', 'Duplicated from another campaign'), ('cancelled', 'Cancelled'), ('results', 'Results recorded')], max_length=30),
        ),
        migrations.AddIndex(
            model_name='stakeholder',
            index=models.Index(condition=models.Q(('not_ready_at__isnull', False)), fields=['not_ready_at'], name='stakeholder_not_ready_idx'),
        ),
        migrations.RunPython(make_triggers, drop_triggers),
    ]
