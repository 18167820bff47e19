"""A campaign's revision: a counter the database raises whenever the campaign or
anything shown with it changes (its teams and their acknowledgements, its thread, events,
versions, KPIs, attachments, co-editors), so a kept page (core/pages.py) can tell in one
cheap query whether what it showed is still what is there.

Triggers rather than code in the services: every writer counts (services, the admin,
`.update()`, bulk operations, a data migration), and on PostgreSQL the counter moves in
the same transaction as the change, so a reader sees both or neither. A child's trigger
locks its campaign's row: a writer of several rows locks their campaigns first, in id
order, as the services do. On SQLite a later migration that rebuilds one of these tables
drops its triggers: tests/campaigns/test_revision.py fails then, table by table.
"""

from django.db import migrations, models

# The tables shown with a campaign, and how a row of each names its campaign.
_CHILDREN = {
    "campaigns_kpi": "{row}.campaign_id",
    "campaigns_stakeholder": "{row}.campaign_id",
    "campaigns_campaignevent": "{row}.campaign_id",
    "campaigns_campaignversion": "{row}.campaign_id",
    "campaigns_attachment": "{row}.campaign_id",
    "campaigns_feedback": "{row}.campaign_id",
    "campaigns_campaign_editors": "{row}.campaign_id",
    "campaigns_acknowledgement": (
        "(SELECT campaign_id FROM campaigns_stakeholder WHERE id = {row}.stakeholder_id)"
    ),
}


# A person's name and address are shown on the campaigns they own, co-edit, wrote in,
# acknowledged or acted on: a rename (or an erasure) raises those campaigns' revisions.
_SHOWING_PERSON = """
    SELECT id FROM campaigns_campaign WHERE owner_id = {person}
    UNION SELECT campaign_id FROM campaigns_campaign_editors WHERE user_id = {person}
    UNION SELECT campaign_id FROM campaigns_feedback WHERE author_id = {person}
    UNION SELECT campaign_id FROM campaigns_campaignevent WHERE actor_id = {person}
    UNION SELECT campaign_id FROM campaigns_stakeholder WHERE acknowledged_by_id = {person}
    UNION SELECT s.campaign_id FROM campaigns_acknowledgement a
        JOIN campaigns_stakeholder s ON s.id = a.stakeholder_id WHERE a.user_id = {person}
"""


def _postgresql() -> list[str]:
    statements = [
        """
        CREATE OR REPLACE FUNCTION campaigns_campaign_revise() RETURNS trigger AS $$
        BEGIN
            -- A child's trigger raises it itself (count that change once); a save() of
            -- an instance read earlier writes an older value back, which must not
            -- count as new.
            IF NEW.revision <= OLD.revision THEN
                NEW.revision := OLD.revision + 1;
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER campaigns_campaign_revise BEFORE UPDATE ON campaigns_campaign
        FOR EACH ROW EXECUTE FUNCTION campaigns_campaign_revise()
        """,
    ]
    for table, campaign_of in _CHILDREN.items():
        new, old = campaign_of.format(row="NEW"), campaign_of.format(row="OLD")
        statements += [
            f"""
            CREATE OR REPLACE FUNCTION {table}_revise_campaign() RETURNS trigger AS $$
            BEGIN
                IF TG_OP <> 'DELETE' THEN
                    UPDATE campaigns_campaign SET revision = revision + 1 WHERE id = {new};
                END IF;
                IF TG_OP = 'DELETE' OR ({old}) IS DISTINCT FROM ({new}) THEN
                    UPDATE campaigns_campaign SET revision = revision + 1 WHERE id = {old};
                END IF;
                RETURN NULL;
            END
            $$ LANGUAGE plpgsql
            """,
            f"""
            CREATE TRIGGER {table}_revise_campaign
            AFTER INSERT OR UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_revise_campaign()
            """,
        ]
    showing = _SHOWING_PERSON.format(person="NEW.id")
    statements += [
        f"""
        CREATE OR REPLACE FUNCTION campaigns_person_renamed_revise() RETURNS trigger AS $$
        BEGIN
            -- In id order, as services lock one campaign at a time: many rows locked in
            -- the update's own order could cross another writer's and deadlock.
            PERFORM 1 FROM campaigns_campaign WHERE id IN ({showing}) ORDER BY id FOR UPDATE;
            UPDATE campaigns_campaign SET revision = revision + 1 WHERE id IN ({showing});
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER campaigns_person_renamed_revise
        AFTER UPDATE OF full_name, email ON accounts_user
        FOR EACH ROW WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name
                           OR OLD.email IS DISTINCT FROM NEW.email)
        EXECUTE FUNCTION campaigns_person_renamed_revise()
        """,
    ]
    return statements


def _sqlite() -> list[str]:
    statements = [
        # SQLite cannot change NEW: the row is raised again after the update (triggers do
        # not fire themselves again: recursive_triggers is off), unless a child did it.
        """
        CREATE TRIGGER campaigns_campaign_revise AFTER UPDATE ON campaigns_campaign
        FOR EACH ROW WHEN NEW.revision <= OLD.revision
        BEGIN
            UPDATE campaigns_campaign SET revision = OLD.revision + 1 WHERE id = NEW.id;
        END
        """
    ]
    for table, campaign_of in _CHILDREN.items():
        new, old = campaign_of.format(row="NEW"), campaign_of.format(row="OLD")
        raise_ = "UPDATE campaigns_campaign SET revision = revision + 1 WHERE id = "
        statements += [
            f"""
            CREATE TRIGGER {table}_revise_campaign_insert AFTER INSERT ON {table}
            BEGIN {raise_}{new}; END
            """,
            f"""
            CREATE TRIGGER {table}_revise_campaign_update AFTER UPDATE ON {table}
            BEGIN
                {raise_}{new};
                {raise_}{old} AND {old} IS NOT {new};
            END
            """,
            f"""
            CREATE TRIGGER {table}_revise_campaign_delete AFTER DELETE ON {table}
            BEGIN {raise_}{old}; END
            """,
        ]
    showing = _SHOWING_PERSON.format(person="NEW.id")
    statements.append(
        f"""
        CREATE TRIGGER campaigns_person_renamed_revise AFTER UPDATE OF full_name, email
        ON accounts_user FOR EACH ROW
        WHEN OLD.full_name IS NOT NEW.full_name OR OLD.email IS NOT NEW.email
        BEGIN
            UPDATE campaigns_campaign SET revision = revision + 1 WHERE id IN ({showing});
        END
        """
    )
    return statements


def _drop_postgresql() -> list[str]:
    statements = [
        "DROP TRIGGER IF EXISTS campaigns_campaign_revise ON campaigns_campaign",
        "DROP FUNCTION IF EXISTS campaigns_campaign_revise()",
        "DROP TRIGGER IF EXISTS campaigns_person_renamed_revise ON accounts_user",
        "DROP FUNCTION IF EXISTS campaigns_person_renamed_revise()",
    ]
    for table in _CHILDREN:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_revise_campaign ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_revise_campaign()",
        ]
    return statements


def _drop_sqlite() -> list[str]:
    statements = [
        "DROP TRIGGER IF EXISTS campaigns_campaign_revise",
        "DROP TRIGGER IF EXISTS campaigns_person_renamed_revise",
    ]
    for table in _CHILDREN:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_revise_campaign_{operation}"
            for operation in ("insert", "update", "delete")
        ]
    return statements


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
        ("accounts", "0003_user_erased_at"),
        ("campaigns", "0015_kpi_units_decimals_direction"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="revision",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(forwards, backwards),
    ]
