"""Search finds a campaign by its owner's name too, and SQLite's fallback is accent-blind.

PostgreSQL: the trigger's document (migration 0009) gains the owner's name (weight D), so
the trigger also fires when the owner changes; a second trigger touches a person's
campaigns when their name or address changes, so their document follows. Still one GIN
index on the stored column.

Both databases: `search_text`, the folded copy SQLite searches (campaigns.search), filled
here for existing rows; the editing services keep it from now on.
"""

import unicodedata

from django.db import migrations, models

_DOCUMENT = " || ".join(
    f"setweight(to_tsvector('{config}', coalesce({column}, '')), '{weight}')"
    for column, weight in (
        ("NEW.title", "A"),
        ("NEW.summary", "B"),
        ("NEW.audience", "B"),
        ("NEW.body", "C"),
        ("owner_name", "D"),
    )
    for config in ("french_unaccent", "english_unaccent")
)

_PREVIOUS = " || ".join(
    f"setweight(to_tsvector('{config}', coalesce({column}, '')), '{weight}')"
    for column, weight in (
        ("NEW.title", "A"),
        ("NEW.summary", "B"),
        ("NEW.audience", "B"),
        ("NEW.body", "C"),
    )
    for config in ("french_unaccent", "english_unaccent")
)

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ĳ": "ij"})


def _fold(text: str) -> str:
    # A copy of campaigns.search.fold as it is today: migrations do not import app code.
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _function(document: str, *, with_owner: bool) -> str:
    declare = "DECLARE owner_name text;" if with_owner else ""
    lookup = (
        "SELECT coalesce(nullif(full_name, ''), email) INTO owner_name "
        "FROM accounts_user WHERE id = NEW.owner_id;"
        if with_owner
        else ""
    )
    return f"""
        CREATE OR REPLACE FUNCTION campaigns_campaign_search_vector() RETURNS trigger AS $$
        {declare}
        BEGIN
            {lookup}
            NEW.search_vector := {document};
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
    """


def _trigger(columns: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS campaigns_campaign_search_vector ON campaigns_campaign",
        f"""
        CREATE TRIGGER campaigns_campaign_search_vector
        BEFORE INSERT OR UPDATE OF {columns} ON campaigns_campaign
        FOR EACH ROW EXECUTE FUNCTION campaigns_campaign_search_vector()
        """,
    ]


def forwards(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function(_DOCUMENT, with_owner=True))
        for sql in _trigger("title, summary, audience, body, owner_id"):
            schema_editor.execute(sql)
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION campaigns_owner_renamed() RETURNS trigger AS $$
            BEGIN
                UPDATE campaigns_campaign SET owner_id = owner_id WHERE owner_id = NEW.id;
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql
            """
        )
        schema_editor.execute(
            """
            CREATE TRIGGER campaigns_owner_renamed
            AFTER UPDATE OF full_name, email ON accounts_user
            FOR EACH ROW WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name
                               OR OLD.email IS DISTINCT FROM NEW.email)
            EXECUTE FUNCTION campaigns_owner_renamed()
            """
        )
        schema_editor.execute("UPDATE campaigns_campaign SET owner_id = owner_id")
    rows = Campaign.objects.select_related("owner").only(
        "title", "summary", "audience", "body", "owner__full_name", "owner__email"
    )
    batch = []
    for campaign in rows.iterator(chunk_size=500):
        owner = campaign.owner.full_name or campaign.owner.email
        parts = (campaign.title, campaign.summary, campaign.audience, campaign.body, owner)
        campaign.search_text = _fold("\n".join(parts))
        batch.append(campaign)
        if len(batch) >= 500:
            Campaign.objects.bulk_update(batch, ["search_text"])
            batch = []
    Campaign.objects.bulk_update(batch, ["search_text"])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS campaigns_owner_renamed ON accounts_user")
    schema_editor.execute("DROP FUNCTION IF EXISTS campaigns_owner_renamed()")
    schema_editor.execute(_function(_PREVIOUS, with_owner=False))
    for sql in _trigger("title, summary, audience, body"):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("campaigns", "0012_acknowledgement_user_protect"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(forwards, backwards),
    ]
