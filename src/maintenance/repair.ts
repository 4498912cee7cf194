/**
 * `runledger repair`: recompute each run's rollups from what is stored, in batches of runs, each batch
 * one transaction holding the writer's per-run row locks (so it is safe while the gateway writes). A batch
 * takes the runs no other transaction holds and never waits while it holds some: a held run is repaired
 * alone afterwards (maintenance yields to ingestion). A run is
 * (tenant, trace id): runs of different tenants sharing a trace id are repaired each from its own spans.
 *
 * Recomputed: nodes.usage_counted and call_counted (the tree rule of rollup/usage.ts and docs/rollup.md, over stored spans), the
 * usage_frontier rows of the run, and every rollup column of runs (see repair-sql.ts). Descriptive
 * columns (tenant_id, pipeline, environment, session_id, user_id) are kept; a run with spans but no
 * runs row is recreated, its descriptive columns derived from its spans and nodes.
 */
import type pg from 'pg';
import { PROBE_FRONTIER_SQL, DELETE_EMPTY_RUNS_SQL, DELETE_FRONTIER_SQL, INSERT_FRONTIER_SQL } from '../rollup/sql.js';
import { runKey, type FrontierRow } from '../rollup/usage.js';
import { lockRunsAvailable, lockRunsWaiting, runIdsExcept, type RunIds } from '../rollup/locks.js';
import { resolveRunHints } from '../mapping/run-hints.js';
import { pipelineBefore } from '../rollup/deltas.js';
import type { SpanRecord } from '../otlp/types.js';
import { HINT_SPANS_SQL, MARKED_SQL, ROLLUP_SQL, SET_COUNTED_SQL } from './repair-sql.js';
import type { JobProgress } from './progress.js';
import { refreshDailyUsage } from './daily-usage.js';
import { withRetries } from '../sink/pg-errors.js';
import { remapLocked, type RemapOptions } from './remap.js';
import { BatchSizer } from './batch-size.js';

export interface RepairOptions {
  /** only the runs with these trace ids (32 hex digits or uuids), in every tenant */
  runIds?: readonly string[];
  /** only runs with a span (or a runs row) starting at or after this time */
  since?: Date | null;
  /** runs per transaction, at most (see batchTargetMs) */
  batch?: number;
  progress?: JobProgress | null;
  /** re-roll the daily usage table over the days of the runs that changed (default true) */
  refreshDaily?: boolean;
  /** the runs queued in runledger.repair_queue (by migrations) instead; each is dequeued once repaired */
  queued?: boolean;
  /**
   * a transaction's target duration: batches grow up to `batch` runs while faster, shrink when slower
   * (batch-size.ts; writers wait for the runs a batch holds)
   */
  batchTargetMs?: number;
  /** milliseconds, for measuring batches (tests) */
  clock?: () => number;
  /**
   * map the runs' stored spans again with this mapper and write their nodes anew (remap.ts), then repair
   * them as recreated runs: every runs column, the descriptive ones too, from the spans and the new nodes
   */
  remap?: RemapOptions;
}

export interface RepairResult {
  /** runs looked at */
  scanned: number;
  /** runs whose runs row, nodes or frontier rows were changed */
  changed: number;
  /** runs rows recreated from spans */
  recreated: number;
  /** nodes whose usage_counted was flipped */
  nodesFixed: number;
  /** nodes whose tree columns (sql/012) were fixed */
  treeFixed: number;
  /** usage_frontier rows deleted or inserted */
  frontierFixed: number;
  /** runs rows without any stored span (left as they are) */
  withoutSpans: number;
  /** days of the daily usage table rewritten (from the earliest changed run's day) */
  rollupDays: number;
}

export interface BatchOutcome {
  /** runs changed, by runKey (rollup/usage.ts) */
  changed: Set<string>;
  recreated: number;
  nodesFixed: number;
  treeFixed: number;
  frontierFixed: number;
  withSpans: number;
}

/**
 * Repair these runs inside the caller's transaction, their locks held (`created`: runs whose row the lock
 * created, by runKey: recreated from their spans, or deleted again when they have none).
 */
