-- The audit log: one row per call, per call refused before it ran, and per Control command.
-- Written by the coordinator's audit writer in batches; see the module's Schema and EventTable.

CREATE TABLE cy_audit.audit_event (
    event_id            uuid             NOT NULL,
    kind                text             NOT NULL CHECK (kind IN ('call', 'rejected', 'control')),
    trace_id            text,
    start_time          timestamptz      NOT NULL,
    end_time            timestamptz      NOT NULL,
    api                 text,                            -- grpc | http
    method              text,                            -- StreamPredict, Control, ...
    tenant              text,
    subject             text,
    credential_kind     text,                            -- jwt | api_key
    key_id              text,
    client_address      text,
    model               text,
    adapter             text,
    priority            integer          NOT NULL DEFAULT 0,
    sidecar             text,
    status_code         text,                            -- gRPC status code name: OK, UNAVAILABLE, ...
    status_description  text,
    chunks              bigint           NOT NULL DEFAULT 0,   -- chunks (tokens) delivered
    prompt_tokens       bigint           NOT NULL DEFAULT 0,   -- estimated
    ttfc_ms             double precision,                -- time to first chunk; NULL when none came
    duration_ms         double precision NOT NULL DEFAULT 0,
    bytes_out           bigint           NOT NULL DEFAULT 0,
    quota_decision      text,
    cancelled_by_client boolean          NOT NULL DEFAULT false,
    reason              text,                            -- why a call was rejected
    command             text,                            -- Control command
    payload             jsonb,                           -- Control payload, secret-looking values redacted
    prompt_sha256       text,                            -- audit.store_prompts: sha256
    prompt              text,                            -- audit.store_prompts: full
    -- Numbers rows in the order the writer inserted them: per tenant, the order of end_time.
    ingest_seq          bigserial        NOT NULL,
    written_at          timestamptz      NOT NULL DEFAULT now(),
    -- A unique constraint on a partitioned table must contain the partition key, because each
    -- partition enforces it on its own rows only. event_id alone therefore cannot be the key. An
    -- event never changes its end_time, and a replayed event carries the same end_time as the
    -- first attempt, so it lands in the same partition and conflicts on (event_id, end_time):
    -- the writer's ON CONFLICT (event_id, end_time) DO NOTHING makes replays harmless. Event ids
    -- are version 7 UUIDs (time first), so this index grows at its end like end_time does.
    CONSTRAINT audit_event_pkey PRIMARY KEY (event_id, end_time)
) PARTITION BY RANGE (end_time);

COMMENT ON TABLE cy_audit.audit_event IS
    'Audit log of the coordinator; monthly partitions audit_event_YYYY_MM, kept by cy_audit.maintain_partitions';

-- Usage and history of one tenant.
CREATE INDEX audit_event_tenant_time ON cy_audit.audit_event (tenant, end_time);
-- Everything about one trace.
CREATE INDEX audit_event_trace ON cy_audit.audit_event (trace_id);
-- Recent failures; partial, so successful calls cost nothing here.
CREATE INDEX audit_event_errors ON cy_audit.audit_event (end_time) WHERE status_code <> 'OK';

-- Creates the partition for the month (UTC) holding p_month, unless it exists. Returns whether it
-- created one. Creating a partition locks the parent table: waiting at most two seconds for that
-- lock (for the rest of the transaction), a long query on the table makes this fail with
-- lock_not_available, to be retried, instead of queueing every insert behind it.
CREATE FUNCTION cy_audit.ensure_partition(p_month date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_from date := date_trunc('month', p_month::timestamp)::date;
    v_name text := 'audit_event_' || to_char(v_from, 'YYYY_MM');
BEGIN
    IF to_regclass(format('cy_audit.%I', v_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Several coordinators may maintain the same table.
    PERFORM pg_advisory_xact_lock(hashtext('cy_audit.audit_event partitions'));
    PERFORM set_config('lock_timeout', '2s', true);
    IF to_regclass(format('cy_audit.%I', v_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE cy_audit.%I PARTITION OF cy_audit.audit_event FOR VALUES FROM (%L) TO (%L)',
                   v_name,
                   to_char(v_from, 'YYYY-MM-DD') || ' 00:00:00+00',
                   to_char((v_from + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00');
    RETURN true;
END
$$;

-- Creates the partitions of the month of p_today and of the p_ahead months after it, and drops the
-- partitions whose whole range ended at least p_retention_days before p_today: rows are kept for
-- at least the retention period, and at most a month longer. A partition that cannot be locked
-- within two seconds (a long query is reading it) is left for the next run, reported as 'busy'.
CREATE FUNCTION cy_audit.maintain_partitions(p_today date, p_ahead integer, p_retention_days integer)
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql AS $$
DECLARE
    v_month date := date_trunc('month', p_today::timestamp)::date;
    v_cutoff date := p_today - p_retention_days;
    v_name text;
    v_upper date;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('cy_audit.audit_event partitions'));
    PERFORM set_config('lock_timeout', '2s', true);
    FOR i IN 0..p_ahead LOOP
        partition_name := 'audit_event_' || to_char(v_month + make_interval(months => i), 'YYYY_MM');
        BEGIN
            IF cy_audit.ensure_partition((v_month + make_interval(months => i))::date) THEN
                action := 'created';
                RETURN NEXT;
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            action := 'busy';
            RETURN NEXT;
        END;
    END LOOP;
    FOR v_name IN
        SELECT c.relname
        FROM pg_inherits h
        JOIN pg_class c ON c.oid = h.inhrelid
        JOIN pg_class p ON p.oid = h.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = 'cy_audit' AND p.relname = 'audit_event' AND c.relname ~ '^audit_event_[0-9]{4}_[0-9]{2}$'
        ORDER BY c.relname
    LOOP
        v_upper := (to_date(substr(v_name, 13), 'YYYY_MM') + interval '1 month')::date;
        IF v_upper <= v_cutoff THEN
            partition_name := v_name;
            BEGIN
                EXECUTE format('DROP TABLE cy_audit.%I', v_name);
                action := 'dropped';
            EXCEPTION WHEN lock_not_available THEN
                action := 'busy';
            END;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- Usage per UTC day, tenant and model, from calls and rejections. For one day, filtering the table
-- by end_time directly (see the README) uses the partitions and the (tenant, end_time) index.
CREATE VIEW cy_audit.daily_usage AS
SELECT (end_time AT TIME ZONE 'UTC')::date                                AS day,
       tenant,
       model,
       count(*) FILTER (WHERE kind = 'call')                              AS calls,
       count(*) FILTER (WHERE kind = 'call' AND status_code <> 'OK')      AS failed_calls,
       count(*) FILTER (WHERE kind = 'call' AND cancelled_by_client)      AS cancelled_calls,
       count(*) FILTER (WHERE kind = 'rejected')                          AS rejected_calls,
       coalesce(sum(prompt_tokens) FILTER (WHERE kind = 'call'), 0)       AS prompt_tokens,
       coalesce(sum(chunks) FILTER (WHERE kind = 'call'), 0)              AS completion_tokens,
       coalesce(sum(bytes_out), 0)                                        AS bytes_out,
       avg(ttfc_ms) FILTER (WHERE kind = 'call')                          AS avg_ttfc_ms,
       avg(duration_ms) FILTER (WHERE kind = 'call')                      AS avg_duration_ms
FROM cy_audit.audit_event
WHERE kind IN ('call', 'rejected')
GROUP BY 1, 2, 3;
