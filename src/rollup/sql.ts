/**
 * Rollup statements run inside the write transaction: locking the batch's runs, reading and changing their
 * usage frontier, the walk up through stored spans. See usage.ts for how usage is counted once (and
 * docs/rollup.md); the statements that insert and fold run deltas are built from their column list in
 * delta-columns.ts. Every statement keys runs by (tenant_id, trace id): one tenant's spans never reach another's rows.
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

/** Lock runs waiting for other holders, creating rows for new ones (sql/007 lock_runs): locks.ts lockRunsWaiting. */
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
 * The node carries usage (amounts.ts hasUsage on the stored columns). A stored NULL cost with a
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
