/**
 * Statements of repair: each run's rollups recomputed from its stored spans and nodes. They reproduce what
 * the incremental path (rollup/deltas.ts, rollup/delta-columns.ts, rollup/walk.ts) arrives at; see repair.ts.
 */
import { HINT_ATTRIBUTE_KEYS, HINT_RESOURCE_KEYS } from '../mapping/run-hints.js';
import { hasUsageSql, ownMarksSql } from '../rollup/sql.js';
import { RUN_DELTA_COLUMNS } from '../rollup/delta-columns.js';

/** The runs repaired, (tenant, trace id) pairs: $1 text[], $2 uuid[]. */
const TARGET = `target AS (SELECT * FROM unnest($1::text[], $2::uuid[]) AS t(tenant_id, run_id))`;

/**
 * Marks of the runs' spans (rollup/usage.ts), recomputed from what is stored: every node passes its own marks
 * (usage 1, LLM 2, tool 4) up through the stored spans of its run. A node that receives one of its own marks
 * is an aggregate for it (aggregate: those marks); a marked span whose parent is not stored belongs on the
 * frontier with every mark it passes (mask). Only those two kinds of rows are returned.
 */
export const MARKED_SQL = `
WITH RECURSIVE ${TARGET}, own AS (
  SELECT n.tenant_id, n.run_id AS trace_id, n.node_id AS span_id, n.parent_span_id, ${ownMarksSql('n')} AS mask
  FROM runledger.nodes n JOIN target t ON n.tenant_id = t.tenant_id AND n.run_id = t.run_id
), up AS (
  SELECT s.tenant_id, s.trace_id, s.span_id, s.parent_span_id, o.mask
  FROM own o JOIN runledger.spans s ON s.tenant_id = o.tenant_id AND s.trace_id = o.trace_id AND s.span_id = o.parent_span_id
  WHERE o.mask <> 0
  UNION
  SELECT s.tenant_id, s.trace_id, s.span_id, s.parent_span_id, up.mask
  FROM up JOIN runledger.spans s ON s.tenant_id = up.tenant_id AND s.trace_id = up.trace_id AND s.span_id = up.parent_span_id
), received AS (
  SELECT tenant_id, trace_id, span_id, parent_span_id, bit_or(mask) AS mask FROM up GROUP BY tenant_id, trace_id, span_id, parent_span_id
), marked AS (
  SELECT tenant_id, trace_id, span_id, coalesce(o.parent_span_id, r.parent_span_id) AS parent_span_id,
    coalesce(o.mask, 0) & coalesce(r.mask, 0) AS aggregate, coalesce(o.mask, 0) | coalesce(r.mask, 0) AS mask
  FROM (SELECT * FROM own WHERE mask <> 0) o FULL JOIN received r USING (tenant_id, trace_id, span_id)
), flagged AS (
  SELECT m.*, (m.parent_span_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM runledger.spans p
    WHERE p.tenant_id = m.tenant_id AND p.trace_id = m.trace_id AND p.span_id = m.parent_span_id)) AS parent_missing
  FROM marked m
)
SELECT tenant_id, replace(trace_id::text, '-', '') AS trace_id, span_id, parent_span_id, aggregate, mask, parent_missing
FROM flagged WHERE aggregate <> 0 OR parent_missing`;

/**
 * usage_counted and call_counted of the runs' nodes, from the aggregates ($3, $4, $5, $6: tenant, run, node,
 * aggregate marks): usage_counted when it carries usage and is not a usage aggregate, call_counted when it is
 * an LLM or tool node and not a call aggregate. Returns the changed rows' runs.
 */
export const SET_COUNTED_SQL = `
WITH ${TARGET}
UPDATE runledger.nodes n SET usage_counted = d.usage_counted, call_counted = d.call_counted
FROM (
  SELECT x.tenant_id, x.run_id, x.node_id, x.start_time,
    ${hasUsageSql('x')} AND coalesce(a.aggregate, 0) & 1 = 0 AS usage_counted,
    x.node_type IN ('LLM', 'TOOL') AND coalesce(a.aggregate, 0) & 6 = 0 AS call_counted
  FROM runledger.nodes x
  JOIN target t ON x.tenant_id = t.tenant_id AND x.run_id = t.run_id
  LEFT JOIN (SELECT DISTINCT * FROM unnest($3::text[], $4::uuid[], $5::text[], $6::int[]) AS a(tenant_id, run_id, node_id, aggregate)) a
    ON a.tenant_id = x.tenant_id AND a.run_id = x.run_id AND a.node_id = x.node_id
) d
WHERE n.tenant_id = d.tenant_id AND n.run_id = d.run_id AND n.node_id = d.node_id AND n.start_time = d.start_time
  AND (n.usage_counted, n.call_counted) IS DISTINCT FROM (d.usage_counted, d.call_counted)
RETURNING n.tenant_id, replace(n.run_id::text, '-', '') AS run_id`;

