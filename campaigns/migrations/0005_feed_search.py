"""Full-text search for the weekly feed (PostgreSQL only; SQLite falls back to icontains).

Creates the `unaccent` extension, two text search configurations that strip accents and
ligatures before stemming (`french_unaccent`, `english_unaccent`), and a GIN index on the
expression campaigns.feed.search_document() builds. It is spelled out here, not imported,
so this migration does not change when the app code does; the planner only uses the index
while both match (tests/campaigns/test_feed_search.py checks it with EXPLAIN).
"""

from django.db import migrations

CONFIGS = {"french_unaccent": "french", "english_unaccent": "english"}
INDEX_NAME = "campaign_search_idx"


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def forwards(apps, schema_editor):
    if not _postgres(schema_editor):
        return
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    for name, base in CONFIGS.items():
        schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name} CASCADE")
        schema_editor.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {base})")
        schema_editor.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {name} "
            f"ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {base}_stem"
        )
    Campaign = apps.get_model("campaigns", "Campaign")
    fields = ("title", "summary", "body")
    document = SearchVector(*fields, config="french_unaccent") + SearchVector(
        *fields, config="english_unaccent"
    )
    schema_editor.add_index(Campaign, GinIndex(document, name=INDEX_NAME))


def backwards(apps, schema_editor):
    if not _postgres(schema_editor):
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")
    for name in CONFIGS:
        schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0004_reminder_progress")]

    operations = [migrations.RunPython(forwards, backwards)]
