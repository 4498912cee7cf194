/**
 * Writes one batch in one transaction: lock the touched runs, insert spans (COPY), insert their nodes,
 * update run rollups from the newly inserted rows only. Re-sent spans insert nothing and change nothing.
 */
import type pg from 'pg';
import type { PreparedSpan } from './prepare.js';
import { hasUsage, NODE_COLUMNS, SPAN_COLUMNS, setUsageCounted } from './encoder.js';
import { copyRows } from './copy.js';
import { addUsage, computeDeltas, encodeDeltaRows } from '../rollup/deltas.js';
import {
  CREATE_RUN_DELTAS_STAGE_SQL, DELETE_FRONTIER_SQL, INSERT_FRONTIER_SQL, LOCK_RUNS_SQL, PROBE_FRONTIER_SQL, RUN_DELTA_COLUMNS,
  RUN_DELTAS_STAGE, UNCOUNT_NODES_SQL, UPSERT_RUNS_SQL, WALK_UP_SQL,
} from '../rollup/sql.js';
import { planUsage, spanKey, type FrontierRow } from '../rollup/usage.js';
import { DayPartitions } from './partitions.js';

export interface WriteOutcome {
  /** spans newly stored */
  inserted: number;
  /** spans already stored (re-sent) */
  duplicates: number;
}

const STAGE_SPANS = 'runledger_stage_spans';
const prepared = new WeakSet<pg.PoolClient>();

