/**
 * Statements of `runledger repair`: each run's rollups recomputed from its stored spans and nodes.
 * They reproduce what the incremental path (rollup/deltas.ts, rollup/sql.ts) arrives at; see repair.ts.
 */
import { HINT_ATTRIBUTE_KEYS, HINT_RESOURCE_KEYS } from '../mapping/run-hints.js';

/**
 * The node carries usage (sink/encoder.ts hasUsage on the stored columns). A stored NULL cost with a
 * cost source was a cost too large to store exactly: the gateway counted it as usage.
 */
export const hasUsageSql = (n: string) => `(coalesce(${n}.input_tokens, 0) > 0 OR coalesce(${n}.output_tokens, 0) > 0
  OR coalesce(${n}.total_tokens, 0) > 0 OR coalesce(${n}.total_cost, 0) > 0
  OR (${n}.total_cost IS NULL AND ${n}.cost_source IS NOT NULL))`;

/**
 * Marked spans of the runs ($1): usage nodes and every stored span reached walking up from their
 * parents. A usage node reached by the walk has a usage-carrying descendant: an aggregate. A marked span
 * whose parent is not stored belongs on the usage frontier. Only those two kinds of rows are returned.
 */
export const MARKED_SQL = `
WITH RECURSIVE u AS (
  SELECT n.run_id AS trace_id, n.node_id AS span_id, n.parent_span_id
  FROM runledger.nodes n WHERE n.run_id = ANY($1::uuid[]) AND ${hasUsageSql('n')}
), up AS (
  SELECT s.trace_id, s.span_id, s.parent_span_id
  FROM u JOIN runledger.spans s ON s.trace_id = u.trace_id AND s.span_id = u.parent_span_id
  UNION
  SELECT s.trace_id, s.span_id, s.parent_span_id
  FROM up JOIN runledger.spans s ON s.trace_id = up.trace_id AND s.span_id = up.parent_span_id
), marked AS (
  SELECT trace_id, span_id, parent_span_id, bool_or(src = 0) AND bool_or(src = 1) AS aggregate
  FROM (SELECT *, 0 AS src FROM u UNION ALL SELECT *, 1 AS src FROM up) x
  GROUP BY trace_id, span_id, parent_span_id
), flagged AS (
  SELECT m.*, (m.parent_span_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM runledger.spans p
    WHERE p.trace_id = m.trace_id AND p.span_id = m.parent_span_id)) AS parent_missing
  FROM marked m
)
SELECT replace(trace_id::text, '-', '') AS trace_id, span_id, parent_span_id, aggregate, parent_missing
FROM flagged WHERE aggregate OR parent_missing`;

/** usage_counted of the runs' nodes ($1): usage and not an aggregate ($2, $3). Returns the changed rows' runs. */
export const SET_COUNTED_SQL = `
UPDATE runledger.nodes n SET usage_counted = d.counted
FROM (
  SELECT x.run_id, x.node_id, x.start_time, (${hasUsageSql('x')} AND a.node_id IS NULL) AS counted
  FROM runledger.nodes x
  LEFT JOIN (SELECT DISTINCT * FROM unnest($2::uuid[], $3::text[]) AS a(run_id, node_id)) a
    ON a.run_id = x.run_id AND a.node_id = x.node_id
  WHERE x.run_id = ANY($1::uuid[])
) d
WHERE n.run_id = d.run_id AND n.node_id = d.node_id AND n.start_time = d.start_time AND n.usage_counted IS DISTINCT FROM d.counted
RETURNING replace(n.run_id::text, '-', '') AS run_id`;

/** Runs ($1) without a runs row. */
export const MISSING_RUNS_SQL = `
SELECT replace(i.run_id::text, '-', '') AS run_id FROM unnest($1::uuid[]) AS i(run_id)
WHERE NOT EXISTS (SELECT 1 FROM runledger.runs r WHERE r.run_id = i.run_id)`;

