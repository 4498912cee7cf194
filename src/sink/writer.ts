/**
 * Writes one batch in one transaction: lock the touched runs, insert spans (COPY), insert their nodes,
 * update run rollups from the newly inserted rows only. Re-sent spans insert nothing and change nothing.
 * Spans of a run that another transaction holds are not written: they are returned as deferred, to be retried.
 */
import type pg from 'pg';
import type { PreparedSpan } from './prepare.js';
import { hasUsage, NODE_COLUMNS, SPAN_COLUMNS, setUsageCounted } from './encoder.js';
import { copyRows } from './copy.js';
import { computeDeltas, encodeDeltaRows } from '../rollup/deltas.js';
import {
  CREATE_RUN_DELTAS_STAGE_SQL, DELETE_EMPTY_RUNS_SQL, DELETE_FRONTIER_SQL, INSERT_FRONTIER_SQL, LOCK_RUNS_WAITING_SQL,
  lockRunsSql, probeFrontierSql, RUN_DELTA_COLUMNS, RUN_DELTAS_STAGE, UNCOUNT_NODES_SQL, UPDATE_RUNS_SQL, WALK_UP_SQL,
} from '../rollup/sql.js';
import { planUsage, runKey, spanKey, type FrontierRow } from '../rollup/usage.js';
import { DayPartitions } from './partitions.js';

export interface WriteOutcome {
  /** spans newly stored */
  inserted: number;
  /** spans already stored (re-sent) */
  duplicates: number;
  /** spans not written because another transaction holds their run's row (retry them); none when absent */
  deferred?: PreparedSpan[];
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

/** Runs as two parallel arrays (tenant ids, 32-hex-digit trace ids), unique, in key order. */
export interface RunIds { tenants: string[]; runIds: string[] }

export function runIdsOf(pairs: Iterable<{ tenantId: string; runId: string }>): RunIds {
  const seen = new Map<string, { tenantId: string; runId: string }>();
  for (const p of pairs) seen.set(runKey(p.tenantId, p.runId), p);
  const sorted = [...seen.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.runId < b.runId ? -1 : 1));
  return { tenants: sorted.map((p) => p.tenantId), runIds: sorted.map((p) => p.runId) };
}

/**
 * Lock these runs inside the caller's transaction, waiting for other holders (bounded by lock_timeout):
 * repair and reprice lock this way. Runs without a row get an empty one, which the caller must fill or
 * delete before it commits. Returns the runs whose row was created now, by runKey.
 */
export async function lockRunsWaiting(client: pg.ClientBase, runs: RunIds): Promise<Set<string>> {
  if (runs.runIds.length === 0) return new Set();
  const r = await client.query<{ tenant_id: string; run_id: string; created: boolean }>(LOCK_RUNS_WAITING_SQL, [runs.tenants, runs.runIds]);
  return new Set(r.rows.filter((x) => x.created).map((x) => runKey(x.tenant_id, x.run_id)));
}

const HEX_ID = /^[0-9a-fA-F]{32}$/;

/**
 * One round trip that opens a batch's transaction, locks its runs (skipping those another transaction
 * holds) and reads their usage frontier. Several statements in one simple query take no parameters: the
 * run ids (checked to be 32 hex digits) and the tenant ids (quoted as literals) are written into the text.
 */
function beginSql(client: pg.ClientBase, runs: RunIds): string {
  for (const id of runs.runIds) {
    // the decoders never let one through; a data error (as PostgreSQL's cast would raise) isolates the span
    if (!HEX_ID.test(id)) throw Object.assign(new Error(`invalid run id ${JSON.stringify(id)}`), { code: '22P02' });
  }
  const tenants = `ARRAY[${runs.tenants.map((t) => client.escapeLiteral(t)).join(',')}]::text[]`;
  const ids = `'{${runs.runIds.join(',')}}'::uuid[]`;
  return `BEGIN; ${lockRunsSql(tenants, ids, false)}; ${probeFrontierSql(tenants, ids)}`;
}

const itemKey = (m: PreparedSpan) => spanKey(m.span.tenantId, m.span.traceId, m.span.spanId);

/**
 * Stage re-sent or duplicated spans, insert what is new; returns the spans stored now. Of the copies of a
 * span within the batch only the first is staged, so its span row and its node row come from the same copy
 * (which staged row an INSERT … SELECT meets first depends on where the staging table put it).
 */
async function insertNewSpans(client: pg.PoolClient, items: PreparedSpan[]): Promise<PreparedSpan[]> {
  const seen = new Set<string>();
  const unique: PreparedSpan[] = [];
  for (const m of items) {
    const k = itemKey(m);
    if (seen.has(k)) continue;
    seen.add(k);
    unique.push(m);
  }
  await copyRows(client, STAGE_SPANS, SPAN_COLUMNS, unique, (m) => m.spanRow);
  const res = await client.query<{ tenant_id: string; t: string; s: string }>(
    `INSERT INTO runledger.spans SELECT * FROM ${STAGE_SPANS} ON CONFLICT DO NOTHING
     RETURNING tenant_id, replace(trace_id::text, '-', '') AS t, span_id AS s`,
  );
  await client.query(`DELETE FROM ${STAGE_SPANS}`);
  const fresh = new Set(res.rows.map((r) => spanKey(r.tenant_id, r.t, r.s)));
  return unique.filter((m) => fresh.has(itemKey(m)));
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
  const runs = runIdsOf(items.map((m) => ({ tenantId: m.span.tenantId, runId: m.span.traceId })));
  const begun = (await client.query(beginSql(client, runs))) as unknown as pg.QueryResult[];
  const locked = new Map<string, boolean>(); // runKey → row created now
  for (const r of begun[1]!.rows as { tenant_id: string; run_id: string; created: boolean }[]) locked.set(runKey(r.tenant_id, r.run_id), r.created);
  let work = items;
  const deferred: PreparedSpan[] = [];
  if (locked.size < runs.runIds.length) {
    work = [];
    for (const m of items) (locked.has(runKey(m.span.tenantId, m.span.traceId)) ? work : deferred).push(m);
  }
  const frontier = (begun[2]!.rows as FrontierRow[]).filter((f) => locked.has(runKey(f.tenant_id, f.trace_id)));
  let fresh = work;
  if (work.length > 0) {
    if (resent) fresh = await insertNewSpans(client, work);
    else await copyRows(client, 'runledger.spans', SPAN_COLUMNS, work, (m) => m.spanRow);
  }
  await applyFresh(client, fresh, frontier, locked); // commits
  const out: WriteOutcome = { inserted: fresh.length, duplicates: work.length - fresh.length };
  if (deferred.length > 0) out.deferred = deferred;
  return out;
}

