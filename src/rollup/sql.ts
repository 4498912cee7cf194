/**
 * Rollup statements run inside the write transaction: locking the batch's runs, reading and changing their
 * usage frontier, inserting new runs, folding deltas into existing ones. See usage.ts for how usage is counted
 * once. Every statement keys runs by (tenant_id, trace id): one tenant's spans never reach another's rows.
 */

/** The batch's runs as SQL: `tenants` a text[] and `runIds` a uuid[] (parameters, or literals). */
const runsOf = (tenants: string, runIds: string) => `SELECT * FROM unnest(${tenants}, ${runIds})`;

/**
 * The batch's runs whose rows exist and no other transaction holds, now locked by this one (FOR UPDATE needs
 * UPDATE rights on runs: no read-only login can take or hold such a lock). Runs another transaction holds
 * are skipped, not waited for: the writer defers their spans.
 */
export const lockExistingRunsSql = (tenants: string, runIds: string) => `
SELECT r.tenant_id, replace(r.run_id::text, '-', '') AS run_id FROM runledger.runs r
WHERE (r.tenant_id, r.run_id) IN (${runsOf(tenants, runIds)}) ORDER BY r.tenant_id, r.run_id FOR UPDATE SKIP LOCKED`;

/** The batch's runs that have a row (locked or not); run after lockExistingRunsSql, in its transaction. */
export const existingRunsSql = (tenants: string, runIds: string) => `
SELECT r.tenant_id, replace(r.run_id::text, '-', '') AS run_id FROM runledger.runs r
WHERE (r.tenant_id, r.run_id) IN (${runsOf(tenants, runIds)})`;

/** Empty rows for new runs (sql/007 create_runs): the re-send path's claim on them. */
export const CREATE_RUNS_SQL = `SELECT tenant_id, replace(run_id::text, '-', '') AS run_id FROM runledger.create_runs($1::text[], $2::uuid[])`;

/** Lock runs waiting for other holders, creating rows for new ones (sql/007 lock_runs): repair and reprice. */
export const LOCK_RUNS_WAITING_SQL = `
SELECT tenant_id, replace(run_id::text, '-', '') AS run_id, created FROM runledger.lock_runs($1::text[], $2::uuid[])`;

/** Stored frontier rows (marked spans whose parent had not arrived, with their marks) of the runs. */
export const probeFrontierSql = (tenants: string, runIds: string) => `
SELECT f.tenant_id, replace(f.trace_id::text, '-', '') AS trace_id, f.span_id, f.parent_span_id, f.mask
FROM runledger.usage_frontier f WHERE (f.tenant_id, f.trace_id) IN (${runsOf(tenants, runIds)})`;
export const PROBE_FRONTIER_SQL = probeFrontierSql('$1::text[]', '$2::uuid[]');

/**
 * Walk up through stored spans from the parents of marked spans that left the batch, carrying their marks
 * ($4: bits, usage.ts). Every span reached gets the marks (OR of every path that reached it); parent_missing
 * tells which one now sits on the frontier. The walk is the function runledger.walk_up (sql/013), which pins
 * its plan to index lookups.
 */
export const WALK_UP_SQL = 'SELECT * FROM runledger.walk_up($1::text[], $2::uuid[], $3::text[], $4::int[])';

/** The marks a stored node passes up for itself (usage.ts ownMarks), in SQL. */
export const ownMarksSql = (n: string) => `((CASE WHEN ${hasUsageSql(n)} THEN 1 ELSE 0 END)
  | (CASE ${n}.node_type WHEN 'LLM' THEN 2 WHEN 'TOOL' THEN 4 ELSE 0 END))`;

/**
 * The node carries usage (sink/encoder.ts hasUsage on the stored columns). A stored NULL cost with a
 * cost source was a cost too large to store exactly: the gateway counted it as usage.
 */
export function hasUsageSql(n: string): string {
  return `(coalesce(${n}.input_tokens, 0) > 0 OR coalesce(${n}.output_tokens, 0) > 0
  OR coalesce(${n}.total_tokens, 0) > 0 OR coalesce(${n}.total_cost, 0) > 0
  OR (${n}.total_cost IS NULL AND ${n}.cost_source IS NOT NULL))`;
}

