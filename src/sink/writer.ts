/**
 * Writes one batch in one transaction: lock the touched runs, insert spans (COPY), insert their nodes,
 * update run rollups from the newly inserted rows only. Re-sent spans insert nothing and change nothing.
 * Spans of a run that another transaction holds are not written: they are returned as deferred, to be retried.
 */
import type pg from 'pg';
import type { PreparedSpan } from './prepare.js';
import { NODE_COLUMNS, SPAN_COLUMNS, setCounted } from './encoder.js';
import { copyRows } from './copy.js';
import { encodeDeltaRows } from './run-deltas.js';
import { computeDeltas, deltaRows, subtractSettled, uncarriedInputs } from '../rollup/deltas.js';
import {
  CREATE_RUN_DELTAS_STAGE_SQL, INSERT_NEW_RUNS_SQL, RUN_DELTA_COLUMNS, RUN_DELTAS_STAGE, UPDATE_RUNS_SQL,
} from '../rollup/delta-columns.js';
import {
  CREATE_RUNS_SQL, DELETE_EMPTY_RUNS_SQL, DELETE_FRONTIER_SQL, existingRunsSql, INSERT_FRONTIER_SQL, lockExistingRunsSql, probeFrontierSql,
} from '../rollup/sql.js';
import { runIdsOf, runsLiterals, type RunIds } from '../rollup/locks.js';
import { isCallAggregate, isUsageAggregate, planMarks, runKey, runOfKey, spanKey, type FrontierRow } from '../rollup/usage.js';
import { columns, walkMarks } from '../rollup/walk.js';
import { DayPartitions } from './partitions.js';
import { processResources, storeResources, type ResourceCache } from './resources.js';

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
async function ensureStagingTables(client: pg.PoolClient): Promise<void> {
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

/**
 * One round trip that opens a batch's transaction, locks its runs that have a row (skipping those another
 * transaction holds), lists those that have one, and reads their usage frontier. Several statements in one
 * simple query take no parameters: the ids are written into the text.
 */
function beginSql(client: pg.ClientBase, runs: RunIds): string {
  const { tenants, ids } = runsLiterals(client, runs);
  return `BEGIN; ${lockExistingRunsSql(tenants, ids)}; ${existingRunsSql(tenants, ids)}; ${probeFrontierSql(tenants, ids)}`;
}

type RunRow = { tenant_id: string; run_id: string };
const keysOf = (rows: RunRow[]) => new Set(rows.map((r) => runKey(r.tenant_id, r.run_id)));
const runOf = (m: PreparedSpan) => runKey(m.span.tenantId, m.span.traceId);
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

export interface WriteOptions {
  /**
   * Nodes whose GenAI log records arrived first get their content from them (sql/011 pending_content), cut
   * to this many characters; null: content capture is off (RUNLEDGER_CAPTURE_CONTENT).
   */
  logContentChars: number | null;
  /** resource keys known to be committed (sql/014); default: the process's, shared with the logs writer */
  resources?: ResourceCache;
}
const DEFAULT_WRITE_OPTIONS: WriteOptions = { logContentChars: 16_384 };

/**
 * Write one batch in one transaction. The fast path COPYs the spans straight into the ledger; when one is
 * stored already (a re-send: PostgreSQL refuses the COPY with a unique violation) the transaction is
 * rolled back and the batch written again through a staging table, inserting only new spans. Re-sends are
 * rare, so the fast path carries no savepoint (two round trips and a subtransaction less per batch).
 */
export async function writeBatch(
  client: pg.PoolClient, items: PreparedSpan[], partitions: DayPartitions = defaultPartitions, opts: WriteOptions = DEFAULT_WRITE_OPTIONS,
): Promise<WriteOutcome> {
  await ensureStagingTables(client);
  await partitions.ensure(client, items.map((m) => m.span.startUs));
  // The spans' resources the cache does not know as committed (after a service's first batch, none until the
  // next UTC day), before the batch's transaction.
  const cache = opts.resources ?? processResources;
  await storeResources(client, cache, cache.needed(items));
  try {
    return await writeTransaction(client, items, false, opts);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    if ((e as { code?: string }).code !== '23505') throw e;
  }
  try {
    return await writeTransaction(client, items, true, opts);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** A batch's runs once locked: rows that existed and are held now, and runs new to the ledger. */
interface Claim {
  /** runs whose row this transaction holds (it existed, or the re-send path created it empty) */
  held: Set<string>;
  /** of those, rows created empty now (deleted again should no fresh span fill them) */
  created: Set<string>;
  /** runs without a row, to be claimed by inserting their rows (fast path) */
  fresh: Set<string>;
}

/**
 * Lock the batch's runs. A run whose row another transaction holds is deferred (its spans returned, to be
 * retried); a run without a row is new: the fast path claims it by inserting its complete row (computed from
 * the batch, as a new run has no stored spans) before its spans are written; the re-send path, which learns
 * which spans are new only once they are inserted, creates its row empty first and updates it like any other.
 */
async function writeTransaction(client: pg.PoolClient, items: PreparedSpan[], resent: boolean, opts: WriteOptions): Promise<WriteOutcome> {
  const runs = runIdsOf(items.map((m) => ({ tenantId: m.span.tenantId, runId: m.span.traceId })));
  const begun = (await client.query(beginSql(client, runs))) as unknown as pg.QueryResult[];
  const locked = keysOf(begun[1]!.rows as RunRow[]);
  const existing = keysOf(begun[2]!.rows as RunRow[]);
  const claim: Claim = { held: locked, created: new Set(), fresh: new Set() };
  for (const k of runKeysOf(runs)) if (!existing.has(k)) claim.fresh.add(k);
  if (resent && claim.fresh.size > 0) {
    const made = await client.query<RunRow>(CREATE_RUNS_SQL, columnsOfKeys([...claim.fresh]));
    claim.created = keysOf(made.rows);
    for (const k of claim.created) claim.held.add(k);
    claim.fresh.clear(); // a run created meanwhile by another writer is deferred
  }
  let work = items;
  const deferred: PreparedSpan[] = [];
  if (claim.held.size + claim.fresh.size < runs.runIds.length) {
    work = [];
    for (const m of items) (claim.held.has(runOf(m)) || claim.fresh.has(runOf(m)) ? work : deferred).push(m);
  }
  const frontier = (begun[3]!.rows as FrontierRow[]).filter((f) => {
    const k = runKey(f.tenant_id, f.trace_id);
    return claim.held.has(k) || claim.fresh.has(k);
  });
  const fresh = resent && work.length > 0 ? await insertNewSpans(client, work) : work;
  const lateDeferred = await applyFresh(client, fresh, frontier, claim, !resent, opts); // commits
  const out: WriteOutcome = { inserted: fresh.length - lateDeferred.length, duplicates: work.length - fresh.length };
  if (deferred.length + lateDeferred.length > 0) out.deferred = [...deferred, ...lateDeferred];
  return out;
}

const runKeysOf = (runs: RunIds) => runs.runIds.map((id, i) => runKey(runs.tenants[i]!, id));

/** [tenant ids, run ids] of run keys, for an unnest() parameter pair. */
function columnsOfKeys(keys: string[]): [string[], string[]] {
  return [keys.map((k) => k.slice(0, -32)), keys.map((k) => k.slice(-32))];
}

/**
 * Nodes and rollups for newly inserted spans (`copySpans`: and the spans themselves, fast path), given the
 * frontier of their runs (read under the runs' locks; usage.ts); ends the transaction with COMMIT, in the same round trip
 * as the runs update. Returns the spans of new runs another writer created meanwhile (not written: deferred).
 */
async function applyFresh(
  client: pg.PoolClient, all: PreparedSpan[], frontier: FrontierRow[], claim: Claim, copySpans: boolean, opts: WriteOptions,
): Promise<PreparedSpan[]> {
  const plan = planMarks(all, frontier);
  const walked = await walkMarks(client, plan, claim.held);
  const deltas = computeDeltas(all, plan.aggregates);
  subtractSettled(deltas, walked.settled);
  if (deltas.size > 0) await copyRows(client, RUN_DELTAS_STAGE, RUN_DELTA_COLUMNS.map((c) => c.column), encodeDeltaRows(deltaRows(deltas.values())), (r) => r);

  // New runs are claimed by inserting their rows before any of their spans is written.
  let spans = all;
  const late: PreparedSpan[] = [];
  const lost = new Set<string>(); // new runs another writer created meanwhile
  if (claim.fresh.size > 0) {
    const inserted = keysOf((await client.query<RunRow>(INSERT_NEW_RUNS_SQL, columnsOfKeys([...claim.fresh]))).rows);
    for (const k of claim.fresh) if (!inserted.has(k)) lost.add(k);
    if (lost.size > 0) {
      spans = [];
      for (const m of all) (lost.has(runOf(m)) ? late : spans).push(m);
    }
  }
  if (copySpans && spans.length > 0) await copyRows(client, 'runledger.spans', SPAN_COLUMNS, spans, (m) => m.spanRow);
  const nodes = spans.filter((m) => m.node !== null);
  if (nodes.length > 0) {
    for (const m of nodes) {
      const agg = plan.aggregates.size === 0 ? 0 : plan.aggregates.get(itemKey(m));
      setCounted(m.nodeRow!, m.node!, isUsageAggregate(agg), isCallAggregate(agg));
    }
    await copyRows(client, 'runledger.nodes', NODE_COLUMNS, nodes, (m) => m.nodeRow!);
  }
  const addFrontier = lost.size === 0 ? walked.frontier : walked.frontier.filter((f) => !lost.has(runKey(f.tenant_id, f.trace_id)));
  if (addFrontier.length > 0) {
    await client.query(INSERT_FRONTIER_SQL, columns(addFrontier,
      (f) => f.tenant_id, (f) => f.trace_id, (f) => f.span_id, (f) => f.parent_span_id, (f) => f.mask));
  }
  const consumed = lost.size === 0 ? plan.consumed : plan.consumed.filter((f) => !lost.has(runKey(f.tenant_id, f.trace_id)));
  if (consumed.length > 0) {
    await client.query(DELETE_FRONTIER_SQL, columns(consumed, (f) => f.tenant_id, (f) => f.trace_id, (f) => f.span_id));
  }
  const tail: string[] = [];
  if (claim.held.size > 0 && deltas.size > 0) tail.push(UPDATE_RUNS_SQL);
  if (deltas.size > 0) tail.push(`DELETE FROM ${RUN_DELTAS_STAGE}`);
  const settle = unsettled(spans, claim, copySpans);
  if (settle.length > 0) {
    const lit = runsLiterals(client, runIdsOf(settle.map(runOfKey)));
    tail.push(`SELECT runledger.settle_tree(${lit.tenants}, ${lit.ids})`);
  }
  const empty = [...claim.created].filter((k) => !deltas.has(k));
  if (empty.length > 0) {
    const lit = runsLiterals(client, runIdsOf(empty.map(runOfKey)));
    tail.push(DELETE_EMPTY_RUNS_SQL(lit.tenants, lit.ids));
  }
  if (opts.logContentChars !== null && spans.length > 0) {
    // nodes whose GenAI log records arrived before them (a logs writer queued them under these runs' locks)
    const written = [...claim.held, ...[...claim.fresh].filter((k) => !lost.has(k))];
    const lit = runsLiterals(client, runIdsOf(written.map(runOfKey)));
    tail.push(`SELECT runledger.fill_pending_content(${lit.tenants}, ${lit.ids}, ${opts.logContentChars | 0})`);
  }
  // The run's stored input (sql/029) is folded from the deltas (log content filled above refreshes its own runs);
  // recomputed from the stored rows where a delta's node did not carry its input.
  const inputs = uncarriedInputs(deltas).filter((k) => !lost.has(k));
  if (inputs.length > 0) {
    const lit = runsLiterals(client, runIdsOf(inputs.map(runOfKey)));
    tail.push(`SELECT count(*) FROM runledger.refresh_run_inputs(${lit.tenants}, ${lit.ids})`);
  }
  tail.push('COMMIT');
  await client.query(tail.join('; '));
  return late;
}

/**
 * Runs whose nodes' tree columns (sql/012) the prepare step could not compute alone: the runs that had
 * stored spans before (held), and new runs whose spans came in several requests (their places were computed
 * per request) or more than once; on the re-send path, every run. settle_tree() recomputes them.
 */
function unsettled(spans: readonly PreparedSpan[], claim: Claim, fastPath: boolean): string[] {
  const out = new Set<string>();
  const seen = new Map<string, { buffer: ArrayBufferLike; ids: Set<string> }>();
  for (const m of spans) {
    const k = runOf(m);
    if (out.has(k)) continue;
    if (!fastPath || claim.held.has(k)) { out.add(k); continue; }
    const s = seen.get(k);
    if (s === undefined) seen.set(k, { buffer: m.spanRow.buffer, ids: new Set([m.span.spanId]) });
    else if (s.buffer !== m.spanRow.buffer || s.ids.has(m.span.spanId)) out.add(k);
    else s.ids.add(m.span.spanId);
  }
  return [...out];
}
