/**
 * Rollup statements run inside the write transaction, after the new spans are inserted.
 * See usage.ts for how usage is counted once.
 */

/**
 * Stored frontier rows (marked spans whose parent had not arrived) of the batch's runs; `runIds` is the
 * SQL of a uuid[] (a parameter, or a literal when the query shares a round trip with others).
 */
export const probeFrontierSql = (runIds: string) => `
SELECT replace(trace_id::text, '-', '') AS trace_id, span_id, parent_span_id
FROM runledger.usage_frontier WHERE trace_id = ANY(${runIds})`;
export const PROBE_FRONTIER_SQL = probeFrontierSql('$1::uuid[]');

/**
 * Walk up through stored spans from the parents of marked spans that left the batch. Every span reached
 * is marked; parent_missing tells which one now sits on the frontier.
 */
export const WALK_UP_SQL = `
WITH RECURSIVE up AS (
  SELECT s.trace_id, s.span_id, s.parent_span_id, s.start_time
  FROM unnest($1::uuid[], $2::text[]) AS x(trace_id, span_id)
  JOIN runledger.spans s ON s.trace_id = x.trace_id AND s.span_id = x.span_id
  UNION
  SELECT s.trace_id, s.span_id, s.parent_span_id, s.start_time
  FROM up JOIN runledger.spans s ON s.trace_id = up.trace_id AND s.span_id = up.parent_span_id
)
SELECT replace(up.trace_id::text, '-', '') AS trace_id, up.span_id, up.parent_span_id, up.start_time::text AS start_time,
  (up.parent_span_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM runledger.spans p WHERE p.trace_id = up.trace_id AND p.span_id = up.parent_span_id)) AS parent_missing
FROM up`;

/**
 * Stored usage nodes that turned out to be aggregates stop counting; their usage is subtracted.
 * The start time (the partition key) lets each lookup go to one day's partition.
 */
export const UNCOUNT_NODES_SQL = `
UPDATE runledger.nodes n SET usage_counted = false
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS c(run_id, node_id, start_time)
WHERE n.run_id = c.run_id AND n.node_id = c.node_id AND n.start_time = c.start_time AND n.usage_counted
RETURNING replace(n.run_id::text, '-', '') AS run_id, n.input_tokens, n.output_tokens, n.cache_read_tokens,
  n.cache_write_tokens, n.reasoning_tokens, n.total_tokens, n.total_cost::text AS total_cost`;

export const INSERT_FRONTIER_SQL = `
INSERT INTO runledger.usage_frontier (trace_id, span_id, parent_span_id)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`;

export const DELETE_FRONTIER_SQL = `
DELETE FROM runledger.usage_frontier f USING unnest($1::uuid[], $2::text[]) AS d(trace_id, span_id)
WHERE f.trace_id = d.trace_id AND f.span_id = d.span_id`;

/**
 * Lock each run touched by the batch (sorted keys: no deadlocks between concurrent writers); `keys` is
 * the SQL of an int[] (a parameter or a literal).
 */
export const lockRunsSql = (keys: string) => `SELECT pg_advisory_xact_lock(1919117676, k) FROM unnest(${keys}) AS k`;
export const LOCK_RUNS_SQL = lockRunsSql('$1::int[]');

const NEW_ROOT = `(r.root_span_id IS NULL OR (excluded.root_span_id IS NOT NULL AND
  (excluded.root_start_time, excluded.root_span_id) < (r.root_start_time, r.root_span_id)))`;

/**
 * Run deltas of a transaction, staged by binary COPY (sink/encoder.ts writeRunDeltaRow) in a temporary
 * table of the session: cheaper to read than a json document of the same rows.
 */
