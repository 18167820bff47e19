"""On PostgreSQL, the database itself refuses to change or delete an audit event.

The model refuses in Python; this trigger covers raw SQL and any other client. The one
UPDATE let through is the one `on_delete=SET_NULL` makes when a person is deleted: it
sets `actor_id` to NULL and changes nothing else. Other databases (SQLite in development
and tests) rely on the Python guard.
"""

from typing import Any

from django.db import migrations

TABLE = "audit_auditevent"

CREATE = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
DECLARE
    unlinked {TABLE}%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL THEN
        unlinked := NEW;
        unlinked.actor_id := OLD.actor_id;
        IF ROW(unlinked.*) IS NOT DISTINCT FROM ROW(OLD.*) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""

DROP = f"""
DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE};
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def _on_postgres(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: "%" is PL/pgSQL

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