export async function repairLocked(client: pg.ClientBase, runs: RunIds, created: ReadonlySet<string> = new Set()): Promise<BatchOutcome> {
  const changed = new Set<string>();
  const target = [runs.tenants, runs.runIds];
  const marked = await client.query<FrontierRow & { aggregate: number; parent_missing: boolean }>(MARKED_SQL, target);
  const agg = marked.rows.filter((r) => r.aggregate !== 0);
  const counted = await client.query<{ tenant_id: string; run_id: string }>(SET_COUNTED_SQL,
    [...target, agg.map((r) => r.tenant_id), agg.map((r) => r.trace_id), agg.map((r) => r.span_id), agg.map((r) => r.aggregate)]);
  for (const r of counted.rows) changed.add(runKey(r.tenant_id, r.run_id));

  const frontierFixed = await syncFrontier(client, runs, marked.rows.filter((r) => r.parent_missing), changed);

  const hints = created.size > 0 ? await recreatedHints(client, runs, created) : [];
  const made = [...created].map((k) => ({ tenant: k.slice(0, -32), run: k.slice(-32) }));
  const rolled = await client.query<{ k: string; tenant_id: string; run_id: string }>(ROLLUP_SQL,
    [...target, JSON.stringify(hints), made.map((m) => m.tenant), made.map((m) => m.run)]);
  let recreated = 0;
  let withSpans = 0;
  for (const r of rolled.rows) {
    if (r.k === 's') { withSpans++; continue; }
    if (r.k === 'i') recreated++;
    changed.add(runKey(r.tenant_id, r.run_id));
  }
  // the node tree (sql/012), bounded by the runs rows just recomputed
  const tree = await client.query<{ n: number }>('SELECT runledger.settle_tree($1::text[], $2::uuid[]) AS n', target);
  const treeFixed = tree.rows[0]!.n;
  // the run's stored input (sql/029), from the runs rows and nodes just recomputed
  const inputs = await client.query<{ tenant_id: string; run_id: string }>(
    `SELECT tenant_id, replace(run_id::text, '-', '') AS run_id FROM runledger.refresh_run_inputs($1::text[], $2::uuid[])`, target);
  for (const r of inputs.rows) changed.add(runKey(r.tenant_id, r.run_id));
  // the lock created a row for a run without spans: there is no run
  if (created.size > recreated) await client.query(DELETE_EMPTY_RUNS_SQL('$1::text[]', '$2::uuid[]'), [made.map((m) => m.tenant), made.map((m) => m.run)]);
  return { changed, recreated, nodesFixed: counted.rowCount ?? 0, treeFixed, frontierFixed, withSpans };
}

/** Make the runs' usage_frontier rows exactly `want`; returns the rows deleted or inserted. */
async function syncFrontier(client: pg.ClientBase, runs: RunIds, want: FrontierRow[], changed: Set<string>): Promise<number> {
  const key = (f: FrontierRow) => `${f.tenant_id}/${f.trace_id}/${f.span_id}/${f.parent_span_id}/${f.mask}`;
  const have = (await client.query<FrontierRow>(PROBE_FRONTIER_SQL, [runs.tenants, runs.runIds])).rows;
  const wantKeys = new Set(want.map(key));
  const haveKeys = new Set(have.map(key));
  const extra = have.filter((f) => !wantKeys.has(key(f)));
  const add = want.filter((f) => !haveKeys.has(key(f)));
  if (extra.length > 0) {
    await client.query(DELETE_FRONTIER_SQL, [extra.map((f) => f.tenant_id), extra.map((f) => f.trace_id), extra.map((f) => f.span_id)]);
  }
  if (add.length > 0) {
    await client.query(INSERT_FRONTIER_SQL, [add.map((f) => f.tenant_id), add.map((f) => f.trace_id), add.map((f) => f.span_id),
      add.map((f) => f.parent_span_id), add.map((f) => f.mask)]);
  }
  for (const f of [...extra, ...add]) changed.add(runKey(f.tenant_id, f.trace_id));
  return extra.length + add.length;
}

interface HintSpan {
  tenant_id: string; run_id: string; parent_span_id: string | null; name: string; service_name: string | null;
  attributes: SpanRecord['attributes']; resource: SpanRecord['resource'];
}
interface Hints {
  tenant_id: string; run_id: string; pipeline: string | null; pipeline_rank: number | null; environment: string | null;
  session_id: string | null; user_id: string | null;
}

