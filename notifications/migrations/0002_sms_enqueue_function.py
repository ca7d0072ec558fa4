"""PostgreSQL: ``notifications_sms_enqueue``, the outbox write of ``notifications.services.sms_enqueue``
for writers that run inside the database (banking's transfer function, migration banking 0005).

The same kinds and the same refusal of a full card or account number (a run of 12+ digits, also
in groups split by spaces or dashes, or in full-width digits) as the Python service; a refusal
raises ``data_exception`` and writes nothing. The text below is
``notifications.services.sms_enqueue_function_sql()`` as of this migration (a test compares them).

SQLite (the embedded default) has no such functions; this migration does nothing there.
"""

from django.db import migrations

SMS_ENQUEUE_FUNCTION = r"""CREATE OR REPLACE FUNCTION notifications_sms_enqueue(
    p_phone varchar,
    p_kind varchar,
    p_text varchar,
    p_related_posting_id bigint,
    p_created_at timestamptz
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_kind NOT IN ('transaction_notice', 'loss_report', 'service') THEN
        RAISE EXCEPTION 'unknown SMS kind %', p_kind USING ERRCODE = 'data_exception';
    END IF;
    IF normalize(p_text, NFKC) ~ '[0-9]([ ‐-―-]?[0-9]){11,}' THEN
        RAISE EXCEPTION 'SMS text must not contain a full card or account number' USING ERRCODE = 'data_exception';
    END IF;
    INSERT INTO notifications_smsoutbox (phone, kind, text, status, attempts, related_posting_id, created_at, sent_at)
    VALUES (p_phone, p_kind, p_text, 'pending', 0, p_related_posting_id, p_created_at, NULL)
    RETURNING id INTO v_id;
    RETURN v_id;
END;
$$;
"""

DROP_SMS_ENQUEUE_FUNCTION = "DROP FUNCTION IF EXISTS notifications_sms_enqueue(varchar, varchar, varchar, bigint, timestamptz);"


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SMS_ENQUEUE_FUNCTION, params=None)  # % would be the driver's placeholders


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP_SMS_ENQUEUE_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_sms_outbox"),
    ]

    operations = [
        migrations.RunPython(create_function, drop_function, elidable=False),
    ]