/** Create the session's staging table outside any transaction (a rollback must not take it away). */
async function prepareStage(client: pg.PoolClient): Promise<void> {
  if (prepared.has(client)) return;
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS ${STAGE_SPANS} (LIKE runledger.spans INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`,
  );
  await client.query(CREATE_RUN_DELTAS_STAGE_SQL);
  prepared.add(client);
}

/** Advisory lock key of a run: 32 bits of its (random) trace id. */
export function runLockKey(traceId: string): number {
  return parseInt(traceId.slice(0, 8), 16) | 0;
}

/**
 * Take the advisory locks of these runs (32 hex digits), in key order, inside a transaction: writers,
 * repair and reprice all lock this way, so they serialise per run without deadlocks.
 */
export async function lockRuns(client: pg.ClientBase, runIds: Iterable<string>): Promise<void> {
  const keys = [...new Set([...runIds].map(runLockKey))].sort((a, b) => a - b);
  if (keys.length > 0) await client.query(LOCK_RUNS_SQL, [keys]);
}

/** Insert spans; returns the ones that were not stored before (deduplicated within the batch too). */
async function insertSpans(client: pg.PoolClient, items: PreparedSpan[]): Promise<PreparedSpan[]> {
  await client.query('SAVEPOINT fast_path');
  try {
    // Fast path: nothing in the batch is stored yet, COPY straight into the ledger.
    await copyRows(client, 'runledger.spans', SPAN_COLUMNS, items, (m) => m.spanRow);
    await client.query('RELEASE SAVEPOINT fast_path');
    return items;
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e;
    await client.query('ROLLBACK TO SAVEPOINT fast_path');
  }
  // Re-sent or duplicated spans: stage, then insert what is new.
  await copyRows(client, STAGE_SPANS, SPAN_COLUMNS, items, (m) => m.spanRow);
  const res = await client.query<{ t: string; s: string }>(
    `INSERT INTO runledger.spans SELECT * FROM ${STAGE_SPANS} ON CONFLICT DO NOTHING
     RETURNING replace(trace_id::text, '-', '') AS t, span_id AS s`,
  );
  const fresh = new Set(res.rows.map((r) => spanKey(r.t, r.s)));
  const out: PreparedSpan[] = [];
  for (const m of items) {
    if (fresh.delete(spanKey(m.span.traceId, m.span.spanId))) out.push(m); // delete: a duplicate within the batch is taken once
  }
  return out;
}

const defaultPartitions = new DayPartitions();

export async function writeBatch(
  client: pg.PoolClient, items: PreparedSpan[], partitions: DayPartitions = defaultPartitions,
): Promise<WriteOutcome> {
  await prepareStage(client);
  await partitions.ensure(client, items.map((m) => m.span.startUs));
  await client.query('BEGIN');
  try {
    await lockRuns(client, items.map((m) => m.span.traceId));
    const fresh = await insertSpans(client, items);
    if (fresh.length > 0) await applyFresh(client, fresh);
    await client.query('COMMIT');
    return { inserted: fresh.length, duplicates: items.length - fresh.length };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** Nodes and rollups for newly inserted spans. */
async function applyFresh(client: pg.PoolClient, fresh: PreparedSpan[]): Promise<void> {
  const runIds = [...new Set(fresh.map((m) => m.span.traceId))];
  const frontier = await client.query<FrontierRow>(PROBE_FRONTIER_SQL, [runIds]);
  const plan = planUsage(fresh, frontier.rows);
  const stored: [string[], string[], string[]] = [[], [], []]; // stored spans reached by the walk up
  const newFrontier: [string[], string[], string[]] = [[], [], []];
  const addFrontier = (t: string, s: string, p: string) => { newFrontier[0].push(t); newFrontier[1].push(s); newFrontier[2].push(p); };

  if (plan.exits.length > 0) {
    const starts = [...new Map(plan.exits.map((e) => [spanKey(e.traceId, e.parentSpanId), e])).values()];
    const walked = await client.query<FrontierRow & { start_time: string; parent_missing: boolean }>(WALK_UP_SQL, [
      starts.map((e) => e.traceId), starts.map((e) => e.parentSpanId),
    ]);
    const reached = new Set<string>();
    for (const r of walked.rows) {
      const k = spanKey(r.trace_id, r.span_id);
      reached.add(k);
      const m = plan.byKey.get(k);
      if (m) {
        if (m.node && hasUsage(m.node)) plan.aggregates.add(k);
      } else {
        stored[0].push(r.trace_id);
        stored[1].push(r.span_id);
        stored[2].push(r.start_time);
      }
      if (r.parent_missing) addFrontier(r.trace_id, r.span_id, r.parent_span_id);
    }
    // The walk reached the stored parent, or the parent has not arrived: the child waits on the frontier.
    for (const e of plan.exits) if (!reached.has(spanKey(e.traceId, e.parentSpanId))) addFrontier(e.traceId, e.spanId, e.parentSpanId);
  }

  const nodes = fresh.filter((m) => m.node !== null);
  if (nodes.length > 0) {
    for (const m of nodes) setUsageCounted(m.nodeRow!, m.node!, plan.aggregates.has(spanKey(m.span.traceId, m.span.spanId)));
    await copyRows(client, 'runledger.nodes', NODE_COLUMNS, nodes, (m) => m.nodeRow!);
  }
  const deltas = computeDeltas(fresh, plan.aggregates);

  if (stored[0].length > 0) {
    const uncounted = await client.query(UNCOUNT_NODES_SQL, stored);
    for (const u of uncounted.rows) {
      const d = deltas.get(u.run_id);
      if (!d) continue; // cannot happen: the walk stays inside the batch's runs
      addUsage(d.usage, {
        inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens),
        cacheReadTokens: num(u.cache_read_tokens), cacheWriteTokens: num(u.cache_write_tokens),
        reasoningTokens: num(u.reasoning_tokens), totalTokens: num(u.total_tokens),
        totalCost: u.total_cost === null ? null : Number(u.total_cost),
      }, -1);
    }
  }
  if (newFrontier[0].length > 0) await client.query(INSERT_FRONTIER_SQL, newFrontier);
  if (plan.consumed.length > 0) {
    await client.query(DELETE_FRONTIER_SQL, [plan.consumed.map((f) => f.trace_id), plan.consumed.map((f) => f.span_id)]);
  }
  await copyRows(client, RUN_DELTAS_STAGE, RUN_DELTA_COLUMNS.map(([c]) => c), encodeDeltaRows(deltas.values()), (r) => r);
  await client.query(UPSERT_RUNS_SQL);
}

function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}