/** pipeline, environment, session and user hints of recreated runs, folded from their spans as the writer folds them. */
async function recreatedHints(client: pg.ClientBase, runs: RunIds, created: ReadonlySet<string>): Promise<Hints[]> {
  const rows = (await client.query<HintSpan>(HINT_SPANS_SQL, [runs.tenants, runs.runIds])).rows;
  const out = new Map<string, Hints>();
  const least = (a: string | null, b: string | null) => (b === null || (a !== null && a <= b) ? a : b);
  for (const s of rows) {
    const k = runKey(s.tenant_id, s.run_id);
    if (!created.has(k)) continue;
    const h = resolveRunHints({
      parentSpanId: s.parent_span_id, name: s.name, serviceName: s.service_name, attributes: s.attributes, resource: s.resource,
    } as SpanRecord);
    let o = out.get(k);
    if (!o) {
      o = { tenant_id: s.tenant_id, run_id: s.run_id, pipeline: null, pipeline_rank: null, environment: null, session_id: null, user_id: null };
      out.set(k, o);
    }
    const p = h.pipeline;
    if (p && pipelineBefore(p, o.pipeline === null ? null : { rank: o.pipeline_rank!, value: o.pipeline })) {
      o.pipeline = p.value;
      o.pipeline_rank = p.rank;
    }
    if (h.environment && (o.environment === null || h.environment < o.environment)) o.environment = h.environment;
    o.session_id = least(o.session_id, h.sessionId);
    o.user_id = least(o.user_id, h.userId);
  }
  return [...out.values()];
}

/**
 * One batch in its own transaction, of the runs no other transaction holds; the runs another holds are returned
 * (skipped), for repairOne. `wait`: wait for the runs' locks instead (repairOne: one run, so nothing else waits).
 * `remap`: the locked runs' nodes are mapped again first (remap.ts) and every one is rebuilt as a recreated run.
 */
