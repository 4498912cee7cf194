/**
 * Writes the log records of one request in one transaction: lock their runs (as repair does: the span
 * writers' row locks), insert the records that are new, and fill the content of the nodes their GenAI events
 * belong to — or, for spans that have not arrived, leave a pending_content row that the span's writer works
 * off (sql/011). Either order gives the same node content. A re-sent record inserts nothing.
 */
import type pg from 'pg';
import { copyRows } from './copy.js';
import { MAX_ERRORS } from '../constants.js';
import { LOG_COLUMNS, STAGE_LOG_COLUMNS, type LogItem, type PreparedLogs } from './log-rows.js';
import { classifyPgError, gatewayErrorOf, withRetries } from './pg-errors.js';
import type { DayPartitions } from './partitions.js';
import { DELETE_EMPTY_RUNS_SQL } from '../rollup/sql.js';
import { runKey, runOfKey } from '../rollup/usage.js';
import { lockRunsWaiting, runIdsOf } from '../rollup/locks.js';
import { processResources, storeResources, type ResourceCache, type ResourceNeed } from './resources.js';

export interface LogsWriteOutcome {
  /** records newly stored */
  inserted: number;
  /** records stored before (re-sent) */
  duplicates: number;
}

export interface LogsWriteOptions {
  /** node content from log records (RUNLEDGER_CAPTURE_CONTENT) */
  captureContent: boolean;
  maxContentChars: number;
  /** Retry-After of the 503 / UNAVAILABLE a failed write is answered with */
  retryAfterSeconds: number;
  /** resource keys known to be committed (sql/014, 019); default: the process's, shared with the span writer */
  resources?: ResourceCache;
}

const STAGE_LOGS = 'runledger_stage_logs';
const staged = new WeakSet<pg.ClientBase>();

/**
 * The staged records that are new: not stored under their identity (ON CONFLICT), nor under the identity an
 * earlier gateway gave them (legacy_hash, log-rows.ts recordHashes: attributes hashed as listed). The legacy
 * look-up is fenced (OFFSET 0) so that it stays one probe of the primary key per record, its time pruning to
 * its day's partition (measured on PG 18: unfenced, the planner hashed a scan of every logs partition); $1 and
 * $2, the records' first and last time, prune the others when it is planned (with 91 days of partitions, 6 ms
 * of planning per request without them, 0.3 ms with them, measured on PG 18).
 */
const INSERT_LOGS_SQL = `
INSERT INTO runledger.logs (${LOG_COLUMNS.join(', ')})
SELECT ${LOG_COLUMNS.map((c) => `s.${c}`).join(', ')} FROM ${STAGE_LOGS} s
WHERE s.legacy_hash IS NULL OR NOT EXISTS (SELECT 1 FROM runledger.logs l WHERE l.tenant_id = s.tenant_id
  AND l.run_id = s.run_id AND l.time = s.time AND l.record_hash = s.legacy_hash
  AND l.time >= $1::timestamptz AND l.time <= $2::timestamptz OFFSET 0)
ON CONFLICT DO NOTHING
RETURNING tenant_id, replace(run_id::text, '-', '') AS run_id, span_id,
  (content_input IS NOT NULL OR content_output IS NOT NULL) AS content`;