/** Parallel arrays of rows for an unnest() parameter list. */
function columns<T>(rows: readonly T[], ...pick: ((r: T) => unknown)[]): unknown[][] {
  return pick.map((f) => rows.map(f));
}

/**
 * Nodes and rollups for newly inserted spans, given the usage frontier of their runs (read under the runs'
 * locks); ends the transaction with COMMIT, in the same round trip as the runs update. Runs rows created
 * by the lock that no fresh span filled (every span a re-send) are deleted again.
 */
async function applyFresh(
  client: pg.PoolClient, fresh: PreparedSpan[], frontier: FrontierRow[], locked: Map<string, boolean>,
): Promise<void> {
  const plan = planUsage(fresh, frontier);
  /** stored spans reached by the walk up (their nodes, if any, become aggregates) */
  const reachedStored: { tenant_id: string; trace_id: string; span_id: string; start_time: string }[] = [];
  const newFrontier: FrontierRow[] = [];

  if (plan.exits.length > 0) {
    const starts = [...new Map(plan.exits.map((e) => [spanKey(e.tenantId, e.traceId, e.parentSpanId), e])).values()];
    const walked = await client.query<FrontierRow & { start_time: string; parent_missing: boolean }>(WALK_UP_SQL,
      columns(starts, (e) => e.tenantId, (e) => e.traceId, (e) => e.parentSpanId));
    const reached = new Set<string>();
    for (const r of walked.rows) {
      const k = spanKey(r.tenant_id, r.trace_id, r.span_id);
      reached.add(k);
      const m = plan.byKey.get(k);
      if (m) {
        if (m.node && hasUsage(m.node)) plan.aggregates.add(k);
      } else {
        reachedStored.push(r);
      }
      if (r.parent_missing) newFrontier.push(r);
    }
    // The walk reached the stored parent, or the parent has not arrived: the child waits on the frontier.
    for (const e of plan.exits) {
      if (!reached.has(spanKey(e.tenantId, e.traceId, e.parentSpanId))) {
        newFrontier.push({ tenant_id: e.tenantId, trace_id: e.traceId, span_id: e.spanId, parent_span_id: e.parentSpanId });
      }
    }
  }

  const nodes = fresh.filter((m) => m.node !== null);
  if (nodes.length > 0) {
    for (const m of nodes) setUsageCounted(m.nodeRow!, m.node!, plan.aggregates.has(itemKey(m)));
    await copyRows(client, 'runledger.nodes', NODE_COLUMNS, nodes, (m) => m.nodeRow!);
  }
  const deltas = computeDeltas(fresh, plan.aggregates);

  if (reachedStored.length > 0) {
    const uncounted = await client.query(UNCOUNT_NODES_SQL,
      columns(reachedStored, (r) => r.tenant_id, (r) => r.trace_id, (r) => r.span_id, (r) => r.start_time));
    for (const u of uncounted.rows) {
      const d = deltas.get(runKey(u.tenant_id, u.run_id));
      if (!d) continue; // cannot happen: the walk stays inside the batch's runs
      d.usage.add({
        inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens),
        cacheReadTokens: num(u.cache_read_tokens), cacheWriteTokens: num(u.cache_write_tokens),
        reasoningTokens: num(u.reasoning_tokens), totalTokens: num(u.total_tokens),
        totalCost: u.total_cost === null ? null : Number(u.total_cost),
      }, -1);
    }
  }
  if (newFrontier.length > 0) {
    await client.query(INSERT_FRONTIER_SQL, columns(newFrontier, (f) => f.tenant_id, (f) => f.trace_id, (f) => f.span_id, (f) => f.parent_span_id));
  }
  if (plan.consumed.length > 0) {
    await client.query(DELETE_FRONTIER_SQL, columns(plan.consumed, (f) => f.tenant_id, (f) => f.trace_id, (f) => f.span_id));
  }
  let tail = 'COMMIT';
  const empty = [...locked].filter(([k, created]) => created && !deltas.has(k)).map(([k]) => k);
  if (empty.length > 0) {
    const runs = runIdsOf(empty.map((k) => ({ tenantId: k.slice(0, -32), runId: k.slice(-32) })));
    tail = `${DELETE_EMPTY_RUNS_SQL(`ARRAY[${runs.tenants.map((t) => client.escapeLiteral(t)).join(',')}]::text[]`,
      `'{${runs.runIds.join(',')}}'::uuid[]`)}; COMMIT`;
  }
  if (deltas.size === 0) {
    await client.query(tail);
    return;
  }
  await copyRows(client, RUN_DELTAS_STAGE, RUN_DELTA_COLUMNS.map(([c]) => c), encodeDeltaRows(deltas.values()), (r) => r);
  await client.query(`${UPDATE_RUNS_SQL}; DELETE FROM ${RUN_DELTAS_STAGE}; ${tail}`);
}

function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}