export async function repairBatch(client: pg.ClientBase, runs: RunIds, wait = false, remap?: RemapOptions): Promise<BatchOutcome & { skipped: RunIds }> {
  await client.query('BEGIN');
  try {
    let created: Set<string>;
    let skipped: RunIds = { tenants: [], runIds: [] };
    if (wait) created = await lockRunsWaiting(client, runs);
    else ({ created, skipped } = await lockRunsAvailable(client, runs));
    const locked = skipped.runIds.length === 0 ? runs : runIdsExcept(runs, skipped);
    if (remap) {
      await remapLocked(client, locked, remap);
      // every run is rebuilt as a recreated one: its descriptive columns too come from its spans and new nodes
      created = new Set(locked.tenants.map((t, i) => runKey(t, locked.runIds[i]!)));
    }
    const out = await repairLocked(client, locked, created);
    await client.query('COMMIT');
    return { ...out, skipped };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/**
 * The batch's runs, those another transaction held (the batch skipped them) each alone afterwards, waiting for
 * its lock while holding no other run's.
 */
async function repairAll(client: pg.ClientBase, runs: RunIds, sizer: BatchSizer, clock: () => number, remap?: RemapOptions): Promise<BatchOutcome> {
  const started = clock();
  const out = await withRetries(() => repairBatch(client, runs, false, remap));
  sizer.took(runs.runIds.length, clock() - started); // the batch's hold on its runs, not the waits for held ones below
  for (let i = 0; i < out.skipped.runIds.length; i++) {
    const one = await withRetries(() => repairBatch(client, { tenants: [out.skipped.tenants[i]!], runIds: [out.skipped.runIds[i]!] }, true, remap));
    for (const k of one.changed) out.changed.add(k);
    out.recreated += one.recreated;
    out.nodesFixed += one.nodesFixed;
    out.treeFixed += one.treeFixed;
    out.frontierFixed += one.frontierFixed;
    out.withSpans += one.withSpans;
  }
  return out;
}

const IDS = 'runledger_repair_ids';

/** Collect the runs to repair (tenant, trace id) into a session temp table; returns how many. */
async function collectRuns(client: pg.ClientBase, opts: RepairOptions): Promise<number> {
  await client.query(`DROP TABLE IF EXISTS pg_temp.${IDS}`);
  await client.query(`CREATE TEMP TABLE ${IDS} (tenant_id text, run_id uuid, PRIMARY KEY (tenant_id, run_id))`);
  const params: unknown[] = [];
  const where = (col: string, time: string) => {
    const c: string[] = [];
    if (opts.runIds) c.push(`${col} = ANY($${params.indexOf(opts.runIds) + 1}::uuid[])`);
    if (opts.since) c.push(`${time} >= $${params.indexOf(opts.since) + 1}`);
    return c.length ? `WHERE ${c.join(' AND ')}` : '';
  };
  if (opts.queued) return (await client.query(`INSERT INTO ${IDS} SELECT tenant_id, run_id FROM runledger.repair_queue`)).rowCount ?? 0;
  if (opts.runIds) params.push(opts.runIds);
  if (opts.since) params.push(opts.since);
  const res = await client.query(
    `INSERT INTO ${IDS} SELECT tenant_id, run_id FROM runledger.runs ${where('run_id', 'start_time')}
     UNION SELECT tenant_id, trace_id FROM runledger.spans ${where('trace_id', 'start_time')}`, params);
  return res.rowCount ?? 0;
}

export async function repair(pool: pg.Pool, opts: RepairOptions = {}): Promise<RepairResult> {
  const sizer = new BatchSizer(opts.batch ?? 500, opts.batchTargetMs);
  const clock = opts.clock ?? (() => performance.now());
  const client = await pool.connect();
  const result: RepairResult = { scanned: 0, changed: 0, recreated: 0, nodesFixed: 0, treeFixed: 0, frontierFixed: 0, withoutSpans: 0, rollupDays: 0 };
  let earliest: Date | null = null;
  try {
    const total = await collectRuns(client, opts);
    opts.progress?.start(total, 'runs');
    let after: [string, string] | null = null;
    for (;;) {
      const page: pg.QueryResult<{ tenant_id: string; run_id: string; id: string }> = await client.query(
        `SELECT tenant_id, run_id::text AS id, replace(run_id::text, '-', '') AS run_id FROM ${IDS}
         WHERE $1::text IS NULL OR (tenant_id, run_id) > ($1::text, $2::uuid) ORDER BY tenant_id, run_id LIMIT $3`,
        [after?.[0] ?? null, after?.[1] ?? null, sizer.next]);
      if (page.rows.length === 0) break;
      const last = page.rows[page.rows.length - 1]!;
      after = [last.tenant_id, last.id];
      const runs: RunIds = { tenants: page.rows.map((r) => r.tenant_id), runIds: page.rows.map((r) => r.run_id) };
      // a deadlock with a gateway creating a day's partitions (it locks the default partitions this batch reads)
      // or with another batch: the batch is rolled back whole and done again, as the writers retry theirs
      const out = await repairAll(client, runs, sizer, clock, opts.remap);
      if (opts.queued) {
        await client.query('DELETE FROM runledger.repair_queue WHERE (tenant_id, run_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))',
          [runs.tenants, runs.runIds]);
      }
      result.scanned += page.rows.length;
      result.changed += out.changed.size;
      result.recreated += out.recreated;
      result.nodesFixed += out.nodesFixed;
      result.treeFixed += out.treeFixed;
      result.frontierFixed += out.frontierFixed;
      result.withoutSpans += page.rows.length - out.withSpans;
      if (out.changed.size > 0) {
        const changed = [...out.changed];
        const first = await client.query<{ t: Date | null }>(
          `SELECT min(start_time) AS t FROM runledger.runs WHERE (tenant_id, run_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`,
          [changed.map((k) => k.slice(0, -32)), changed.map((k) => k.slice(-32))]);
        earliest = earliestOf([earliest, first.rows[0]?.t ?? null]);
      }
      opts.progress?.tick(page.rows.length);
    }
    opts.progress?.done();
    if (earliest !== null && opts.refreshDaily !== false) result.rollupDays = (await refreshDailyUsage(client, { since: earliest })).days;
    return result;
  } finally {
    await client.query(`DROP TABLE IF EXISTS pg_temp.${IDS}`).catch(() => {});
    client.release();
  }
}

/** The earliest of some times (null when there is none). */
export function earliestOf(times: (Date | null)[]): Date | null {
  let min: Date | null = null;
  for (const t of times) if (t !== null && (min === null || t < min)) min = t;
  return min;
}

/**
 * Repair the runs migrations queued (runledger.repair_queue, e.g. traces several tenants shared before
 * migration 007), dequeueing each once repaired; null when none is queued.
 */
export async function repairQueued(pool: pg.Pool, opts: Omit<RepairOptions, 'queued' | 'runIds' | 'since'> = {}): Promise<RepairResult | null> {
  const any = await pool.query('SELECT EXISTS (SELECT FROM runledger.repair_queue) AS any');
  if (!any.rows[0].any) return null;
  return repair(pool, { ...opts, queued: true });
}
