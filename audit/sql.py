"""Database-level append-only guard for PostgreSQL (a trigger refusing UPDATE and DELETE).

SQLite (the embedded demo) relies on the model and queryset guards only: its test
flushes delete rows one by one, which a trigger would refuse.
"""

from django.db.migrations.operations.special import RunPython


def _install(table: str):
    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION cc_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql;
            """,
            params=None,  # the body's % are PL/pgSQL placeholders, not the driver's
        )
        schema_editor.execute(
            f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION cc_refuse_change();"
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}";')

    return forwards, backwards


def append_only_trigger(table: str) -> RunPython:
    """Migration operation: make ``table`` append-only on PostgreSQL."""
    forwards, backwards = _install(table)
    return RunPython(forwards, backwards, elidable=False)
