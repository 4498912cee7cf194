-- OTLP logs (issue 10): log records with trace context are kept, by day of their time, and GenAI events among
-- them (genai-events.ts) fill the content of the node of their span, whichever arrives first.

-- 'span' when the node's span carries content itself (attributes or GenAI span events): log records then leave
-- the node's content alone; 'logs' when its content came from the span's GenAI log records; NULL: no content.
ALTER TABLE runledger.nodes ADD COLUMN content_source text;

-- Every log record with a trace id, once (re-sends meet their stored copy: the record's identity is its
-- run, time and a hash of everything else it carries).
CREATE TABLE runledger.logs (
  tenant_id       text COLLATE "C" NOT NULL,
  run_id          uuid        NOT NULL,                 -- the trace id
  span_id         text COLLATE "C",                     -- NULL: the record names no span
  time            timestamptz NOT NULL,                 -- time_unix_nano, else observed_time_unix_nano
  observed_time   timestamptz,
  severity_number smallint    NOT NULL,                 -- 0 (unspecified) .. 24
  severity_text   text,
  event_name      text,                                 -- event_name, else the event.name attribute
  body            jsonb,
  attributes      jsonb       NOT NULL,
  resource        jsonb       NOT NULL,
  service_name    text,
  scope_name      text,
  record_hash     text COLLATE "C" NOT NULL,           -- sha256 (hex, 32 digits) of the rest of the record
  -- what a GenAI content event gives its node (genai-events.ts): an input message or the whole input, a choice
  -- or the whole output, and the order of messages logged at the same instant
  content_input   jsonb,
  content_output  jsonb,
  content_whole   boolean     NOT NULL,
  content_rank    smallint    NOT NULL,
  ingested_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, run_id, time, record_hash)
) PARTITION BY RANGE (time);
CREATE TABLE runledger.logs_default PARTITION OF runledger.logs DEFAULT;
CREATE INDEX logs_time ON runledger.logs USING brin (time);

-- Spans whose GenAI log records arrived before them: when the span arrives as a node, its writer fills the
-- node's content from them (and removes the row). Usually empty.
CREATE TABLE runledger.pending_content (
  tenant_id  text COLLATE "C" NOT NULL,
  run_id     uuid NOT NULL,
  span_id    text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, run_id, span_id)
);

CREATE OR REPLACE FUNCTION runledger.ensure_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  t text;
  part text;
  col text;
  lo timestamptz;
  hi timestamptz;
  created integer := 0;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM unnest(days) AS x(day), unnest(ARRAY['spans', 'nodes', 'logs']) AS y(tbl)
    WHERE to_regclass(format('runledger.%I', y.tbl || '_' || to_char(x.day, 'YYYYMMDD'))) IS NULL
  ) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(1919117678);
  -- Rows are moved out of the default partitions before the day is attached: no writer may be adding
  -- one of that day's rows to them meanwhile (it would not be moved, and the attach would fail).
  LOCK TABLE runledger.spans_default, runledger.nodes_default, runledger.logs_default IN ACCESS EXCLUSIVE MODE;
  FOREACH d IN ARRAY days LOOP
    lo := d::timestamp AT TIME ZONE 'UTC';
    hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
    FOREACH t IN ARRAY ARRAY['spans', 'nodes', 'logs'] LOOP
      part := t || '_' || to_char(d, 'YYYYMMDD');
      CONTINUE WHEN to_regclass(format('runledger.%I', part)) IS NOT NULL;
      EXECUTE format('CREATE TABLE runledger.%I (LIKE runledger.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t);
      -- The constraint lets ATTACH skip scanning the new partition.
      col := CASE t WHEN 'logs' THEN 'time' ELSE 'start_time' END;
      EXECUTE format('ALTER TABLE runledger.%I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
        part, part || '_range', col, lo, col, hi);
      EXECUTE format('WITH moved AS (DELETE FROM runledger.%I WHERE %I >= $1 AND %I < $2 RETURNING *)
        INSERT INTO runledger.%I SELECT * FROM moved', t || '_default', col, col, part) USING lo, hi;
      EXECUTE format('ALTER TABLE runledger.%I ATTACH PARTITION runledger.%I FOR VALUES FROM (%L) TO (%L)', t, part, lo, hi);
      EXECUTE format('ALTER TABLE runledger.%I DROP CONSTRAINT %I', part, part || '_range');
      created := created + 1;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;

-- Analysts read logs like spans: their tenants only.
GRANT SELECT ON runledger.logs TO runledger_analyst;
ALTER TABLE runledger.logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON runledger.logs FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));

/**
 * Content as a node stores it: the JSON as is when its text has at most max_chars characters, else
 * {"truncated": true, "length": <characters>, "text": <the first max_chars characters>} (as the gateway's
 * mapping truncates span content).
 */