/**
 * Stored nodes reached by the walk with marks of their own below them turn aggregates: usage_counted and
 * call_counted turn false for those marks. Returns the nodes changed, as they were (their usage is
 * subtracted from the run, and their call when call_counted was true). The start time (the partition key)
 * lets each lookup go to one day's partition.
 */
export const SETTLE_STORED_SQL = `
WITH c AS (
  SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int[]) AS c(tenant_id, run_id, node_id, start_time, mask)
), was AS (
  SELECT n.tenant_id, n.run_id, n.node_id, n.start_time, n.node_type, n.usage_counted, n.call_counted,
    n.usage_counted AND (c.mask & 1) <> 0 AS uncount, n.call_counted AND (c.mask & ${ownMarksSql('n')} & 6) <> 0 AS uncall,
    n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens, n.total_tokens, n.total_cost
  FROM runledger.nodes n JOIN c ON n.tenant_id = c.tenant_id AND n.run_id = c.run_id AND n.node_id = c.node_id
    AND n.start_time = c.start_time
), settled AS (
  UPDATE runledger.nodes n SET usage_counted = n.usage_counted AND NOT w.uncount, call_counted = n.call_counted AND NOT w.uncall
  FROM was w WHERE (w.uncount OR w.uncall) AND n.tenant_id = w.tenant_id AND n.run_id = w.run_id AND n.node_id = w.node_id
    AND n.start_time = w.start_time
  RETURNING 1
)
SELECT w.tenant_id, replace(w.run_id::text, '-', '') AS run_id, w.node_type, w.uncount, w.uncall, w.input_tokens, w.output_tokens,
  w.cache_read_tokens, w.cache_write_tokens, w.reasoning_tokens, w.total_tokens, w.total_cost::text AS total_cost
FROM was w WHERE w.uncount OR w.uncall`; // (the UPDATE in WITH runs whether or not its rows are read)

/** Marked spans whose parent has not arrived; a span already waiting keeps every mark it was given. */
export const INSERT_FRONTIER_SQL = `
INSERT INTO runledger.usage_frontier AS f (tenant_id, trace_id, span_id, parent_span_id, mask)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::int[])
ON CONFLICT (tenant_id, trace_id, span_id) DO UPDATE SET mask = f.mask | excluded.mask WHERE (f.mask | excluded.mask) <> f.mask`;

export const DELETE_FRONTIER_SQL = `
DELETE FROM runledger.usage_frontier f USING unnest($1::text[], $2::uuid[], $3::text[]) AS d(tenant_id, trace_id, span_id)
WHERE f.tenant_id = d.tenant_id AND f.trace_id = d.trace_id AND f.span_id = d.span_id`;

/** Runs rows lock_runs created that no span of the transaction filled (every span was a re-send). */
export const DELETE_EMPTY_RUNS_SQL = (tenants: string, runIds: string) => `
DELETE FROM runledger.runs r WHERE (r.tenant_id, r.run_id) IN (${runsOf(tenants, runIds)}) AND r.span_count = 0`;

const NEW_ROOT = `(r.root_span_id IS NULL OR (d.root_span_id IS NOT NULL AND
  (d.root_start_time, d.root_span_id) < (r.root_start_time, r.root_span_id)))`;
/** the delta's node comes first (start, id) / last (end, id) among those with an agent name / input / output */
const NEW_AGENT = `d.agent_node_id IS NOT NULL AND (r.agent_node_id IS NULL
  OR (d.agent_start_time, d.agent_node_id) < (r.agent_start_time, r.agent_node_id))`;
const NEW_INPUT = `d.input_node_id IS NOT NULL AND (r.input_node_id IS NULL
  OR (d.input_start_time, d.input_node_id) < (r.input_start_time, r.input_node_id))`;