export const RUN_DELTA_COLUMNS = [
  ['run_id', 'uuid'], ['tenant_id', 'text'], ['pipeline', 'text'], ['pipeline_rank', 'smallint'], ['service_name', 'text'],
  ['environment', 'text'], ['session_id', 'text'], ['user_id', 'text'], ['name', 'text'], ['status', 'text'],
  ['start_time', 'timestamptz'], ['end_time', 'timestamptz'], ['span_count', 'bigint'], ['total_nodes', 'bigint'],
  ['llm_calls', 'bigint'], ['tool_calls', 'bigint'], ['error_count', 'bigint'], ['input_tokens', 'bigint'],
  ['output_tokens', 'bigint'], ['cache_read_tokens', 'bigint'], ['cache_write_tokens', 'bigint'],
  ['reasoning_tokens', 'bigint'], ['total_tokens', 'bigint'], ['total_cost', 'text'], ['models', 'text[]'],
  ['error_message', 'text'], ['root_span_id', 'text'], ['root_start_time', 'timestamptz'],
] as const;
export const RUN_DELTAS_STAGE = 'runledger_stage_run_deltas';
export const CREATE_RUN_DELTAS_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ${RUN_DELTAS_STAGE} (
  ${RUN_DELTA_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;

/** Fold the staged run deltas into runs, in run_id order. */
export const UPSERT_RUNS_SQL = `
INSERT INTO runledger.runs AS r (
  run_id, tenant_id, pipeline, pipeline_rank, service_name, environment, session_id, user_id, name, status,
  start_time, end_time, duration_ms, span_count, total_nodes, llm_calls, tool_calls, error_count,
  input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
  total_cost, models, error_message, root_span_id, root_start_time)
SELECT d.run_id, d.tenant_id, d.pipeline, d.pipeline_rank, d.service_name, d.environment, d.session_id,
  d.user_id, d.name, d.status, d.start_time, d.end_time,
  extract(epoch FROM d.end_time - d.start_time) * 1000, d.span_count, d.total_nodes, d.llm_calls,
  d.tool_calls, d.error_count, d.input_tokens, d.output_tokens, d.cache_read_tokens, d.cache_write_tokens,
  d.reasoning_tokens, d.total_tokens, d.total_cost::numeric, d.models, d.error_message, d.root_span_id, d.root_start_time
FROM ${RUN_DELTAS_STAGE} d
ORDER BY d.run_id
ON CONFLICT (run_id) DO UPDATE SET
  pipeline = CASE WHEN r.pipeline IS NULL OR (excluded.pipeline IS NOT NULL AND
      (excluded.pipeline_rank, excluded.pipeline) < (r.pipeline_rank, r.pipeline)) THEN excluded.pipeline ELSE r.pipeline END,
  pipeline_rank = CASE WHEN r.pipeline IS NULL OR (excluded.pipeline IS NOT NULL AND
      (excluded.pipeline_rank, excluded.pipeline) < (r.pipeline_rank, r.pipeline)) THEN excluded.pipeline_rank ELSE r.pipeline_rank END,
  service_name = CASE WHEN excluded.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN excluded.service_name
      WHEN r.root_span_id IS NOT NULL THEN r.service_name
      ELSE LEAST(r.service_name, excluded.service_name) END,
  name = CASE WHEN excluded.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN excluded.name ELSE r.name END,
  root_start_time = CASE WHEN excluded.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN excluded.root_start_time ELSE r.root_start_time END,
  root_span_id = CASE WHEN excluded.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN excluded.root_span_id ELSE r.root_span_id END,
  environment = LEAST(r.environment, excluded.environment),
  session_id = LEAST(r.session_id, excluded.session_id),
  user_id = LEAST(r.user_id, excluded.user_id),
  status = CASE WHEN 'FAILED' IN (r.status, excluded.status) THEN 'FAILED'
      WHEN 'COMPLETED' IN (r.status, excluded.status) THEN 'COMPLETED' ELSE 'RUNNING' END,
  error_message = LEAST(r.error_message, excluded.error_message),
  start_time = LEAST(r.start_time, excluded.start_time),
  end_time = GREATEST(r.end_time, excluded.end_time),
  duration_ms = extract(epoch FROM GREATEST(r.end_time, excluded.end_time) - LEAST(r.start_time, excluded.start_time)) * 1000,
  span_count = r.span_count + excluded.span_count,
  total_nodes = r.total_nodes + excluded.total_nodes,
  llm_calls = r.llm_calls + excluded.llm_calls,
  tool_calls = r.tool_calls + excluded.tool_calls,
  error_count = r.error_count + excluded.error_count,
  input_tokens = r.input_tokens + excluded.input_tokens,
  output_tokens = r.output_tokens + excluded.output_tokens,
  cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
  cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
  reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
  total_tokens = r.total_tokens + excluded.total_tokens,
  total_cost = r.total_cost + excluded.total_cost,
  models = CASE WHEN excluded.models <@ r.models THEN r.models
      ELSE ARRAY(SELECT DISTINCT unnest(r.models || excluded.models) ORDER BY 1) END,
  updated_at = now()`;
