"""Launch changes: a row written by the database whenever which campaigns launch when,
for whom, changes (a campaign created or deleted; its launch moved; its status changed;
its announcement set or cleared, which the rule book's visibility reads). A kept
calendar's stamp is the count and sum of their ids (core/pages.py): one read of a table
of a few minutes' rows, where the stamp it replaces summed every launch of the month
shown (thousands at a real company's size).

Triggers rather than code in the services, as for the revision (0016): every writer
counts (services, the admin, `.update()`, bulk operations), in the same transaction as
the change. Rows are only inserted, so no writer waits for another on them; an update
writes one only when a column the calendar reads changed (an acknowledgement raises the
campaign's revision and writes none). Inserts and deletes write one row per statement
on PostgreSQL (an import of a thousand campaigns is one change), one per row on SQLite.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

_CHANGED = {
    "postgresql": (
        "OLD.launch_at IS DISTINCT FROM NEW.launch_at OR OLD.status IS DISTINCT FROM NEW.status"
        " OR (OLD.announced_at IS NULL) <> (NEW.announced_at IS NULL)"
    ),
    "sqlite": (
        "OLD.launch_at IS NOT NEW.launch_at OR OLD.status IS NOT NEW.status"
        " OR (OLD.announced_at IS NULL) <> (NEW.announced_at IS NULL)"
    ),
}
_COLUMNS = "launch_at, status, announced_at"
# SQLite refuses DEFAULT VALUES inside a trigger: the time is written out.
_RECORD = "INSERT INTO campaigns_launchchange (created_at) VALUES (CURRENT_TIMESTAMP)"


def _postgresql() -> list[str]:
    return [
        f"""
        CREATE OR REPLACE FUNCTION campaigns_launch_changed() RETURNS trigger AS $$
        BEGIN
            {_RECORD};
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER campaigns_launch_added_or_removed
        AFTER INSERT OR DELETE ON campaigns_campaign
        FOR EACH STATEMENT EXECUTE FUNCTION campaigns_launch_changed()
        """,
        f"""
        CREATE TRIGGER campaigns_launch_moved
        AFTER UPDATE OF {_COLUMNS} ON campaigns_campaign
        FOR EACH ROW WHEN ({_CHANGED["postgresql"]})
        EXECUTE FUNCTION campaigns_launch_changed()
        """,
    ]


def _sqlite() -> list[str]:
    return [
        f"CREATE TRIGGER campaigns_launch_added AFTER INSERT ON campaigns_campaign "
        f"BEGIN {_RECORD}; END",
        f"CREATE TRIGGER campaigns_launch_removed AFTER DELETE ON campaigns_campaign "
        f"BEGIN {_RECORD}; END",
        f"""
        CREATE TRIGGER campaigns_launch_moved AFTER UPDATE OF {_COLUMNS} ON campaigns_campaign
        FOR EACH ROW WHEN {_CHANGED["sqlite"]}
        BEGIN {_RECORD}; END
        """,
    ]


def _drop_postgresql() -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS campaigns_launch_added_or_removed ON campaigns_campaign",
        "DROP TRIGGER IF EXISTS campaigns_launch_moved ON campaigns_campaign",
        "DROP FUNCTION IF EXISTS campaigns_launch_changed()",
    ]


def _drop_sqlite() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS campaigns_launch_{name}"
        for name in ("added", "removed", "moved")
    ]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": _postgresql, "sqlite": _sqlite}[vendor]():
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": _drop_postgresql, "sqlite": _drop_sqlite}[vendor]():
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0023_launch_visible_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="LaunchChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name": "launch change",
                "verbose_name_plural": "launch changes",
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
