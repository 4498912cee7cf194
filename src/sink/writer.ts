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
  CREATE_RUN_DELTAS_STAGE_SQL, DELETE_FRONTIER_SQL, INSERT_FRONTIER_SQL, LOCK_RUNS_SQL, lockRunsSql, probeFrontierSql, RUN_DELTA_COLUMNS,
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
/**
 * Batches a session writes between truncations of its staging tables. Each batch empties the staging
 * tables it used inside its own transaction (DELETE); the dead rows this leaves are cleared by a
 * TRUNCATE outside any transaction every so many batches. (ON COMMIT DELETE ROWS truncated both tables
 * at every commit instead: file truncations that cost the server ~3% of its ingest time.)
 */
const STAGE_TRUNCATE_EVERY = 64;
const stageUses = new WeakMap<pg.PoolClient, number>();

/** Create the session's staging tables outside any transaction (a rollback must not take them away). */
async function prepareStage(client: pg.PoolClient): Promise<void> {
  const uses = stageUses.get(client);
  if (uses === undefined) {
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${STAGE_SPANS} (LIKE runledger.spans INCLUDING DEFAULTS)`);
    await client.query(CREATE_RUN_DELTAS_STAGE_SQL);
  } else if (uses >= STAGE_TRUNCATE_EVERY) {
    await client.query(`TRUNCATE ${STAGE_SPANS}, ${RUN_DELTAS_STAGE}`);
  } else {
    stageUses.set(client, uses + 1);
    return;
  }
  stageUses.set(client, 1);
}

/** Advisory lock key of a run: 32 bits of its (random) trace id. */
export function runLockKey(traceId: string): number {
  return parseInt(traceId.slice(0, 8), 16) | 0;
}

/** The advisory lock keys of these runs, unique and in order (the order every locker takes them in). */
function lockKeys(runIds: Iterable<string>): number[] {
  return [...new Set([...runIds].map(runLockKey))].sort((a, b) => a - b);
}

/**
 * Take the advisory locks of these runs (32 hex digits), in key order, inside a transaction: writers,
 * repair and reprice all lock this way, so they serialise per run without deadlocks.
 */
export async function lockRuns(client: pg.ClientBase, runIds: Iterable<string>): Promise<void> {
  const keys = lockKeys(runIds);
  if (keys.length > 0) await client.query(LOCK_RUNS_SQL, [keys]);
}

const HEX_ID = /^[0-9a-fA-F]{32}$/;

/**
 * One round trip that opens a batch's transaction, locks its runs and reads their usage frontier. Several
 * statements in one simple query take no parameters: the lock keys (integers) and the run ids (checked
 * to be 32 hex digits) are written into the text.
 */
function beginSql(runIds: string[]): string {
  for (const id of runIds) {
    // the decoders never let one through; a data error (as PostgreSQL's cast would raise) isolates the span
    if (!HEX_ID.test(id)) throw Object.assign(new Error(`invalid run id ${JSON.stringify(id)}`), { code: '22P02' });
  }
  const keys = lockKeys(runIds);
  const lock = keys.length === 0 ? '' : `${lockRunsSql(`'{${keys.join(',')}}'::int[]`)};`;
  return `BEGIN; ${lock} ${probeFrontierSql(`'{${runIds.join(',')}}'::uuid[]`)}`;
}

/**
 * Stage re-sent or duplicated spans, insert what is new; returns the spans stored now. Of the copies of a
 * span within the batch only the first is staged, so its span row and its node row come from the same copy
 * (which staged row an INSERT … SELECT meets first depends on where the staging table put it).
 */
async function insertNewSpans(client: pg.PoolClient, items: PreparedSpan[]): Promise<PreparedSpan[]> {
  const seen = new Set<string>();
  const unique: PreparedSpan[] = [];
  for (const m of items) {
    const k = spanKey(m.span.traceId, m.span.spanId);
    if (seen.has(k)) continue;
    seen.add(k);
    unique.push(m);
  }
  await copyRows(client, STAGE_SPANS, SPAN_COLUMNS, unique, (m) => m.spanRow);
  const res = await client.query<{ t: string; s: string }>(
    `INSERT INTO runledger.spans SELECT * FROM ${STAGE_SPANS} ON CONFLICT DO NOTHING
     RETURNING replace(trace_id::text, '-', '') AS t, span_id AS s`,
  );
  await client.query(`DELETE FROM ${STAGE_SPANS}`);
  const fresh = new Set(res.rows.map((r) => spanKey(r.t, r.s)));
  return unique.filter((m) => fresh.has(spanKey(m.span.traceId, m.span.spanId)));
}

const defaultPartitions = new DayPartitions();

/**
 * Write one batch in one transaction. The fast path COPYs the spans straight into the ledger; when one is
 * stored already (a re-send: PostgreSQL refuses the COPY with a unique violation) the transaction is
 * rolled back and the batch written again through a staging table, inserting only new spans. Re-sends are
 * rare, so the fast path carries no savepoint (two round trips and a subtransaction less per batch).
 */
export async function writeBatch(
  client: pg.PoolClient, items: PreparedSpan[], partitions: DayPartitions = defaultPartitions,
): Promise<WriteOutcome> {
  await prepareStage(client);
  await partitions.ensure(client, items.map((m) => m.span.startUs));
  try {
    return await writeTransaction(client, items, false);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    if ((e as { code?: string }).code !== '23505') throw e;
  }
  try {
    return await writeTransaction(client, items, true);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

async function writeTransaction(client: pg.PoolClient, items: PreparedSpan[], resent: boolean): Promise<WriteOutcome> {
  const runIds = [...new Set(items.map((m) => m.span.traceId))];
  const begun = (await client.query(beginSql(runIds))) as unknown as pg.QueryResult<FrontierRow>[];
  const frontier = begun[begun.length - 1]!.rows;
  let fresh = items;
  if (resent) fresh = await insertNewSpans(client, items);
  else await copyRows(client, 'runledger.spans', SPAN_COLUMNS, items, (m) => m.spanRow);
  if (fresh.length > 0) await applyFresh(client, fresh, frontier); // commits
  else await client.query('COMMIT');
  return { inserted: fresh.length, duplicates: items.length - fresh.length };
}

/**
 * Nodes and rollups for newly inserted spans, given the usage frontier of their runs (read under the runs'
 * locks); ends the transaction with COMMIT, in the same round trip as the runs upsert.
 */
async function applyFresh(client: pg.PoolClient, fresh: PreparedSpan[], frontier: FrontierRow[]): Promise<void> {
  const plan = planUsage(fresh, frontier);
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
  await client.query(`${UPSERT_RUNS_SQL}; DELETE FROM ${RUN_DELTAS_STAGE}; COMMIT`);
}

function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}
