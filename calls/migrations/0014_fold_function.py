"""PostgreSQL: ``cc_call_fold``, the fold of a call's events in the database (``calls.fold_sql``:
the single-event path rebuilds a call without shipping its events to Python). The text is
``calls.fold_sql.FOLD_FUNCTIONS`` as of this migration (``tests/test_calls_fold_sql.py`` fails
when they differ).

SQLite (the embedded default) folds in Python only; this migration does nothing there.
"""

from django.db import migrations

FOLD_FUNCTIONS = r"""CREATE OR REPLACE FUNCTION cc_json_truthy(j jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE jsonb_typeof(j)
    WHEN 'string' THEN (j #>> '{}') <> ''
    WHEN 'number' THEN (j #>> '{}')::numeric <> 0
    WHEN 'boolean' THEN (j #>> '{}')::boolean
    WHEN 'array' THEN jsonb_array_length(j) > 0
    WHEN 'object' THEN j <> '{}'::jsonb
    ELSE false END
$f$;

CREATE OR REPLACE FUNCTION cc_iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN t IS NULL THEN NULL ELSE
    to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN extract(microseconds FROM t)::bigint % 1000000 <> 0
            THEN to_char(t AT TIME ZONE 'UTC', '.US') ELSE '' END
    || '+00:00' END
$f$;

CREATE OR REPLACE FUNCTION cc_anomaly(p_event_id text, p_type text, p_code text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $f$
  SELECT jsonb_build_object('event_id', p_event_id, 'type', p_type, 'code', p_code)
$f$;

CREATE OR REPLACE FUNCTION cc_ms(d interval) RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$
  SELECT greatest(floor(extract(epoch FROM d) * 1000)::bigint, 0)
$f$;

-- The call record implied by its events: calls.cdr.fold + calls.services.fields.call_fields (calls/fold_sql.py).
CREATE OR REPLACE FUNCTION cc_call_fold(p_call bigint, p_priority integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  e record;
  d jsonb;
  st text := 'new';
  is_held boolean := false;
  held_since timestamptz;
  q text := ''; entry_q text := ''; home_q text := ''; service_q text := '';
  agent bigint; offer_agent bigint; offer_at timestamptz;
  v_direction text := ''; v_ani text := ''; v_dnis text := '';
  v_verified boolean := false; v_path jsonb := '[]'; v_customer bigint; v_account bigint; v_source text := '';
  v_test boolean := false;
  t_started timestamptz; t_queued timestamptz; t_offered timestamptz; t_answered timestamptz;
  t_ended timestamptz; t_wrapup timestamptz; t_overflowed timestamptz;
  hold_s timestamptz[] := '{}'; hold_e timestamptz[] := '{}';
  leg_agent bigint[] := '{}'; leg_ans timestamptz[] := '{}'; leg_end timestamptz[] := '{}';
  anomalies jsonb := '[]';
  v_disposition text := ''; v_note text := ''; v_end_reason text := '';
  v_missed integer := 0; v_transfers integer := 0; v_count integer := 0;
  target_agent bigint; target_q text; overflow boolean; aid bigint; cid jsonb; n integer;
  hold_total bigint := 0; connected bigint := 0; i integer;
BEGIN
  FOR e IN
    SELECT event_id, type, ts, queue, agent_id, coalesce(data, '{}'::jsonb) AS data
      FROM calls_callevent WHERE call_id = p_call
     ORDER BY ts, CASE type WHEN 'offered' THEN 0 WHEN 'queued' THEN 1 WHEN 'offer_expired' THEN 2
       WHEN 'ringing' THEN 3 WHEN 'answered' THEN 4 WHEN 'held' THEN 5 WHEN 'retrieved' THEN 6
       WHEN 'transferred' THEN 7 WHEN 'ended' THEN 8 WHEN 'wrapup' THEN 9 ELSE 99 END,
       event_id COLLATE "C"
  LOOP
    d := CASE WHEN jsonb_typeof(e.data) = 'object' THEN e.data ELSE '{}'::jsonb END;
    v_count := v_count + 1;
    IF t_started IS NULL THEN t_started := e.ts; END IF;
    -- _take_details
    IF v_ani = '' AND cc_json_truthy(d->'ani') THEN v_ani := d->>'ani'; END IF;
    IF v_dnis = '' AND cc_json_truthy(d->'dnis') THEN v_dnis := d->>'dnis'; END IF;
    IF v_direction = '' AND cc_json_truthy(d->'direction') THEN v_direction := d->>'direction'; END IF;
    IF d->'test' = 'true'::jsonb THEN v_test := true; END IF;
    IF d ? 'verified' AND jsonb_array_length(v_path) = 0 AND NOT v_verified THEN
      v_verified := cc_json_truthy(d->'verified');
      v_path := coalesce((SELECT jsonb_agg(x #>> '{}') FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(d->'path') = 'array' THEN d->'path' ELSE '[]'::jsonb END) AS x), '[]'::jsonb);
      v_customer := CASE WHEN v_verified THEN (d->>'customer_id')::bigint END;
      v_account := CASE WHEN v_verified THEN (d->>'account_id')::bigint END;
      IF v_source <> 'agent' THEN
        v_source := CASE WHEN coalesce(v_customer, 0) <> 0 THEN 'ivr' ELSE '' END;
      END IF;
    END IF;
    CASE e.type
    WHEN 'offered' THEN
      IF st = 'new' THEN st := 'ivr'; END IF;
    WHEN 'queued' THEN
      IF st = 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'event_after_end');
      ELSIF e.queue = '' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'queue_missing');
      ELSIF st = 'connected' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'answered_before_queued');
      ELSIF st = 'queued' AND q = e.queue THEN
        NULL;
      ELSE
        overflow := (d->>'reason') IS NOT DISTINCT FROM 'overflow' AND jsonb_typeof(d->'reason') = 'string';
        IF st IN ('queued', 'offered') AND overflow THEN t_overflowed := coalesce(t_overflowed, e.ts); END IF;
        -- _enter_queue
        st := 'queued'; q := e.queue; offer_agent := NULL; offer_at := NULL; agent := NULL;
        IF entry_q = '' THEN entry_q := e.queue; END IF;
        IF NOT overflow OR home_q = '' THEN home_q := e.queue; END IF;
        IF t_answered IS NULL THEN service_q := home_q; END IF;
        IF t_queued IS NULL THEN t_queued := e.ts; END IF;
      END IF;
    WHEN 'ringing' THEN
      IF st = 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'event_after_end');
      ELSIF e.agent_id IS NULL THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'agent_missing');
      ELSIF st = 'connected' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'ringing_while_connected');
      ELSIF st = 'offered' AND offer_agent = e.agent_id THEN
        NULL;
      ELSE
        st := 'offered'; offer_agent := e.agent_id; offer_at := e.ts; agent := e.agent_id;
        IF t_offered IS NULL THEN t_offered := e.ts; END IF;
      END IF;
    WHEN 'offer_expired' THEN
      IF st = 'offered' AND offer_agent IS NOT DISTINCT FROM e.agent_id THEN
        v_missed := v_missed + 1;
        IF q <> '' THEN
          st := 'queued'; offer_agent := NULL; offer_at := NULL; agent := NULL;
          IF entry_q = '' THEN entry_q := q; END IF;
          IF home_q = '' THEN home_q := q; END IF;
          IF t_answered IS NULL THEN service_q := home_q; END IF;
          IF t_queued IS NULL THEN t_queued := e.ts; END IF;
        ELSE
          st := 'ivr'; offer_agent := NULL; agent := NULL; offer_at := NULL;
        END IF;
      END IF;
    WHEN 'answered' THEN
      IF st = 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'answered_after_end');
      ELSE
        aid := coalesce(e.agent_id, CASE WHEN st = 'offered' THEN offer_agent END);
        IF aid IS NULL THEN
          anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'agent_missing');
        ELSIF st = 'connected' THEN
          IF agent IS DISTINCT FROM aid THEN
            anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'already_answered');
          END IF;
        ELSIF st = 'offered' AND offer_agent IS DISTINCT FROM aid THEN
          anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'not_offered_to_agent');
        ELSE
          st := 'connected'; agent := aid; offer_agent := NULL; offer_at := NULL;
          IF t_answered IS NULL THEN t_answered := e.ts; END IF;
          leg_agent := leg_agent || aid; leg_ans := leg_ans || e.ts; leg_end := leg_end || NULL::timestamptz;
        END IF;
      END IF;
    WHEN 'held' THEN
      IF st = 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'event_after_end');
      ELSIF st <> 'connected' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'not_connected');
      ELSIF NOT is_held THEN
        is_held := true; held_since := e.ts;
      END IF;
    WHEN 'retrieved' THEN
      IF st = 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'event_after_end');
      ELSIF st <> 'connected' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'not_connected');
      ELSE
        IF is_held AND held_since IS NOT NULL THEN hold_s := hold_s || held_since; hold_e := hold_e || e.ts; END IF;
        is_held := false; held_since := NULL;
      END IF;
    WHEN 'transferred' THEN
      target_agent := e.agent_id; target_q := e.queue;
      IF st = 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'event_after_end');
      ELSIF target_agent IS NULL AND target_q = '' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'transfer_target_missing');
      ELSIF st = 'connected' AND target_agent IS NOT NULL AND target_agent = agent THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'transfer_to_self');
      ELSE
        IF st = 'connected' THEN
          IF is_held AND held_since IS NOT NULL THEN hold_s := hold_s || held_since; hold_e := hold_e || e.ts; END IF;
          is_held := false; held_since := NULL;
          n := cardinality(leg_agent);
          IF n > 0 AND leg_end[n] IS NULL THEN leg_end[n] := e.ts; END IF;
          v_transfers := v_transfers + 1;
        END IF;
        overflow := (d->>'reason') IS NOT DISTINCT FROM 'overflow' AND jsonb_typeof(d->'reason') = 'string';
        IF target_agent IS NOT NULL THEN
          IF target_q <> '' THEN
            q := target_q;
            IF entry_q = '' THEN entry_q := target_q; END IF;
            IF NOT overflow OR home_q = '' THEN home_q := target_q; END IF;
            IF t_answered IS NULL THEN service_q := home_q; END IF;
          END IF;
          st := 'offered'; offer_agent := target_agent; offer_at := e.ts; agent := target_agent;
          IF t_offered IS NULL THEN t_offered := e.ts; END IF;
        ELSE
          st := 'queued'; q := target_q; offer_agent := NULL; offer_at := NULL; agent := NULL;
          IF entry_q = '' THEN entry_q := target_q; END IF;
          IF NOT overflow OR home_q = '' THEN home_q := target_q; END IF;
          IF t_answered IS NULL THEN service_q := home_q; END IF;
          IF t_queued IS NULL THEN t_queued := e.ts; END IF;
        END IF;
        IF overflow THEN t_overflowed := coalesce(t_overflowed, e.ts); END IF;
      END IF;
    WHEN 'ended' THEN
      IF st <> 'ended' THEN
        IF is_held AND held_since IS NOT NULL THEN hold_s := hold_s || held_since; hold_e := hold_e || e.ts; END IF;
        is_held := false; held_since := NULL;
        n := cardinality(leg_agent);
        IF n > 0 AND leg_end[n] IS NULL THEN leg_end[n] := e.ts; END IF;
        st := 'ended'; t_ended := e.ts; offer_agent := NULL; offer_at := NULL;
        v_end_reason := left(CASE WHEN cc_json_truthy(d->'reason') THEN d->>'reason' ELSE '' END, 20);
        agent := CASE WHEN n > 0 THEN leg_agent[n] END;
      END IF;
    WHEN 'wrapup' THEN
      IF st <> 'ended' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'wrapup_before_end');
      ELSIF t_answered IS NULL THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'wrapup_without_answer');
      ELSE
        IF t_wrapup IS NULL THEN t_wrapup := e.ts; END IF;
        IF v_disposition = '' AND cc_json_truthy(d->'disposition') THEN
          v_disposition := d->>'disposition';
          v_note := CASE WHEN cc_json_truthy(d->'note') THEN d->>'note' ELSE '' END;
        END IF;
      END IF;
    WHEN 'customer_linked' THEN
      cid := d->'customer_id';
      IF cid IS NULL OR jsonb_typeof(cid) <> 'number' OR (cid #>> '{}') !~ '^-?[0-9]+$' THEN
        anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'customer_missing');
      ELSE
        IF (cid #>> '{}')::bigint IS DISTINCT FROM v_customer THEN v_account := NULL; END IF;
        v_customer := (cid #>> '{}')::bigint; v_source := 'agent';
      END IF;
    ELSE
      anomalies := anomalies || cc_anomaly(e.event_id, e.type, 'unknown_type');
    END CASE;
  END LOOP;
  FOR i IN 1 .. cardinality(hold_s) LOOP hold_total := hold_total + cc_ms(hold_e[i] - hold_s[i]); END LOOP;
  FOR i IN 1 .. cardinality(leg_agent) LOOP
    IF leg_end[i] IS NOT NULL THEN connected := connected + cc_ms(leg_end[i] - leg_ans[i]); END IF;
  END LOOP;
  RETURN jsonb_build_object(
    'state', CASE WHEN st = 'new' THEN 'ivr' ELSE st END,
    'held', is_held,
    'queue_id', (SELECT id FROM calls_queue WHERE code = q AND q <> ''),
    'entry_queue_id', (SELECT id FROM calls_queue WHERE code = entry_q AND entry_q <> ''),
    'home_queue_id', (SELECT id FROM calls_queue WHERE code = home_q AND home_q <> ''),
    'service_queue_id', (SELECT id FROM calls_queue WHERE code = service_q AND service_q <> ''),
    'agent_id', agent,
    'direction', v_direction,
    'ani', left(v_ani, 255), 'dnis', left(v_dnis, 255),
    'verified', v_verified, 'ivr_path', v_path,
    'customer_id', v_customer, 'account_id', v_account, 'customer_source', v_source,
    'is_test', v_test,
    'priority', CASE WHEN v_verified THEN p_priority ELSE 0 END,
    'started_at', t_started, 'queued_at', t_queued, 'offered_at', t_offered, 'answered_at', t_answered,
    'ended_at', t_ended, 'wrapup_at', t_wrapup, 'overflowed_at', t_overflowed,
    'wait_ms', CASE WHEN t_queued IS NULL THEN NULL WHEN t_answered IS NOT NULL THEN cc_ms(t_answered - t_queued)
                    WHEN t_ended IS NOT NULL THEN cc_ms(t_ended - t_queued) END,
    'talk_ms', CASE WHEN t_answered IS NULL OR t_ended IS NULL THEN NULL ELSE greatest(connected - hold_total, 0) END,
    'hold_ms', hold_total,
    'acw_ms', CASE WHEN t_wrapup IS NULL OR t_ended IS NULL THEN NULL ELSE cc_ms(t_wrapup - t_ended) END,
    'abandoned', t_ended IS NOT NULL AND t_answered IS NULL AND t_queued IS NOT NULL,
    'missed_offers', v_missed, 'transfers', v_transfers,
    'holds', coalesce((SELECT jsonb_agg(jsonb_build_array(cc_iso(s), cc_iso(x)) ORDER BY o)
                         FROM unnest(hold_s, hold_e) WITH ORDINALITY AS h(s, x, o)), '[]'::jsonb),
    'legs', coalesce((SELECT jsonb_agg(jsonb_build_object('agent', a, 'answered', cc_iso(s), 'ended', cc_iso(x))
                                       ORDER BY o)
                         FROM unnest(leg_agent, leg_ans, leg_end) WITH ORDINALITY AS l(a, s, x, o)), '[]'::jsonb),
    'anomalies', anomalies,
    'disposition', left(v_disposition, 16), 'note', v_note, 'end_reason', v_end_reason,
    'event_count', v_count,
    '_offer_at', offer_at
  );
END
$fn$;
"""

DROP_FOLD_FUNCTIONS = """DROP FUNCTION IF EXISTS cc_call_fold(bigint, integer);
DROP FUNCTION IF EXISTS cc_ms(interval);
DROP FUNCTION IF EXISTS cc_anomaly(text, text, text);
DROP FUNCTION IF EXISTS cc_iso(timestamptz);
DROP FUNCTION IF EXISTS cc_json_truthy(jsonb);
"""


def create_fold_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FOLD_FUNCTIONS, params=None)  # % would be the driver's placeholders


def drop_fold_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP_FOLD_FUNCTIONS, params=None)


class Migration(migrations.Migration):
    dependencies = [("calls", "0013_recording_pauses")]

    operations = [migrations.RunPython(create_fold_functions, drop_fold_functions, elidable=False)]