CREATE FUNCTION runledger.stored_content(v jsonb, max_chars integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN v IS NULL THEN NULL WHEN length(v::text) <= max_chars THEN v
  ELSE jsonb_build_object('truncated', true, 'length', length(v::text), 'text', left(v::text, max_chars)) END;

/**
 * A node's content from the GenAI log records of its span (genai-events.ts): per side, the latest record with
 * the whole content, else the messages in order (time, rank, record); prompt_hash is the sha256 of the
 * input's JSON text. The same value whichever arrived first, the records or the span.
 */
CREATE FUNCTION runledger.log_content(p_tenant text, p_run uuid, p_span text, max_chars integer)
RETURNS TABLE (input jsonb, output jsonb, prompt_hash text)
LANGUAGE sql STABLE
AS $$
  WITH f AS MATERIALIZED (
    SELECT l.content_input, l.content_output, l.content_whole, l.content_rank, l.time, l.record_hash
    FROM runledger.logs l
    WHERE l.tenant_id = p_tenant AND l.run_id = p_run AND l.span_id = p_span
      AND (l.content_input IS NOT NULL OR l.content_output IS NOT NULL)
  ), v AS (
    SELECT
      coalesce((SELECT f.content_input FROM f WHERE f.content_whole AND f.content_input IS NOT NULL
                ORDER BY f.time DESC, f.record_hash DESC LIMIT 1),
               (SELECT jsonb_agg(f.content_input ORDER BY f.time, f.content_rank, f.record_hash) FROM f
                WHERE NOT f.content_whole AND f.content_input IS NOT NULL)) AS input,
      coalesce((SELECT f.content_output FROM f WHERE f.content_whole AND f.content_output IS NOT NULL
                ORDER BY f.time DESC, f.record_hash DESC LIMIT 1),
               (SELECT jsonb_agg(f.content_output ORDER BY f.time, f.content_rank, f.record_hash) FROM f
                WHERE NOT f.content_whole AND f.content_output IS NOT NULL)) AS output
  )
  SELECT runledger.stored_content(v.input, max_chars), runledger.stored_content(v.output, max_chars),
    CASE WHEN v.input IS NOT NULL THEN encode(sha256(convert_to(v.input::text, 'UTF8')), 'hex') END
  FROM v
$$;

/**
 * GenAI log records of these spans arrived (the logs writer, the spans' runs locked): fill the content of
 * their nodes where the span gave none of its own, and queue the spans that have no node yet in
 * pending_content. Returns the number of nodes filled.
 */
CREATE FUNCTION runledger.apply_log_content(tenant_ids text[], run_ids uuid[], span_ids text[], max_chars integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  filled integer;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS runledger_log_spans (tenant_id text COLLATE "C", run_id uuid, span_id text COLLATE "C");
  DELETE FROM runledger_log_spans;
  INSERT INTO runledger_log_spans SELECT DISTINCT * FROM unnest(tenant_ids, run_ids, span_ids);
  UPDATE runledger.nodes n SET input = c.input, output = c.output, prompt_hash = c.prompt_hash, content_source = 'logs'
  FROM runledger_log_spans s, LATERAL runledger.log_content(s.tenant_id, s.run_id, s.span_id, max_chars) c
  WHERE n.tenant_id = s.tenant_id AND n.run_id = s.run_id AND n.node_id = s.span_id
    AND n.content_source IS DISTINCT FROM 'span' AND (c.input IS NOT NULL OR c.output IS NOT NULL);
  GET DIAGNOSTICS filled = ROW_COUNT;
  INSERT INTO runledger.pending_content (tenant_id, run_id, span_id)
  SELECT s.tenant_id, s.run_id, s.span_id FROM runledger_log_spans s
  WHERE NOT EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = s.tenant_id AND n.run_id = s.run_id AND n.node_id = s.span_id)
  ON CONFLICT DO NOTHING;
  DELETE FROM runledger_log_spans;
  RETURN filled;
END $$;

/**
 * The span writer, its runs locked and its nodes inserted: the content of those nodes whose GenAI log
 * records arrived first (pending_content of these runs) is filled, and their pending rows go.
 */
CREATE FUNCTION runledger.fill_pending_content(tenant_ids text[], run_ids uuid[], max_chars integer)
RETURNS void
LANGUAGE sql
AS $$
  WITH p AS (
    SELECT pc.tenant_id, pc.run_id, pc.span_id FROM runledger.pending_content pc
    WHERE (pc.tenant_id, pc.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids))
  ), arrived AS (
    SELECT p.* FROM p WHERE EXISTS (SELECT 1 FROM runledger.nodes n
      WHERE n.tenant_id = p.tenant_id AND n.run_id = p.run_id AND n.node_id = p.span_id)
  ), filled AS (
    UPDATE runledger.nodes n SET input = c.input, output = c.output, prompt_hash = c.prompt_hash, content_source = 'logs'
    FROM arrived a, LATERAL runledger.log_content(a.tenant_id, a.run_id, a.span_id, max_chars) c
    WHERE n.tenant_id = a.tenant_id AND n.run_id = a.run_id AND n.node_id = a.span_id
      AND n.content_source IS DISTINCT FROM 'span' AND (c.input IS NOT NULL OR c.output IS NOT NULL)
  )
  DELETE FROM runledger.pending_content pc USING arrived a
  WHERE pc.tenant_id = a.tenant_id AND pc.run_id = a.run_id AND pc.span_id = a.span_id
$$;

REVOKE EXECUTE ON FUNCTION runledger.apply_log_content(text[], uuid[], text[], integer),
  runledger.fill_pending_content(text[], uuid[], integer) FROM PUBLIC;
