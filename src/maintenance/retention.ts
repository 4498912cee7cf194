/**
 * Retention: drop the daily partitions of spans, nodes and logs older than a cutoff, delete the same days'
 * rows from the default partitions, and the runs whose spans all started and ended before it (EXPIRED_RUN).
 * The cutoff is rounded down to a UTC midnight: whole days go, so "--older-than 30d" keeps at least 30 days.
 *
 * Runs that started before the cutoff and ended after it keep their row and their totals (which still
 * count the dropped spans); `runledger repair` recomputes them from what is left if wanted.
 *
 * Resources stored once (sql/014, 019) go when their max_span_day is before the cutoff: a row's day is never
 * less than the day of a span start or log record time referencing it, so nothing left references it.
 *
 * The daily usage table outlives the spans: before anything is dropped, the expired days are rolled
 * up one last time and sealed (runledger.finalize_daily_usage), so their rows keep the final totals.
 */
import type pg from 'pg';
import { finalizeDailyUsage } from './daily-usage.js';
import type { JobProgress } from './progress.js';
import { withRetries } from '../sink/pg-errors.js';


export interface RetentionOptions {
  olderThan: Date;
  dryRun?: boolean;
  progress?: JobProgress;
  /** rows deleted per statement from the default partitions and runs */
  chunkRows?: number;
  /**
   * each partition drop's wait for its lock, per try (default 500 ms): every writer queues behind the request,
   * so it must stay under the gateways' RUNLEDGER_DB_LOCK_TIMEOUT_MS (retentionLockWaitMs)
   */
  lockWaitMs?: number;
}

/** The drop's lock wait for gateways whose sessions wait `dbLockTimeoutMs` for a lock: at most half of it, at most 500 ms. */
export function retentionLockWaitMs(dbLockTimeoutMs: number): number {
  return Math.max(1, Math.min(500, Math.floor(dbLockTimeoutMs / 2)));
}

export interface RetentionResult {
  /** the effective cutoff (UTC midnight): data that started before it is gone */
  cutoff: Date;
  dryRun: boolean;
  /** partitions dropped (or that would be) */
  partitions: string[];
  /** rows deleted from spans_default / nodes_default / logs_default */
  defaultSpans: number;
  defaultNodes: number;
  defaultLogs: number;
  runs: number;
  frontier: number;
  /** rows deleted from runledger.resources (sql/014) */
  resources: number;
  /** days of the daily usage table recomputed before the drop (0 in a dry run) */
  rollupDays: number;
}

/**
 * A run all of whose spans started and ended before the cutoff ($1). end_time alone is not enough: a span sent
 * without an end time (OTLP's 0, which gateways before otlp/values.ts spanTimes stored as 1970) can leave a run
 * that started after the cutoff with an earlier end_time, and deleting its row would orphan its kept spans and nodes.
 * last_start_time is NULL only in rows written before sql/012 (their start_time then bounds it from below).
 */
const EXPIRED_RUN = `end_time < $1 AND coalesce(last_start_time, start_time) < $1`;

/** A resource no span or log record on or after the cutoff ($1) references. */
const EXPIRED_RESOURCE = `max_span_day < ($1::timestamptz AT TIME ZONE 'UTC')::date`;

const PARTITION = /^(spans|nodes|logs)_(\d{4})(\d{2})(\d{2})$/;

/** UTC midnight at or before t. */
export function retentionCutoff(t: Date): Date {
  return new Date(Math.floor(t.getTime() / 86_400_000) * 86_400_000);
}

