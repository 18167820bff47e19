"""A stored search document, kept current by PostgreSQL itself.

Searching used to stem title, summary and body of every candidate row at query time
(`to_tsvector(...)` per row) whenever the planner preferred the date index to the text
index: seconds on a busy week with long bodies. The document is now a column, weighted
(title A, summary and audience B, body C, for ranking), indexed with GIN, and written by a
trigger on every insert and on every update of those fields, whatever writes the row (the
services, an import, a seed in SQL). Existing rows get theirs here.

PostgreSQL only: on SQLite the column stays empty and search falls back to substrings
(campaigns.search).
"""

import django.contrib.postgres.search
from django.db import migrations

# Each field in both configurations (created by 0005), with its weight.
DOCUMENT = " || ".join(
    f"setweight(to_tsvector('{config}', coalesce({column}, '')), '{weight}')"
    for column, weight in (
        ("NEW.title", "A"),
        ("NEW.summary", "B"),
        ("NEW.audience", "B"),
        ("NEW.body", "C"),
    )
    for config in ("french_unaccent", "english_unaccent")
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS campaign_search_idx")
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION campaigns_campaign_search_vector() RETURNS trigger AS $$
        BEGIN
            NEW.search_vector := {DOCUMENT};
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """
    )
    schema_editor.execute(
        """
        CREATE TRIGGER campaigns_campaign_search_vector
        BEFORE INSERT OR UPDATE OF title, summary, audience, body ON campaigns_campaign
        FOR EACH ROW EXECUTE FUNCTION campaigns_campaign_search_vector()
        """
    )
    schema_editor.execute("UPDATE campaigns_campaign SET title = title")
    schema_editor.execute(
        "CREATE INDEX campaign_search_vector_idx ON campaigns_campaign "
        "USING gin (search_vector)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS campaign_search_vector_idx")
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS campaigns_campaign_search_vector ON campaigns_campaign"
    )
    schema_editor.execute("DROP FUNCTION IF EXISTS campaigns_campaign_search_vector()")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0008_dispatch_channel_labels")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(
                blank=True, editable=False, null=True
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
