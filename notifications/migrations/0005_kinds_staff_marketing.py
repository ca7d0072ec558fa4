"""Two more kinds: ``staff_notice`` (work-order reminders and escalations to staff) and
``marketing`` (the only kind under quiet hours and marketing rate limits). The PostgreSQL twin of
``sms_enqueue`` checks the kinds, so it is created again: the text below is
``notifications.services.sms_enqueue_function_sql()`` as of this migration (a test compares them);
going back restores 0002's."""

from importlib import import_module

from django.db import migrations, models

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
    IF p_kind NOT IN ('transaction_notice', 'loss_report', 'service', 'staff_notice', 'marketing') THEN
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


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SMS_ENQUEUE_FUNCTION, params=None)


def restore_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        previous = import_module("notifications.migrations.0002_sms_enqueue_function")
        schema_editor.execute(previous.SMS_ENQUEUE_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_list_indexes"),
    ]

    operations = [
        migrations.RunPython(create_function, restore_function, elidable=False),
        migrations.AlterField(
            model_name="smsoutbox",
            name="kind",
            field=models.CharField(
                choices=[
                    ("transaction_notice", "Transaction notice"),
                    ("loss_report", "Loss report"),
                    ("service", "Service message"),
                    ("staff_notice", "Staff notice"),
                    ("marketing", "Marketing"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
    ]
