"""Schema operations for migrations on tables too busy to lock while an index is built.

A plain CREATE INDEX blocks every write to its table while it runs (seconds per million
rows): on PostgreSQL these build it CONCURRENTLY instead, which needs a non-atomic
migration (`atomic = False`). An interrupted run can leave an INVALID index behind, which
`DROP INDEX <name>` clears before migrating again.
"""

from collections.abc import Callable

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    """AddIndex, built CONCURRENTLY on PostgreSQL and plainly elsewhere (SQLite)."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._change(app_label, schema_editor, to_state, schema_editor.add_index)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._change(app_label, schema_editor, from_state, schema_editor.remove_index)

    def _change(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        state: ProjectState,
        change: Callable[..., object],
    ) -> None:
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            change(model, self.index, concurrently=True)
        else:
            change(model, self.index)