const NEW_OUTPUT = `d.output_node_id IS NOT NULL AND (r.output_node_id IS NULL
  OR (d.output_end_time, d.output_node_id) > (r.output_end_time, r.output_node_id))`;

/**
 * Run deltas of a transaction, staged by binary COPY (rollup/deltas.ts encodeDeltaRows) in a temporary
 * table of the session: cheaper to read than a json document of the same rows. Token sums of one batch
 * fit a bigint (batchMaxSpans × MAX_TOKENS); the runs columns they are added to are numeric.
 */
export const RUN_DELTA_COLUMNS = [
  ['run_id', 'uuid'], ['tenant_id', 'text'], ['pipeline', 'text'], ['pipeline_rank', 'smallint'], ['service_name', 'text'],
  ['environment', 'text'], ['session_id', 'text'], ['user_id', 'text'], ['name', 'text'], ['status', 'text'],
  ['start_time', 'timestamptz'], ['end_time', 'timestamptz'], ['span_count', 'bigint'], ['total_nodes', 'bigint'],
  ['llm_calls', 'bigint'], ['tool_calls', 'bigint'], ['error_count', 'bigint'], ['input_tokens', 'bigint'],
  ['output_tokens', 'bigint'], ['cache_read_tokens', 'bigint'], ['cache_write_tokens', 'bigint'],
  ['reasoning_tokens', 'bigint'], ['total_tokens', 'bigint'], ['total_cost', 'text'], ['models', 'text[]'],
  ['error_message', 'text'], ['root_span_id', 'text'], ['root_start_time', 'timestamptz'],
  ['last_start_time', 'timestamptz'], ['failed_nodes', 'bigint'], ['agent_name', 'text'], ['agent_node_id', 'text'],
  ['agent_start_time', 'timestamptz'], ['input_node_id', 'text'], ['input_start_time', 'timestamptz'],
  ['output_node_id', 'text'], ['output_start_time', 'timestamptz'], ['output_end_time', 'timestamptz'],
] as const;
export const RUN_DELTAS_STAGE = 'runledger_stage_run_deltas';
export const CREATE_RUN_DELTAS_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ${RUN_DELTAS_STAGE} (
  ${RUN_DELTA_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;

const INSERT_COLUMNS = RUN_DELTA_COLUMNS.map(([c]) => c).join(', ');

/**
 * New runs (no row when the batch's runs were locked) claimed by inserting their rows, computed from the batch
 * alone (a new run has no stored spans), from the staged deltas of the runs $1, $2; those staged deltas are
 * removed (the update below folds the rest). A run another writer created meanwhile is not inserted (and not
 * returned): its spans are deferred. Returns the runs inserted.
 */
export const INSERT_NEW_RUNS_SQL = `
WITH claimed AS (
  INSERT INTO runledger.runs AS r (${INSERT_COLUMNS}, duration_ms)
  SELECT ${RUN_DELTA_COLUMNS.map(([c]) => (c === 'total_cost' ? 'd.total_cost::numeric' : `d.${c}`)).join(', ')},
    extract(epoch FROM d.end_time - d.start_time) * 1000
  FROM ${RUN_DELTAS_STAGE} d WHERE (d.tenant_id, d.run_id) IN (${runsOf('$1::text[]', '$2::uuid[]')})
  ORDER BY d.tenant_id, d.run_id
  ON CONFLICT DO NOTHING
  RETURNING r.tenant_id, r.run_id
), unstaged AS (
  DELETE FROM ${RUN_DELTAS_STAGE} d WHERE (d.tenant_id, d.run_id) IN (${runsOf('$1::text[]', '$2::uuid[]')})
)
SELECT tenant_id, replace(run_id::text, '-', '') AS run_id FROM claimed`;

/**
 * Fold the staged run deltas into the runs rows (locked, or created empty by the re-send path). Every column
 * folds commutatively (sum, least, greatest, precedence rank, root by (start, span id)), so any split of a
 * run's spans into transactions, in any order, gives the same row.
 */
export const UPDATE_RUNS_SQL = `
UPDATE runledger.runs AS r SET
  pipeline = CASE WHEN r.pipeline IS NULL OR (d.pipeline IS NOT NULL AND
      (d.pipeline_rank, d.pipeline) < (r.pipeline_rank, r.pipeline)) THEN d.pipeline ELSE r.pipeline END,
  pipeline_rank = CASE WHEN r.pipeline IS NULL OR (d.pipeline IS NOT NULL AND
      (d.pipeline_rank, d.pipeline) < (r.pipeline_rank, r.pipeline)) THEN d.pipeline_rank ELSE r.pipeline_rank END,
  service_name = CASE WHEN d.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN d.service_name
      WHEN r.root_span_id IS NOT NULL THEN r.service_name
      ELSE LEAST(r.service_name, d.service_name) END,
  name = CASE WHEN d.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN d.name ELSE r.name END,
  root_start_time = CASE WHEN d.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN d.root_start_time ELSE r.root_start_time END,
  root_span_id = CASE WHEN d.root_span_id IS NOT NULL AND ${NEW_ROOT} THEN d.root_span_id ELSE r.root_span_id END,
  environment = LEAST(r.environment, d.environment),
  session_id = LEAST(r.session_id, d.session_id),
  user_id = LEAST(r.user_id, d.user_id),
  status = CASE WHEN 'FAILED' IN (r.status, d.status) THEN 'FAILED'
      WHEN 'COMPLETED' IN (r.status, d.status) THEN 'COMPLETED' ELSE 'RUNNING' END,
  error_message = LEAST(r.error_message, d.error_message),
  start_time = LEAST(r.start_time, d.start_time),
  end_time = GREATEST(r.end_time, d.end_time),
  duration_ms = extract(epoch FROM GREATEST(r.end_time, d.end_time) - LEAST(r.start_time, d.start_time)) * 1000,
  span_count = r.span_count + d.span_count,
  total_nodes = r.total_nodes + d.total_nodes,
  llm_calls = r.llm_calls + d.llm_calls,
  tool_calls = r.tool_calls + d.tool_calls,
  error_count = r.error_count + d.error_count,
  input_tokens = r.input_tokens + d.input_tokens,
  output_tokens = r.output_tokens + d.output_tokens,
  cache_read_tokens = r.cache_read_tokens + d.cache_read_tokens,
  cache_write_tokens = r.cache_write_tokens + d.cache_write_tokens,
  reasoning_tokens = r.reasoning_tokens + d.reasoning_tokens,
  total_tokens = r.total_tokens + d.total_tokens,
  total_cost = r.total_cost + d.total_cost::numeric,
  models = CASE WHEN d.models <@ r.models THEN r.models
      ELSE ARRAY(SELECT DISTINCT unnest(r.models || d.models) ORDER BY 1) END,
  last_start_time = GREATEST(r.last_start_time, d.last_start_time),
  failed_nodes = r.failed_nodes + d.failed_nodes,
  agent_name = CASE WHEN ${NEW_AGENT} THEN d.agent_name ELSE r.agent_name END,
  agent_node_id = CASE WHEN ${NEW_AGENT} THEN d.agent_node_id ELSE r.agent_node_id END,
  agent_start_time = CASE WHEN ${NEW_AGENT} THEN d.agent_start_time ELSE r.agent_start_time END,
  input_node_id = CASE WHEN ${NEW_INPUT} THEN d.input_node_id ELSE r.input_node_id END,
  input_start_time = CASE WHEN ${NEW_INPUT} THEN d.input_start_time ELSE r.input_start_time END,
  output_node_id = CASE WHEN ${NEW_OUTPUT} THEN d.output_node_id ELSE r.output_node_id END,
  output_start_time = CASE WHEN ${NEW_OUTPUT} THEN d.output_start_time ELSE r.output_start_time END,
  output_end_time = CASE WHEN ${NEW_OUTPUT} THEN d.output_end_time ELSE r.output_end_time END,
  updated_at = now()
FROM ${RUN_DELTAS_STAGE} d
WHERE r.tenant_id = d.tenant_id AND r.run_id = d.run_id`;