/** A time in µs since the epoch as exact ISO 8601 text (µs digits; timestamptz input). */
function isoOfUs(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/**
 * One request's records: `rows[i]` is the COPY row of `items[i]`; `resources` are (at least) the resources
 * they reference, those the cache does not know stored first, in a statement of their own (committed alone).
 *
 * Not in the records' transaction: that one waits for its runs' locks, and a span writer takes a batch's
 * resources before it claims the batch's new runs (writer.ts). Both holding what the other waits for — a
 * resource row here, a run's row there (a new run's empty lock row this writer created) — was a deadlock
 * whenever spans and log records of a new run met a resource neither had cached (a new SDK process; every
 * resource at UTC midnight, when its day is raised): each cost deadlock_timeout, chains of them ran into
 * lock_timeout and answered 503. A resource stored for records whose write then fails is stored for their
 * retry; unreferenced, it goes with its day (retention).
 */
export async function writeLogs(
  client: pg.PoolClient, items: LogItem[], rows: Uint8Array[], partitions: DayPartitions, opts: LogsWriteOptions,
  resources: readonly ResourceNeed[],
): Promise<LogsWriteOutcome> {
  if (items.length === 0) return { inserted: 0, duplicates: 0 };
  if (!staged.has(client)) {
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${STAGE_LOGS} (LIKE runledger.logs INCLUDING DEFAULTS, legacy_hash text COLLATE "C")`);
    staged.add(client);
  }
  await partitions.ensure(client, items.map((m) => m.timeUs));
  const runs = runIdsOf(items.map((m) => ({ tenantId: m.tenantId, runId: m.runId })));
  const cache = opts.resources ?? processResources;
  await storeResources(client, cache, cache.unknown(resources));
  await client.query('BEGIN');
  try {
    const createdRuns = await lockRunsWaiting(client, runs);
    await copyRows(client, STAGE_LOGS, STAGE_LOG_COLUMNS, rows, (r) => r);
    let first = Infinity;
    let last = -Infinity;
    for (const m of items) {
      if (m.timeUs < first) first = m.timeUs;
      if (m.timeUs > last) last = m.timeUs;
    }
    const res = await client.query<{ tenant_id: string; run_id: string; span_id: string | null; content: boolean }>(
      INSERT_LOGS_SQL, [isoOfUs(first), isoOfUs(last)]);
    await client.query(`DELETE FROM ${STAGE_LOGS}`);
    const spans = new Map<string, { t: string; r: string; s: string }>();
    for (const x of res.rows) if (x.content && x.span_id !== null) spans.set(runKey(x.tenant_id, x.run_id) + x.span_id, { t: x.tenant_id, r: x.run_id, s: x.span_id });
    if (opts.captureContent && spans.size > 0) {
      const s = [...spans.values()];
      await client.query('SELECT runledger.apply_log_content($1::text[], $2::uuid[], $3::text[], $4)',
        [s.map((x) => x.t), s.map((x) => x.r), s.map((x) => x.s), opts.maxContentChars]);
    }
    // runs rows the lock created for runs without spans: no run yet (its spans create it)
    const created = [...createdRuns].map(runOfKey);
    if (created.length > 0) {
      await client.query(DELETE_EMPTY_RUNS_SQL('$1::text[]', '$2::uuid[]'), [created.map((c) => c.tenantId), created.map((c) => c.runId)]);
    }
    await client.query('COMMIT');
    return { inserted: res.rowCount ?? 0, duplicates: items.length - (res.rowCount ?? 0) };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/**
 * Logs requests against a pool: one transaction per request; records PostgreSQL refuses (a data error) are
 * isolated by bisection and rejected alone; a deadlock or serialization failure is retried a few times, as the
 * span batcher does (a day's partitions created while records are written can deadlock with them); any other
 * failure is thrown as the span writes' GatewayError: 503 / UNAVAILABLE + Retry-After, never a 500 that makes
 * an exporter drop the records.
 */
export function createLogsStore(
  pool: pg.Pool, partitions: DayPartitions, opts: LogsWriteOptions,
  hooks: { stored?: (n: number) => void; failed?: (e: unknown) => void } = {},
): { write(p: PreparedLogs): Promise<{ rejected: number; errors: string[] }> } {
  // a part of a bisected request stores all of the request's resources: a superset, whose days are its records'
  const once = async (items: LogItem[], rows: Uint8Array[], resources: readonly ResourceNeed[]) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const out = await writeLogs(client, items, rows, partitions, opts, resources);
      hooks.stored?.(out.inserted);
      return out;
    } catch (e) {
      if (classifyPgError(e) === 'unavailable') broken = e as Error;
      hooks.failed?.(e);
      throw e;
    } finally {
      client.release(broken);
    }
  };
  const bisect = async (items: LogItem[], rows: Uint8Array[], resources: readonly ResourceNeed[]): Promise<{ rejected: number; errors: string[] }> => {
    try {
      await withRetries(() => once(items, rows, resources));
      return { rejected: 0, errors: [] };
    } catch (e) {
      if (classifyPgError(e) !== 'data') throw e;
      if (items.length === 1) {
        return { rejected: 1, errors: [`log record of trace ${items[0]!.runId} refused by the database: ${(e as Error).message}`] };
      }
      const mid = items.length >> 1;
      const a = await bisect(items.slice(0, mid), rows.slice(0, mid), resources);
      const b = await bisect(items.slice(mid), rows.slice(mid), resources);
      return { rejected: a.rejected + b.rejected, errors: [...a.errors, ...b.errors].slice(0, MAX_ERRORS) };
    }
  };
  return {
    write: (p) => bisect(p.items, p.rows, p.resources).catch((e) => { throw gatewayErrorOf(e, opts.retryAfterSeconds); }),
  };
}
