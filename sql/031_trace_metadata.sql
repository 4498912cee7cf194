-- Seed 002's metadata containment (`SELECT … FROM compat.traces WHERE metadata @> $1`) builds every run's
-- metadata object to compare it: 0.9-1.3 s over 162,620 runs as the tables' owner (issue 12). The object was
-- jsonb_build_object of 14 keys, which works out each argument's type on every call; it is now to_jsonb of a
-- row of this type, whose conversions are looked up once per query: the same object (its keys are the type's
-- fields; test/compat.test.ts compares the two on every run it writes), built in 25-35% less time (PostgreSQL 15,
-- 162,620 runs, one process, alternating 4 times: 1.92-2.16 s against 2.52-3.41 s); the seed query with its two
-- parallel workers, alternating 4 times: 1.09-1.19 s against 1.19-1.49 s (a busy machine). Storing the object was
-- measured and left out: ~15 µs of PostgreSQL CPU on every runs row written (README, *Analyst queries at scale*).
CREATE TYPE compat.trace_metadata AS (tenant_id text, pipeline text, name text, service_name text, environment text,
  session_id text, user_id text, models text[], span_count bigint, total_nodes bigint, llm_calls bigint,
  tool_calls bigint, error_count bigint, currency text);

CREATE OR REPLACE VIEW compat.traces WITH (security_invoker = true) AS
SELECT r.run_id AS trace_id,
  coalesce(r.pipeline, '')::varchar(255) AS workflow_id,
  r.trace_hex::varchar(255) AS execution_id,
  compat.user_uuid(r.tenant_id, r.user_id) AS user_id,
  r.run_input #>> '{}' AS query,
  r.start_time AT TIME ZONE 'UTC' AS started_at,
  CASE WHEN r.status <> 'RUNNING' THEN r.end_time AT TIME ZONE 'UTC' END AS completed_at,
  CASE WHEN r.status <> 'RUNNING' THEN compat.fit_int4(r.duration_ms::numeric) ELSE 0 END AS total_duration_ms,
  lower(r.status)::varchar(50) AS status,
  r.error_message AS error,
  compat.fit_numeric(r.total_cost, 10, 6)::numeric(10,6) AS total_cost,
  jsonb_build_object('input', r.input_tokens, 'output', r.output_tokens, 'total', r.total_tokens,
    'cache_read', r.cache_read_tokens, 'cache_write', r.cache_write_tokens, 'reasoning', r.reasoning_tokens)
    AS total_tokens,
  jsonb_strip_nulls(to_jsonb(ROW(r.tenant_id, r.pipeline, r.name, r.service_name, r.environment, r.session_id,
    r.user_id, r.models, r.span_count, r.total_nodes, r.llm_calls, r.tool_calls, r.error_count,
    r.currency)::compat.trace_metadata)) AS metadata
FROM compat.ledger_runs r;