/** What run-hints.ts reads of each span (its key lists), for runs recreated from their spans. */
const pick = (value: string, keys: readonly string[]) =>
  `jsonb_strip_nulls(jsonb_build_object(${keys.map((k) => `'${k.replace(/'/g, "''")}', ${value}->'${k.replace(/'/g, "''")}'`).join(', ')}))`;
/** The resource inline (rows before sql/014) or stored once in runledger.resources. */
export const HINT_SPANS_SQL = `
WITH ${TARGET}
SELECT s.tenant_id, replace(s.trace_id::text, '-', '') AS run_id, s.parent_span_id, s.name, s.service_name,
  ${pick('s.attributes', HINT_ATTRIBUTE_KEYS)} AS attributes,
  ${pick('coalesce(s.resource, x.resource)', HINT_RESOURCE_KEYS)} AS resource
FROM runledger.spans s JOIN target t ON s.tenant_id = t.tenant_id AND s.trace_id = t.run_id
LEFT JOIN runledger.resources x ON x.tenant_id = s.tenant_id AND x.resource_hash = s.resource_hash`;

/** Run-delta columns repair keeps as they are (models is compared as a set; the others are descriptive). */
const KEPT: ReadonlySet<string> = new Set(['run_id', 'tenant_id', 'pipeline', 'pipeline_rank', 'environment', 'session_id', 'user_id', 'models']);
/**
 * Rollup columns repair recomputes: every run-delta column (rollup/delta-columns.ts) but the kept ones, and
 * the columns the writer derives beside them. A new delta column lands here by itself: ROLLUP_SQL's f must
 * compute it.
 */
const COMPUTED = [...RUN_DELTA_COLUMNS.filter((c) => !c.stageOnly).map((c) => c.column).filter((c) => !KEPT.has(c)), 'duration_ms', 'currency'];

/** The first (by start, node id) node where `cond` holds: its `col` (sql/012's agent, input references). */
const first = (cond: string, col: string) =>
  `(array_agg(n.${col} ORDER BY n.start_time, n.node_id) FILTER (WHERE ${cond}))[1]`;
/** A node has input content: stored, or a reference to its span's attribute (sql/015; outputs likewise). */
const HAS_INPUT = '(n.input IS NOT NULL OR n.input_ref IS NOT NULL)';
/** The last (by end, node id) node with output: its `col`. */
const lastOut = (col: string) =>
  `(array_agg(n.${col} ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL OR n.output_ref IS NOT NULL))[1]`;

const usageSum = (c: string) => `coalesce(sum(n.${c}) FILTER (WHERE n.usage_counted), 0) AS ${c}`;
const SAME_MODELS = '(r.models @> f.models AND r.models <@ f.models)';
/** A runs row lock_runs created (sql/007) for a run that had none ($4, $5: tenant, trace id). */
const CREATED = '(r.tenant_id, r.run_id) IN (SELECT * FROM unnest($4::text[], $5::uuid[]))';
const run = (a: string, b: string) => `${a}.tenant_id = ${b}.tenant_id AND ${a}.run_id = ${b}.run_id`;

/**
 * Recompute the runs with spans (their rows locked; rows the lock created for runs that had none, $4 and $5,
 * are filled as recreated runs, with the hints of $3: json [{tenant_id, run_id, pipeline, pipeline_rank,
 * environment, session_id, user_id}]; session and user are the least of these span hints and the nodes'
 * values, as the writer folds them). Updates the rows that differ. Returns one row per run with spans
 * (k = 's'), per updated run (k = 'u') and per recreated run (k = 'i').
 *
 * Status: the writer decides per transaction from the earliest parentless span it inserted (FAILED
 * sticks). Spans inserted by one transaction share ingested_at (its now()), which regroups them.
 */
export const ROLLUP_SQL = `
WITH ${TARGET}, sp AS (
  SELECT s.tenant_id, s.trace_id AS run_id, count(*) AS span_count, min(s.start_time) AS start_time, max(s.end_time) AS end_time,
    count(*) FILTER (WHERE s.status_code = 'ERROR') AS error_count, min(s.service_name) AS least_service,
    min(s.ingested_at) AS first_ingested, max(s.start_time) AS last_start_time
  FROM runledger.spans s JOIN target t ON s.tenant_id = t.tenant_id AND s.trace_id = t.run_id GROUP BY s.tenant_id, s.trace_id
), root AS (
  SELECT DISTINCT ON (s.tenant_id, s.trace_id) s.tenant_id, s.trace_id AS run_id, s.span_id, s.start_time, s.name, s.service_name
  FROM runledger.spans s JOIN target t ON s.tenant_id = t.tenant_id AND s.trace_id = t.run_id WHERE s.parent_span_id IS NULL
  ORDER BY s.tenant_id, s.trace_id, s.start_time, s.span_id
), batch_root AS (
  SELECT DISTINCT ON (s.tenant_id, s.trace_id, s.ingested_at) s.tenant_id, s.trace_id AS run_id, s.status_code, s.status_message
  FROM runledger.spans s JOIN target t ON s.tenant_id = t.tenant_id AND s.trace_id = t.run_id WHERE s.parent_span_id IS NULL
  ORDER BY s.tenant_id, s.trace_id, s.ingested_at, s.start_time, s.span_id
), verdict AS (
  SELECT tenant_id, run_id, bool_or(status_code = 'ERROR') AS failed,
    min(NULLIF(status_message, '')) FILTER (WHERE status_code = 'ERROR') AS error_message
  FROM batch_root GROUP BY tenant_id, run_id
), nd AS (
  SELECT n.tenant_id, n.run_id, count(*) AS total_nodes, count(*) FILTER (WHERE n.node_type = 'LLM' AND n.call_counted) AS llm_calls,
    count(*) FILTER (WHERE n.node_type = 'TOOL' AND n.call_counted) AS tool_calls,
    ${['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'total_tokens'].map(usageSum).join(',\n    ')},
    coalesce(sum(n.total_cost) FILTER (WHERE n.usage_counted), 0) AS total_cost,
    coalesce(array_agg(DISTINCT (n.model_name COLLATE "C") ORDER BY (n.model_name COLLATE "C"))
      FILTER (WHERE n.node_type IN ('LLM', 'EMBEDDING') AND n.model_name <> ''), '{}') AS models,
    min(n.session_id) AS session_id, min(n.user_id) AS user_id, count(*) FILTER (WHERE n.status = 'FAILED') AS failed_nodes,
    ${first('n.agent_name IS NOT NULL', 'agent_name')} AS agent_name, ${first('n.agent_name IS NOT NULL', 'node_id')} AS agent_node_id,
    ${first('n.agent_name IS NOT NULL', 'start_time')} AS agent_start_time,
    ${first(HAS_INPUT, 'node_id')} AS input_node_id, ${first(HAS_INPUT, 'start_time')} AS input_start_time,
    ${lastOut('node_id')} AS output_node_id, ${lastOut('start_time')} AS output_start_time, ${lastOut('end_time')} AS output_end_time
  FROM runledger.nodes n JOIN target t ON n.tenant_id = t.tenant_id AND n.run_id = t.run_id GROUP BY n.tenant_id, n.run_id
), f AS (
  SELECT sp.tenant_id, sp.run_id,
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
    root.span_id AS root_span_id, root.start_time AS root_start_time,
    nd.session_id, nd.user_id, sp.first_ingested, sp.last_start_time, coalesce(nd.failed_nodes, 0) AS failed_nodes,
    nd.agent_name, nd.agent_node_id, nd.agent_start_time, nd.input_node_id, nd.input_start_time,
    nd.output_node_id, nd.output_start_time, nd.output_end_time
  FROM sp LEFT JOIN root USING (tenant_id, run_id) LEFT JOIN verdict v USING (tenant_id, run_id)
    LEFT JOIN nd USING (tenant_id, run_id)
), created AS (
  SELECT * FROM unnest($4::text[], $5::uuid[]) AS c(tenant_id, run_id)
), upd AS (
  UPDATE runledger.runs r SET ${COMPUTED.map((c) => `${c} = f.${c}`).join(', ')},
    models = CASE WHEN ${SAME_MODELS} THEN r.models ELSE f.models END, updated_at = now(),
    pipeline = CASE WHEN ${CREATED} THEN d.pipeline ELSE r.pipeline END,
    pipeline_rank = CASE WHEN ${CREATED} THEN d.pipeline_rank ELSE r.pipeline_rank END,
    environment = CASE WHEN ${CREATED} THEN d.environment ELSE r.environment END,
    session_id = CASE WHEN ${CREATED} THEN LEAST(f.session_id, d.session_id) ELSE r.session_id END,
    user_id = CASE WHEN ${CREATED} THEN LEAST(f.user_id, d.user_id) ELSE r.user_id END,
    created_at = CASE WHEN ${CREATED} THEN f.first_ingested ELSE r.created_at END
  FROM f LEFT JOIN json_to_recordset($3::json)
    AS d(tenant_id text, run_id uuid, pipeline text, pipeline_rank smallint, environment text, session_id text, user_id text)
    ON ${run('d', 'f')}
  WHERE ${run('r', 'f')} AND (${CREATED} OR
    (${COMPUTED.map((c) => `r.${c}`).join(', ')}) IS DISTINCT FROM (${COMPUTED.map((c) => `f.${c}`).join(', ')})
    OR NOT ${SAME_MODELS})
  RETURNING r.tenant_id, r.run_id
)
SELECT 's' AS k, tenant_id, replace(run_id::text, '-', '') AS run_id FROM f
UNION ALL SELECT CASE WHEN c.run_id IS NULL THEN 'u' ELSE 'i' END, u.tenant_id, replace(u.run_id::text, '-', '')
  FROM upd u LEFT JOIN created c USING (tenant_id, run_id)`;
