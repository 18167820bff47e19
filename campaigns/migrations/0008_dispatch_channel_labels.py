"""Outbox snapshots written before they carried the channel's label get it now.

Notifications used to keep its own copy of the campaign channels' labels; snapshots now
carry the label's English source text (notifications.payload), and this fills it in for
the older ones, so their e-mails and inbox entries still name the channel in words."""

from django.db import migrations

LABELS = {
    "email": "E-mail",
    "sms": "SMS",
    "phone": "Phone",
    "mail": "Mail / print",
    "event": "Event",
    "webinar": "Webinar",
    "social": "Social media",
    "web": "Web",
    "other": "Other",
}


def add_channel_labels(apps, schema_editor):
    Dispatch = apps.get_model("notifications", "Dispatch")
    changed = []
    for dispatch in Dispatch.objects.all().iterator(chunk_size=1000):
        payload = dispatch.payload or {}
        if "channel_label" not in payload and payload.get("channel") in LABELS:
            payload["channel_label"] = LABELS[payload["channel"]]
            dispatch.payload = payload
            changed.append(dispatch)
        if len(changed) >= 1000:
            Dispatch.objects.bulk_update(changed, ["payload"])
            changed = []
    if changed:
        Dispatch.objects.bulk_update(changed, ["payload"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_coeditors"),
        ("notifications", "0004_weekly_preview"),
    ]

    operations = [migrations.RunPython(add_channel_labels, migrations.RunPython.noop)]
