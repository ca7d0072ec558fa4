"""PostgreSQL: a phone-banking transfer's locked section as one function (issue 3, throughput).

``banking_transfer_execute`` runs what ``banking.services._transfer`` runs on SQLite, in the same
order and with the same refusals, in one round trip instead of about eleven: the replay of an
idempotency key, the linked-account and per-transfer-limit checks, the registration lock, the
account locks (primary-key order), the key re-check and daily total under the locks, the status,
limit and balance checks, the transaction row, its postings, the new balances and the SMS-notice
outbox rows. A refusal is returned as a code (nothing is written; the caller raises the domain
error and rolls back). A unique violation on the key (a racing duplicate) and deadlocks still
raise, and are handled by the service as before. The deferred balance trigger and the append-only
triggers of migration 0002 stay in force on the rows written here.

SQLite (the embedded default) keeps the Python path; this migration does nothing there.
"""

from django.db import migrations

TRANSFER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION banking_group_yuan(fen bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    -- 4990000 -> '49,900.00', integer arithmetic only (banking.money.group_yuan)
    SELECT CASE WHEN fen < 0 THEN '-' ELSE '' END
           || to_char(abs(fen) / 100, 'FM999,999,999,999,999,990')
           || '.' || lpad((abs(fen) % 100)::text, 2, '0')
$$;

CREATE OR REPLACE FUNCTION banking_transfer_execute(
    p_registration_id bigint,
    p_registered_account_id bigint,
    p_from_id bigint,
    p_to_id bigint,
    p_amount_fen bigint,
    p_key varchar,
    p_fingerprint varchar,
    p_channel varchar,
    p_call_id varchar,
    p_actor_id bigint,
    p_memo varchar,
    p_transfer_limit_fen bigint,
    p_daily_limit_fen bigint,
    p_clock_offset interval,
    p_sms_signature text,
    p_card_kind_name text
) RETURNS TABLE (
    outcome text,
    id bigint,
    kind varchar,
    idempotency_key varchar,
    request_fingerprint varchar,
    registration_id bigint,
    amount_fen bigint,
    channel varchar,
    call_id varchar,
    initiated_by_id bigint,
    memo varchar,
    created_at timestamptz,
    from_balance_fen bigint,
    to_balance_fen bigint
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_txn banking_ledgertransaction%ROWTYPE;
    v_registration_locked boolean;
    v_account record;
    v_source record;
    v_target record;
    v_count integer := 0;
    v_now timestamptz;
    v_spent bigint;
    v_from_balance bigint;
    v_to_balance bigint;
    v_posting_id bigint;
    v_phone varchar;
    v_side integer;
BEGIN
    -- Fast path for a resubmission, without taking any lock.
    SELECT * INTO v_txn FROM banking_ledgertransaction t WHERE t.idempotency_key = p_key;
    IF FOUND THEN
        IF v_txn.request_fingerprint <> p_fingerprint THEN
            RETURN QUERY SELECT 'idempotency_conflict'::text, NULL::bigint, NULL::varchar, NULL::varchar,
                NULL::varchar, NULL::bigint, NULL::bigint, NULL::varchar, NULL::varchar, NULL::bigint,
                NULL::varchar, NULL::timestamptz, NULL::bigint, NULL::bigint;
            RETURN;
        END IF;
        RETURN QUERY SELECT 'replayed'::text, v_txn.id, v_txn.kind, v_txn.idempotency_key,
            v_txn.request_fingerprint, v_txn.registration_id, v_txn.amount_fen, v_txn.channel, v_txn.call_id,
            v_txn.initiated_by_id::bigint, v_txn.memo, v_txn.created_at, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    outcome := NULL;
    IF p_from_id = p_to_id THEN
        outcome := 'same_account';
    ELSIF NOT (
        (p_from_id = p_registered_account_id OR EXISTS (
            SELECT 1 FROM banking_linkedaccount l WHERE l.registration_id = p_registration_id AND l.account_id = p_from_id))
        AND (p_to_id = p_registered_account_id OR EXISTS (
            SELECT 1 FROM banking_linkedaccount l WHERE l.registration_id = p_registration_id AND l.account_id = p_to_id))
    ) THEN
        outcome := 'not_linked';
    ELSIF p_amount_fen > p_transfer_limit_fen THEN
        outcome := 'limit_per_transfer';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;

    -- The registration lock serializes the daily-limit check of one registration; then the
    -- accounts, in primary-key order (banking.locks: the global lock order).
    SELECT r.locked INTO v_registration_locked
      FROM banking_phonebankingregistration r WHERE r.id = p_registration_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_registration_locked THEN
        outcome := 'locked';
        RETURN NEXT;
        RETURN;
    END IF;
    FOR v_account IN
        SELECT a.id, a.status, a.balance_fen, a.kind, a.card_role, a.number
          FROM banking_account a WHERE a.id IN (p_from_id, p_to_id) ORDER BY a.id FOR UPDATE
    LOOP
        v_count := v_count + 1;
        IF v_account.id = p_from_id THEN
            v_source := v_account;
        ELSE
            v_target := v_account;
        END IF;
    END LOOP;
    IF v_count <> 2 THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;

    -- Taken after the locks: a posting's time lies inside its accounts' lock interval. The
    -- database clock, shifted by the application's offset from the wall clock (zero unless a
    -- test moves django.utils.timezone.now).
    v_now := clock_timestamp() + p_clock_offset;

    -- Did a request with the same key commit while this one waited for the locks?
    SELECT * INTO v_txn FROM banking_ledgertransaction t WHERE t.idempotency_key = p_key;
    IF FOUND THEN
        IF v_txn.request_fingerprint <> p_fingerprint THEN
            outcome := 'idempotency_conflict';
            RETURN NEXT;
            RETURN;
        END IF;
        RETURN QUERY SELECT 'replayed'::text, v_txn.id, v_txn.kind, v_txn.idempotency_key,
            v_txn.request_fingerprint, v_txn.registration_id, v_txn.amount_fen, v_txn.channel, v_txn.call_id,
            v_txn.initiated_by_id::bigint, v_txn.memo, v_txn.created_at, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    FOREACH v_side IN ARRAY ARRAY[1, 2] LOOP
        IF v_side = 1 THEN
            v_account := v_source;
        ELSE
            v_account := v_target;
        END IF;
        IF v_account.status IN ('verbally_lost', 'formally_lost') THEN
            outcome := 'account_lost';
        ELSIF v_account.status IN ('frozen', 'closed') THEN
            outcome := 'account_blocked';
        END IF;
        IF outcome IS NOT NULL THEN
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;

    -- Today is the Asia/Shanghai day (banking.services._day_start).
    SELECT COALESCE(SUM(t.amount_fen), 0) INTO v_spent
      FROM banking_ledgertransaction t
     WHERE t.registration_id = p_registration_id AND t.kind = 'transfer'
       AND t.created_at >= (date_trunc('day', v_now AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai');
    IF v_spent + p_amount_fen > p_daily_limit_fen THEN
        outcome := 'limit_daily';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_source.balance_fen < p_amount_fen THEN
        outcome := 'insufficient_funds';
        RETURN NEXT;
        RETURN;
    END IF;

    v_from_balance := v_source.balance_fen - p_amount_fen;
    v_to_balance := v_target.balance_fen + p_amount_fen;
    INSERT INTO banking_ledgertransaction AS t (kind, idempotency_key, request_fingerprint, registration_id,
                                                amount_fen, channel, call_id, initiated_by_id, memo, created_at)
    VALUES ('transfer', p_key, p_fingerprint, p_registration_id, p_amount_fen, p_channel, p_call_id, p_actor_id,
            p_memo, v_now)
    RETURNING t.* INTO v_txn;

    -- Postings in the order debit, credit (their ids follow it, as on the Python path); each
    -- debit main card with an active SMS notice gets one outbox row in this transaction.
    FOREACH v_side IN ARRAY ARRAY[1, 2] LOOP
        IF v_side = 1 THEN
            v_account := v_source;
        ELSE
            v_account := v_target;
        END IF;
        INSERT INTO banking_posting AS p (transaction_id, account_id, amount_fen, balance_after_fen, created_at)
        VALUES (v_txn.id, v_account.id,
                CASE WHEN v_side = 1 THEN -p_amount_fen ELSE p_amount_fen END,
                CASE WHEN v_side = 1 THEN v_from_balance ELSE v_to_balance END,
                v_now)
        RETURNING p.id INTO v_posting_id;
        IF v_account.kind = 'debit_card' AND v_account.card_role = 'main' THEN
            SELECT n.phone INTO v_phone FROM banking_smsnoticesubscription n
             WHERE n.account_id = v_account.id AND n.active;
            IF FOUND AND v_phone <> '' THEN
                INSERT INTO notifications_smsoutbox (phone, kind, text, status, attempts, related_posting_id,
                                                     created_at, sent_at)
                VALUES (
                    v_phone, 'transaction_notice',
                    p_sms_signature || '您尾号' || right(v_account.number, 4) || '的' || p_card_kind_name || '于'
                    || to_char(v_now AT TIME ZONE 'Asia/Shanghai', 'FMMM"月"FMDD"日"HH24:MI')
                    || CASE WHEN v_side = 1 THEN '转出' ELSE '转入' END
                    || '人民币' || banking_group_yuan(p_amount_fen) || '元，余额'
                    || banking_group_yuan(CASE WHEN v_side = 1 THEN v_from_balance ELSE v_to_balance END) || '元。',
                    'pending', 0, v_posting_id, v_now, NULL
                );
            END IF;
        END IF;
    END LOOP;

    UPDATE banking_account a
       SET balance_fen = CASE a.id WHEN p_from_id THEN v_from_balance ELSE v_to_balance END
     WHERE a.id IN (p_from_id, p_to_id);

    RETURN QUERY SELECT 'posted'::text, v_txn.id, v_txn.kind, v_txn.idempotency_key, v_txn.request_fingerprint,
        v_txn.registration_id, v_txn.amount_fen, v_txn.channel, v_txn.call_id, v_txn.initiated_by_id::bigint,
        v_txn.memo, v_txn.created_at, v_from_balance, v_to_balance;
END;
$$;
"""

DROP_TRANSFER_FUNCTION = """
DROP FUNCTION IF EXISTS banking_transfer_execute(
    bigint, bigint, bigint, bigint, bigint, varchar, varchar, varchar, varchar, bigint, varchar, bigint, bigint,
    interval, text, text
);
DROP FUNCTION IF EXISTS banking_group_yuan(bigint);
"""


def create_transfer_function(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(TRANSFER_FUNCTION, params=None)  # % would be the driver's placeholders


def drop_transfer_function(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP_TRANSFER_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0002_ledger_database_guards"),
        ("notifications", "0001_sms_outbox"),
    ]

    operations = [
        migrations.RunPython(create_transfer_function, drop_transfer_function, elidable=False),
    ]
