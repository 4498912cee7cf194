/**
 * The run-delta columns: one list that drives the delta row (deltas.ts deltaRows), its binary COPY encoding
 * (sink/run-deltas.ts), the session's staging table, the insert of new runs and the fold of a delta into a
 * stored run. A new run column is one entry here, its value in deltaRows and its recomputation in repair
 * (maintenance/repair-sql.ts).
 */

/** How a value is staged (SQL type) and encoded. */
export interface DeltaKinds {
  uuid: string; // 32 hex digits
  /** text never null (the tenant) */
  key: string;
  text: string | null;
  int2: number | null;
  /** microseconds since the epoch */
  time: number;
  optTime: number | null;
  /** an exact sum: a safe integer, or a BigInt once it left that range */
  count: number | bigint;
  /** exact decimal text (numeric input), staged as text */
  decimal: string;
  texts: string[];
  /** JSON text, staged as jsonb */
  json: string | null;
}
export type DeltaKind = keyof DeltaKinds;

const SQL_TYPES: Record<DeltaKind, string> = {
  uuid: 'uuid', key: 'text', text: 'text', int2: 'smallint', time: 'timestamptz', optTime: 'timestamptz', count: 'bigint', decimal: 'text',
  texts: 'text[]', json: 'jsonb',
};

/** The new value of a stored run's column `c` (r: the runs row, d: the staged delta). */
type Fold = (c: string) => string;
const sum: Fold = (c) => `r.${c} + d.${c}`;
const least: Fold = (c) => `LEAST(r.${c}, d.${c})`;
const greatest: Fold = (c) => `GREATEST(r.${c}, d.${c})`;
const when = (cond: string): Fold => (c) => `CASE WHEN ${cond} THEN d.${c} ELSE r.${c} END`;

const NEW_PIPELINE = `r.pipeline IS NULL OR (d.pipeline IS NOT NULL AND
      (d.pipeline_rank, d.pipeline) < (r.pipeline_rank, r.pipeline))`;
/** the delta holds a parentless span earlier (start, span id) than the run's root */
const NEW_ROOT = `d.root_span_id IS NOT NULL AND (r.root_span_id IS NULL OR (d.root_span_id IS NOT NULL AND
  (d.root_start_time, d.root_span_id) < (r.root_start_time, r.root_span_id)))`;
/** the delta's node comes first (start, id) / last (end, id) among those with an agent name / input / output */
const NEW_AGENT = `d.agent_node_id IS NOT NULL AND (r.agent_node_id IS NULL
  OR (d.agent_start_time, d.agent_node_id) < (r.agent_start_time, r.agent_node_id))`;
const NEW_INPUT = `d.input_node_id IS NOT NULL AND (r.input_node_id IS NULL
  OR (d.input_start_time, d.input_node_id) < (r.input_start_time, r.input_node_id))`;
const NEW_OUTPUT = `d.output_node_id IS NOT NULL AND (r.output_node_id IS NULL
  OR (d.output_end_time, d.output_node_id) > (r.output_end_time, r.output_node_id))`;

const col = <C extends string, F extends string, K extends DeltaKind>(column: C, field: F, kind: K, fold: Fold | null) =>
  ({ column, field, kind, fold, stageOnly: false });
/** A field of the staged delta that is no runs column: read by the fold of another (RUN_INPUT_*). */
const staged = <F extends string, K extends DeltaKind>(field: F, kind: K) => ({ column: field, field, kind, fold: null, stageOnly: true });

/** Exact sums, folded by addition: the field is named as the column. */
const sums = <C extends string>(...columns: C[]) => columns.map((c) => col(c, c, 'count', sum));

/**
 * Every column folds commutatively (sum, least, greatest, precedence rank, root by (start, span id)), so any
 * split of a run's spans into transactions, in any order, gives the same row. Token sums of one batch fit a
 * bigint (batchMaxSpans × MAX_TOKENS); the runs columns they are added to are numeric.
 */
