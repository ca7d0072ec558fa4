"""PostgreSQL guards of the ledger (SQLite, the embedded default, relies on the Python guards):

- postings, ledger transactions and account events are append-only (``audit.sql`` trigger);
- a deferred constraint trigger refuses, at commit, any ledger transaction whose postings are
  fewer than two or do not sum to zero — checked when the transaction row is inserted and again
  whenever a posting is added to it.
"""

from django.db import migrations

from audit.sql import append_only_trigger

BALANCED_FUNCTION = """
CREATE OR REPLACE FUNCTION banking_check_transaction_balanced() RETURNS trigger AS $$
DECLARE
    txn_id bigint;
    total numeric;
    lines integer;
BEGIN
    IF TG_TABLE_NAME = 'banking_ledgertransaction' THEN
        txn_id := NEW.id;
    ELSE
        txn_id := NEW.transaction_id;
    END IF;
    SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) INTO total, lines
      FROM banking_posting WHERE transaction_id = txn_id;
    IF lines < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % postings summing to %', txn_id, lines, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = {
    "banking_ledgertransaction": "banking_ledgertransaction_balanced",
    "banking_posting": "banking_posting_balanced",
}


def install_balanced_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BALANCED_FUNCTION, params=None)  # % are PL/pgSQL placeholders
    for table, trigger in TRIGGERS.items():
        schema_editor.execute(
            f'CREATE CONSTRAINT TRIGGER "{trigger}" AFTER INSERT ON "{table}" '
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION banking_check_transaction_balanced();"
        )


def remove_balanced_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, trigger in TRIGGERS.items():
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}";')
    schema_editor.execute("DROP FUNCTION IF EXISTS banking_check_transaction_balanced();")


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0001_customers_accounts_ledger"),
        ("audit", "0002_auditevent_append_only_trigger"),
    ]

    operations = [
        append_only_trigger("banking_ledgertransaction"),
        append_only_trigger("banking_posting"),
        append_only_trigger("banking_accountevent"),
        migrations.RunPython(install_balanced_triggers, remove_balanced_triggers, elidable=False),
    ]
