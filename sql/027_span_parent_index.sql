-- Seed 002's children of a span by its uuid alone (`SELECT … FROM compat.spans WHERE parent_span_id = $1`, its
-- idx_spans_parent_span_id) read every span: 2.5 s as owner, 1.2 s as a tenant's analyst at 2M spans
-- (issue 12), against 50 ms for a lookup inside one run. The uuid is md5 of the ids (compat.span_uuid), so
-- only an index on that expression serves it; it is indexed here, for analysts too:
-- - compat.parent_span_uuid is compat.span_uuid as a function the planner does not inline, so that the index
--   expression and the view's column are the same call, and so that it can be LEAKPROOF: row-level security
--   lets a filter use an index only when every function in it is leakproof (md5 is; the text and uuid casts
--   are not marked so, though on these inputs they cannot fail). Marking a function LEAKPROOF takes a
--   superuser: otherwise it is created without, and the index serves the tables' owner only (docs/compat.md).
-- - Not a partial index (parent_span_id IS NOT NULL): PostgreSQL keeps statistics for the expressions of
--   non-partial indexes only, and without them it estimated ~10,000 rows and hash-joined every run (85 ms).
-- Cost per span written, and the build time of this migration on an existing ledger: docs/schema.md, "Indexes".
-- A large ledger can build the index beforehand without holding off writers (README, "Upgrading": the function
-- as below, then CREATE INDEX CONCURRENTLY on each partition): the function is then kept as it was created, and
-- CREATE INDEX on runledger.spans attaches the partitions' matching indexes instead of building them.
DO $$
BEGIN
  IF to_regprocedure('compat.parent_span_uuid(uuid, text)') IS NOT NULL THEN
    -- created beforehand: it must be this function (the index and the view's column are its results)
    IF NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = 'compat.parent_span_uuid(uuid, text)'::regprocedure
                   AND p.provolatile = 'i' AND p.proisstrict AND p.prorettype = 'uuid'::regtype
                   AND regexp_replace(p.prosrc, '\s+', '', 'g')
                     = 'BEGINRETURNmd5(replace(trace_id::text,''-'','''')||parent_span_id)::uuid;END') THEN
      RAISE EXCEPTION 'compat.parent_span_uuid exists but is not the function of README "Upgrading": drop it, or create it as written there';
    END IF;
  ELSE
    CREATE FUNCTION compat.parent_span_uuid(trace_id uuid, parent_span_id text) RETURNS uuid
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $f$ BEGIN RETURN md5(replace(trace_id::text, '-', '') || parent_span_id)::uuid; END $f$;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
      ALTER FUNCTION compat.parent_span_uuid(uuid, text) LEAKPROOF;
    ELSE
      RAISE NOTICE 'runledger: % is not a superuser: compat.parent_span_uuid is not LEAKPROOF, so seed 002''s children by uuid are indexed for the tables'' owner only (docs/compat.md)', current_user;
    END IF;
  END IF;
END $$;
GRANT EXECUTE ON FUNCTION compat.parent_span_uuid(uuid, text) TO runledger_analyst;

CREATE INDEX spans_parent_uuid ON runledger.spans (compat.parent_span_uuid(trace_id, parent_span_id));

-- compat.spans as in sql/013, its parent_span_id the indexed call (NULL for a root span, as before: STRICT).
CREATE OR REPLACE VIEW compat.spans WITH (security_invoker = true) AS
SELECT compat.span_uuid(s.trace_id, s.span_id) AS span_id,
  s.trace_id,
  compat.parent_span_uuid(s.trace_id, s.parent_span_id) AS parent_span_id,
  coalesce(lower(n.node_type), 'span')::varchar(50) AS span_type,
  s.name::varchar(255) AS name,
  (CASE WHEN s.status_code = 'ERROR' THEN 'failed' ELSE 'completed' END)::varchar(50) AS status,
  s.start_time AT TIME ZONE 'UTC' AS started_at,
  s.end_time AT TIME ZONE 'UTC' AS completed_at,
  compat.fit_int4(extract(epoch FROM s.end_time - s.start_time) * 1000) AS duration_ms,
  coalesce(n.input, '{}'::jsonb) AS inputs,
  coalesce(n.output, '{}'::jsonb) AS outputs,
  jsonb_strip_nulls(jsonb_build_object('input', n.input_tokens, 'output', n.output_tokens, 'total', n.total_tokens,
    'cache_read', n.cache_read_tokens, 'cache_write', n.cache_write_tokens, 'reasoning', n.reasoning_tokens))
    AS tokens,
  coalesce(compat.fit_numeric(n.total_cost, 10, 6), 0)::numeric(10,6) AS cost,
  n.model_name::varchar(255) AS model,
  n.provider::varchar(100) AS provider,
  coalesce(n.error_message, CASE WHEN s.status_code = 'ERROR' THEN coalesce(nullif(s.status_message, ''),
    (SELECT ev -> 'attributes' ->> 'exception.message' FROM jsonb_array_elements(s.events) ev
     WHERE ev ->> 'name' = 'exception' LIMIT 1)) END) AS error,
  coalesce(n.error_type, CASE WHEN s.status_code = 'ERROR' THEN coalesce(
    (SELECT ev -> 'attributes' ->> 'exception.type' FROM jsonb_array_elements(s.events) ev
     WHERE ev ->> 'name' = 'exception' LIMIT 1), 'ERROR') END)::varchar(100) AS error_type,
  (SELECT ev -> 'attributes' ->> 'exception.stacktrace' FROM jsonb_array_elements(s.events) ev
   WHERE ev ->> 'name' = 'exception' LIMIT 1) AS error_stack,
  '{}'::jsonb AS api_limits,
  coalesce(n.attempt - 1, 0) AS retry_count,
  NULL::integer AS timeout,
  coalesce((SELECT jsonb_build_object('results', jsonb_agg(ev -> 'attributes'))
            FROM jsonb_array_elements(s.events) ev WHERE ev ->> 'name' = 'gen_ai.evaluation.result'
            HAVING count(*) > 0), '{}'::jsonb) AS evaluation,
  jsonb_strip_nulls(jsonb_build_object('otel_span_id', s.span_id, 'otel_parent_span_id', s.parent_span_id,
    'kind', s.kind, 'service_name', s.service_name, 'scope_name', s.scope_name, 'operation', n.operation,
    'request_model', n.request_model, 'response_model', n.response_model, 'finish_reasons', to_jsonb(n.finish_reasons),
    'tool_name', n.tool_name, 'tool_call_id', n.tool_call_id, 'agent_name', n.agent_name,
    'session_id', n.session_id, 'user_id', n.user_id, 'cost_source', n.cost_source,
    'usage_counted', n.usage_counted)) AS metadata,
  ARRAY(SELECT compat.span_uuid(c.trace_id, c.span_id)::text FROM runledger.spans c
        WHERE c.tenant_id = s.tenant_id AND c.trace_id = s.trace_id AND c.parent_span_id = s.span_id
          AND c.start_time >= r.start_time AND c.start_time <= coalesce(r.last_start_time, 'infinity')
        ORDER BY c.start_time, c.span_id) AS child_spans
FROM runledger.spans s
JOIN runledger.runs r ON r.tenant_id = s.tenant_id AND r.run_id = s.trace_id
  AND s.start_time >= r.start_time AND s.start_time <= coalesce(r.last_start_time, 'infinity')
LEFT JOIN compat.ledger_nodes n ON n.tenant_id = s.tenant_id AND n.run_id = s.trace_id AND n.node_id = s.span_id
  AND n.start_time = s.start_time;