export const RUN_DELTA_COLUMNS = [
  col('run_id', 'run_id', 'uuid', null),
  col('tenant_id', 'tenant_id', 'key', null),
  col('pipeline', 'pipeline', 'text', when(NEW_PIPELINE)),
  col('pipeline_rank', 'pipeline_rank', 'int2', when(NEW_PIPELINE)),
  col('service_name', 'service_name', 'text', (c) => `CASE WHEN ${NEW_ROOT} THEN d.${c}
      WHEN r.root_span_id IS NOT NULL THEN r.${c}
      ELSE LEAST(r.${c}, d.${c}) END`),
  col('environment', 'environment', 'text', least),
  col('session_id', 'session_id', 'text', least),
  col('user_id', 'user_id', 'text', least),
  col('name', 'name', 'text', when(NEW_ROOT)),
  col('status', 'status', 'text', () => `CASE WHEN 'FAILED' IN (r.status, d.status) THEN 'FAILED'
      WHEN 'COMPLETED' IN (r.status, d.status) THEN 'COMPLETED' ELSE 'RUNNING' END`),
  col('start_time', 'start_us', 'time', least),
  col('end_time', 'end_us', 'time', greatest),
  ...sums('span_count', 'total_nodes', 'llm_calls', 'tool_calls', 'error_count', 'input_tokens', 'output_tokens',
    'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'total_tokens'),
  col('total_cost', 'total_cost', 'decimal', (c) => `r.${c} + d.${c}::numeric`),
  col('models', 'models', 'texts', (c) => `CASE WHEN d.${c} <@ r.${c} THEN r.${c}
      ELSE ARRAY(SELECT DISTINCT unnest(r.${c} || d.${c}) ORDER BY 1) END`),
  col('error_message', 'error_message', 'text', least),
  col('root_span_id', 'root_span_id', 'text', when(NEW_ROOT)),
  col('root_start_time', 'root_start_us', 'optTime', when(NEW_ROOT)),
  col('last_start_time', 'last_start_us', 'time', greatest),
  col('failed_nodes', 'failed_nodes', 'count', sum),
  col('agent_name', 'agent_name', 'text', when(NEW_AGENT)),
  col('agent_node_id', 'agent_node_id', 'text', when(NEW_AGENT)),
  col('agent_start_time', 'agent_start_us', 'optTime', when(NEW_AGENT)),
  col('input_node_id', 'input_node_id', 'text', when(NEW_INPUT)),
  col('input_start_time', 'input_start_us', 'optTime', when(NEW_INPUT)),
  col('output_node_id', 'output_node_id', 'text', when(NEW_OUTPUT)),
  col('output_start_time', 'output_start_us', 'optTime', when(NEW_OUTPUT)),
  col('output_end_time', 'output_end_us', 'optTime', when(NEW_OUTPUT)),
  // what the run's stored input (runs.run_input, sql/029) is computed from
  /** 1 when the delta's root span is a node, 0 when it is not, NULL without a root */
  staged('root_is_node', 'int2'),
  /** the input of the delta's root node */
  staged('root_input', 'json'),
  /** the input of the delta's first input node; NULL when that node is its root node (then root_input) */
  staged('input_content', 'json'),
];

/** The content of the delta's first input node. */
const D_INPUT = `CASE WHEN d.input_node_id = d.root_span_id AND d.input_start_time = d.root_start_time THEN d.root_input
    ELSE d.input_content END`;
/** The run's input (compat's rule, sql/029): its root node's input when the root span is a node, else its first input node's. */
const RUN_INPUT_NEW = `CASE WHEN d.root_is_node = 1 THEN d.root_input ELSE ${D_INPUT} END`;
/** The stored run's root span is a node (a probe of its key, made only when the delta brings an earlier input node). */
const STORED_ROOT_IS_NODE = `EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id
    AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)`;
/**
 * The stored run's input after the delta: a new root decides when it is a node; a new non-node root hands it to the
 * first input node, the delta's when it brings an earlier one, else the stored one (read back: the root was a node
 * before, or it stays the same); an earlier input node decides unless the root is a node.
 */
const RUN_INPUT_FOLD = `CASE
    WHEN ${NEW_ROOT} THEN CASE WHEN d.root_is_node = 1 THEN d.root_input
      WHEN ${NEW_INPUT} THEN ${D_INPUT}
      ELSE (SELECT i.input FROM runledger.run_input_of(r.tenant_id, r.run_id, NULL, NULL, r.input_node_id, r.input_start_time) i) END
    WHEN ${NEW_INPUT} THEN CASE WHEN r.root_span_id IS NOT NULL AND ${STORED_ROOT_IS_NODE} THEN r.run_input ELSE ${D_INPUT} END
    ELSE r.run_input END`;
const RUNS_COLUMNS = RUN_DELTA_COLUMNS.filter((c) => !c.stageOnly);

type Column = (typeof RUN_DELTA_COLUMNS)[number];
/** A run delta as the runs update takes it: one field per entry of RUN_DELTA_COLUMNS. */
export type RunDeltaRow = { [C in Column as C['field']]: DeltaKinds[C['kind']] };

/** The session's staging table of run deltas: binary COPY into it is cheaper to read than a json document. */
export const RUN_DELTAS_STAGE = 'runledger_stage_run_deltas';
export const CREATE_RUN_DELTAS_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ${RUN_DELTAS_STAGE} (
  ${RUN_DELTA_COLUMNS.map((c) => `${c.column} ${SQL_TYPES[c.kind]}`).join(', ')})`;

const runsOf = (tenants: string, runIds: string) => `SELECT * FROM unnest(${tenants}, ${runIds})`;

/**
 * New runs (no row when the batch's runs were locked) claimed by inserting their rows, computed from the batch
 * alone (a new run has no stored spans), from the staged deltas of the runs $1, $2; those staged deltas are
 * removed (the update below folds the rest). A run another writer created meanwhile is not inserted (and not
 * returned): its spans are deferred. Returns the runs inserted.
 */
export const INSERT_NEW_RUNS_SQL = `
WITH claimed AS (
  INSERT INTO runledger.runs AS r (${RUNS_COLUMNS.map((c) => c.column).join(', ')}, duration_ms, run_input)
  SELECT ${RUNS_COLUMNS.map((c) => (c.kind === 'decimal' ? `d.${c.column}::numeric` : `d.${c.column}`)).join(', ')},
    extract(epoch FROM d.end_time - d.start_time) * 1000, ${RUN_INPUT_NEW}
  FROM ${RUN_DELTAS_STAGE} d WHERE (d.tenant_id, d.run_id) IN (${runsOf('$1::text[]', '$2::uuid[]')})
  ORDER BY d.tenant_id, d.run_id
  ON CONFLICT DO NOTHING
  RETURNING r.tenant_id, r.run_id
), unstaged AS (
  DELETE FROM ${RUN_DELTAS_STAGE} d WHERE (d.tenant_id, d.run_id) IN (${runsOf('$1::text[]', '$2::uuid[]')})
)
SELECT tenant_id, replace(run_id::text, '-', '') AS run_id FROM claimed`;

/** Fold the staged run deltas into the runs rows (locked, or created empty by the re-send path). */
export const UPDATE_RUNS_SQL = `
UPDATE runledger.runs AS r SET
  ${RUN_DELTA_COLUMNS.filter((c) => c.fold !== null).map((c) => `${c.column} = ${c.fold!(c.column)}`).join(',\n  ')},
  duration_ms = extract(epoch FROM GREATEST(r.end_time, d.end_time) - LEAST(r.start_time, d.start_time)) * 1000,
  run_input = ${RUN_INPUT_FOLD},
  updated_at = now()
FROM ${RUN_DELTAS_STAGE} d
WHERE r.tenant_id = d.tenant_id AND r.run_id = d.run_id`;