/** What run-hints.ts reads of each span (its key lists), for runs recreated from their spans ($1). */
const pick = (column: string, keys: readonly string[]) =>
  `jsonb_strip_nulls(jsonb_build_object(${keys.map((k) => `'${k.replace(/'/g, "''")}', s.${column}->'${k.replace(/'/g, "''")}'`).join(', ')}))`;
export const HINT_SPANS_SQL = `
SELECT replace(s.trace_id::text, '-', '') AS run_id, s.parent_span_id, s.name, s.service_name,
  ${pick('attributes', HINT_ATTRIBUTE_KEYS)} AS attributes,
  ${pick('resource', HINT_RESOURCE_KEYS)} AS resource
FROM runledger.spans s WHERE s.trace_id = ANY($1::uuid[])`;

/** Rollup columns repair recomputes (the runs row's own columns; descriptive ones are kept). */
const COMPUTED = [
  'service_name', 'name', 'status', 'start_time', 'end_time', 'duration_ms', 'span_count', 'total_nodes', 'llm_calls',
  'tool_calls', 'error_count', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens',
  'reasoning_tokens', 'total_tokens', 'total_cost', 'currency', 'error_message', 'root_span_id', 'root_start_time',
] as const;

const usageSum = (c: string) => `coalesce(sum(n.${c}) FILTER (WHERE n.usage_counted), 0)::bigint AS ${c}`;
const SAME_MODELS = '(r.models @> f.models AND r.models <@ f.models)';

/**
 * Recompute the runs ($1) with spans; update the rows that differ, insert the missing ones (with the
 * hints of $2: json [{run_id, pipeline, pipeline_rank, environment, session_id, user_id}]; session and user are
 * the least of these span hints and the nodes' values, as the writer folds them). Returns one row per run with
 * spans (k = 's'), per updated run (k = 'u') and per inserted run (k = 'i').
 *
 * Status: the writer decides per transaction from the earliest parentless span it inserted (FAILED
 * sticks). Spans inserted by one transaction share ingested_at (its now()), which regroups them.
 */
export const ROLLUP_SQL = `
WITH sp AS (
  SELECT s.trace_id AS run_id, count(*) AS span_count, min(s.start_time) AS start_time, max(s.end_time) AS end_time,
    count(*) FILTER (WHERE s.status_code = 'ERROR') AS error_count, min(s.service_name) AS least_service
  FROM runledger.spans s WHERE s.trace_id = ANY($1::uuid[]) GROUP BY s.trace_id
), root AS (
  SELECT DISTINCT ON (s.trace_id) s.trace_id AS run_id, s.span_id, s.start_time, s.name, s.service_name
  FROM runledger.spans s WHERE s.trace_id = ANY($1::uuid[]) AND s.parent_span_id IS NULL
  ORDER BY s.trace_id, s.start_time, s.span_id
), batch_root AS (
  SELECT DISTINCT ON (s.trace_id, s.ingested_at) s.trace_id AS run_id, s.status_code, s.status_message
  FROM runledger.spans s WHERE s.trace_id = ANY($1::uuid[]) AND s.parent_span_id IS NULL
  ORDER BY s.trace_id, s.ingested_at, s.start_time, s.span_id
), verdict AS (
  SELECT run_id, bool_or(status_code = 'ERROR') AS failed,
    min(NULLIF(status_message, '')) FILTER (WHERE status_code = 'ERROR') AS error_message
  FROM batch_root GROUP BY run_id
), nd AS (
  SELECT n.run_id, count(*) AS total_nodes, count(*) FILTER (WHERE n.node_type = 'LLM') AS llm_calls,
    count(*) FILTER (WHERE n.node_type = 'TOOL') AS tool_calls,
    ${['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'total_tokens'].map(usageSum).join(',\n    ')},
    coalesce(sum(n.total_cost) FILTER (WHERE n.usage_counted), 0) AS total_cost,
    coalesce(array_agg(DISTINCT (n.model_name COLLATE "C") ORDER BY (n.model_name COLLATE "C"))
      FILTER (WHERE n.node_type IN ('LLM', 'EMBEDDING') AND n.model_name <> ''), '{}') AS models
  FROM runledger.nodes n WHERE n.run_id = ANY($1::uuid[]) GROUP BY n.run_id
), f AS (
  SELECT sp.run_id,
    CASE WHEN root.run_id IS NULL THEN sp.least_service ELSE root.service_name END AS service_name,
    root.name,
    CASE WHEN root.run_id IS NULL THEN 'RUNNING' WHEN v.failed THEN 'FAILED' ELSE 'COMPLETED' END AS status,
    sp.start_time, sp.end_time, (extract(epoch FROM sp.end_time - sp.start_time) * 1000)::float8 AS duration_ms,
    sp.span_count, coalesce(nd.total_nodes, 0) AS total_nodes, coalesce(nd.llm_calls, 0) AS llm_calls,
    coalesce(nd.tool_calls, 0) AS tool_calls, sp.error_count,
    coalesce(nd.input_tokens, 0) AS input_tokens, coalesce(nd.output_tokens, 0) AS output_tokens,
    coalesce(nd.cache_read_tokens, 0) AS cache_read_tokens, coalesce(nd.cache_write_tokens, 0) AS cache_write_tokens,
    coalesce(nd.reasoning_tokens, 0) AS reasoning_tokens, coalesce(nd.total_tokens, 0) AS total_tokens,
    coalesce(nd.total_cost, 0) AS total_cost, 'USD' AS currency, coalesce(nd.models, '{}') AS models,
    CASE WHEN v.failed THEN v.error_message END AS error_message,
    root.span_id AS root_span_id, root.start_time AS root_start_time
  FROM sp LEFT JOIN root USING (run_id) LEFT JOIN verdict v USING (run_id) LEFT JOIN nd USING (run_id)
), upd AS (
  UPDATE runledger.runs r SET ${COMPUTED.map((c) => `${c} = f.${c}`).join(', ')},
    models = CASE WHEN ${SAME_MODELS} THEN r.models ELSE f.models END, updated_at = now()
  FROM f WHERE r.run_id = f.run_id AND (
    (${COMPUTED.map((c) => `r.${c}`).join(', ')}) IS DISTINCT FROM (${COMPUTED.map((c) => `f.${c}`).join(', ')})
    OR NOT ${SAME_MODELS})
  RETURNING r.run_id
), ins AS (
  INSERT INTO runledger.runs (run_id, tenant_id, pipeline, pipeline_rank, environment, session_id, user_id, created_at,
    ${COMPUTED.join(', ')}, models)
  SELECT f.run_id,
    (SELECT s.tenant_id FROM runledger.spans s WHERE s.trace_id = f.run_id ORDER BY s.ingested_at, s.tenant_id LIMIT 1),
    d.pipeline, d.pipeline_rank, d.environment,
    LEAST((SELECT min(n.session_id) FROM runledger.nodes n WHERE n.run_id = f.run_id), d.session_id),
    LEAST((SELECT min(n.user_id) FROM runledger.nodes n WHERE n.run_id = f.run_id), d.user_id),
    (SELECT min(s.ingested_at) FROM runledger.spans s WHERE s.trace_id = f.run_id),
    ${COMPUTED.map((c) => `f.${c}`).join(', ')}, f.models
  FROM f LEFT JOIN json_to_recordset($2::json)
    AS d(run_id uuid, pipeline text, pipeline_rank smallint, environment text, session_id text, user_id text)
    ON d.run_id = f.run_id
  WHERE NOT EXISTS (SELECT 1 FROM runledger.runs r WHERE r.run_id = f.run_id)
  RETURNING run_id
)
SELECT 's' AS k, replace(run_id::text, '-', '') AS run_id FROM f
UNION ALL SELECT 'u', replace(run_id::text, '-', '') FROM upd
UNION ALL SELECT 'i', replace(run_id::text, '-', '') FROM ins`;