/** Day partitions (name, day start) of spans and nodes wholly before the cutoff, oldest first. */
export async function expiredPartitions(db: pg.ClientBase | pg.Pool, cutoff: Date): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = 'runledger' AND p.relname IN ('spans', 'nodes', 'logs')`);
  const out: { name: string; end: number }[] = [];
  for (const { name } of r.rows) {
    const m = PARTITION.exec(name);
    if (!m) continue;
    const end = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]) + 1);
    if (end <= cutoff.getTime()) out.push({ name, end });
  }
  return out.sort((a, b) => a.end - b.end || a.name.localeCompare(b.name)).map((p) => p.name);
}

export async function applyRetention(pool: pg.Pool, opts: RetentionOptions): Promise<RetentionResult> {
  const cutoff = retentionCutoff(opts.olderThan);
  const dryRun = opts.dryRun ?? false;
  const chunk = opts.chunkRows ?? 10_000;
  const partitions = await expiredPartitions(pool, cutoff);
  const result: RetentionResult = { cutoff, dryRun, partitions, defaultSpans: 0, defaultNodes: 0, defaultLogs: 0, runs: 0, frontier: 0, resources: 0, rollupDays: 0 };
  const p = opts.progress;
  p?.start(partitions.length + 4);

  if (dryRun) {
    const count = async (sql: string) => Number((await pool.query(sql, [cutoff])).rows[0].n);
    result.defaultSpans = await count('SELECT count(*) AS n FROM runledger.spans_default WHERE start_time < $1');
    result.defaultNodes = await count('SELECT count(*) AS n FROM runledger.nodes_default WHERE start_time < $1');
    result.defaultLogs = await count('SELECT count(*) AS n FROM runledger.logs_default WHERE time < $1');
    result.runs = await count(`SELECT count(*) AS n FROM runledger.runs WHERE ${EXPIRED_RUN}`);
    result.resources = await count(`SELECT count(*) AS n FROM runledger.resources WHERE ${EXPIRED_RESOURCE}`);
    p?.tick(partitions.length + 4);
    p?.done();
    return result;
  }

  // the final state of the expired days into the rollup, while their nodes (and runs) are still there
  result.rollupDays = await finalizeDailyUsage(pool, cutoff);
  for (const name of partitions) {
    await withLockRetry(pool, `DROP TABLE IF EXISTS runledger.${quoteIdent(name)}`, opts.lockWaitMs ?? 500);
    p?.tick();
  }
  result.defaultSpans = await deleteChunked(pool, 'runledger.spans_default', 'start_time < $1', cutoff, chunk);
  p?.tick();
  result.defaultNodes = await deleteChunked(pool, 'runledger.nodes_default', 'start_time < $1', cutoff, chunk);
  result.defaultLogs = await deleteChunked(pool, 'runledger.logs_default', 'time < $1', cutoff, chunk);
  p?.tick();
  result.runs = await deleteChunked(pool, 'runledger.runs', EXPIRED_RUN, cutoff, chunk);
  p?.tick();
  // frontier rows (children waiting for a parent) of runs that are gone, and spans waiting for content
  // from log records that are gone: its GenAI content records (sql/011 log_content's condition, which is also
  // the partial index logs_span_content's, sql/021), not any record of the span
  const f = await withRetries(() => pool.query(`DELETE FROM runledger.usage_frontier f
    WHERE NOT EXISTS (SELECT 1 FROM runledger.runs r WHERE r.tenant_id = f.tenant_id AND r.run_id = f.trace_id)`));
  result.frontier = f.rowCount ?? 0;
  await withRetries(() => pool.query(`DELETE FROM runledger.pending_content c WHERE NOT EXISTS (SELECT 1 FROM runledger.logs l
    WHERE l.tenant_id = c.tenant_id AND l.run_id = c.run_id AND l.span_id = c.span_id
      AND (l.content_input IS NOT NULL OR l.content_output IS NOT NULL))`));
  // After the spans: a writer raising a row's day (it has a later span) holds the row; this DELETE then
  // re-reads the day and keeps it.
  result.resources = (await withRetries(() => pool.query(`DELETE FROM runledger.resources WHERE ${EXPIRED_RESOURCE}`, [cutoff]))).rowCount ?? 0;
  p?.tick();
  p?.done();
  return result;
}

/**
 * Row deletes lock rows in their physical order, writers in key order (the logs writer waits for its runs, the
 * writers' resource upserts for their rows): a deadlock ends one side, and when it is this side the statement
 * is retried like the writers' (withRetries; it is idempotent). Ingestion beside retention hit it.
 */
async function deleteChunked(pool: pg.Pool, table: string, where: string, cutoff: Date, chunk: number): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await withRetries(() => pool.query(
      `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE ${where} LIMIT ${chunk}))`, [cutoff]));
    total += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < chunk) return total;
  }
}

/**
 * Dropping a partition locks its parent exclusively, and writers queue behind a waiting lock request:
 * each try waits at most waitMs (500 ms) for the lock (a long query may hold it), then steps back for a second
 * so that the writers go on, up to `tries` times.
 */
async function withLockRetry(pool: pg.Pool, sql: string, waitMs: number, tries = 60): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`SET lock_timeout = ${Math.max(1, Math.round(waitMs))}`);
    for (let i = 1; ; i++) {
      try {
        await client.query(sql);
        return;
      } catch (e) {
        // lock_not_available, or a deadlock (a deadlock_timeout below 500 ms) of which this drop was the victim
        const code = (e as { code?: string }).code;
        if ((code !== '55P03' && code !== '40P01') || i >= tries) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    await client.query('RESET lock_timeout').catch(() => {});
    client.release();
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected partition name ${name}`);
  return `"${name}"`;
}
