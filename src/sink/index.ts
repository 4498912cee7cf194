/**
 * The write side, assembled: the database pool, the group-commit batcher over the span writer, the logs
 * store and the day partitions they create. Nothing of receivers, workers or the pipeline: ingest.ts puts
 * those in front of it, for the gateway and the in-process exporter alike.
 */
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { Batcher } from './batcher.js';
import { writeBatch, type WriteOutcome } from './writer.js';
import { createLogsStore } from './logs-writer.js';
import { DayPartitions, partitionLockWaitMs } from './partitions.js';
import { classifyPgError, isDatabaseError } from './pg-errors.js';
import { WriteProgress } from './write-progress.js';
import type { PreparedSpan } from './prepare.js';

/** What the sink reports as it writes (the gateway's Metrics has these). */
export interface SinkObserver {
  written(spans: number, out: WriteOutcome, seconds: number): void;
  databaseUp(ok: boolean): void;
  logRecordsStored(n: number): void;
}

export interface Sink {
  batcher: Batcher;
  /** the daily partitions the writers create on demand */
  partitions: DayPartitions;
  progress: WriteProgress; // how long writes have gone without a commit (/readyz)
  logs: ReturnType<typeof createLogsStore>;
}

/** The span batcher (its writers take connections of `pool`) and the logs store. */
export function createSink(cfg: Config, pool: pg.Pool, log: Logger, observer: SinkObserver | null = null): Sink {
  const partitions = new DayPartitions({
    backfillDays: cfg.partitionBackfillDays, lockTimeoutMs: partitionLockWaitMs(cfg.dbLockTimeoutMs, cfg.dbStatementTimeoutMs),
  });
  const progress = new WriteProgress(cfg.readyWriteStallMs);
  const write = async (items: PreparedSpan[]) => {
    progress.started();
    const client = await pool.connect().catch((e) => { observer?.databaseUp(false); progress.failed(e); throw e; });
    let broken: Error | undefined;
    const t0 = performance.now();
    try {
      const out = await writeBatch(client, items, partitions, { logContentChars: cfg.captureContent ? cfg.maxContentChars : null });
      progress.committed();
      observer?.written(items.length, out, (performance.now() - t0) / 1000);
      return out;
    } catch (e) {
      progress.failed(e);
      const cls = classifyPgError(e);
      if (cls === 'unavailable') {
        broken = e as Error;
        observer?.databaseUp(false);
      } else if (cls === 'other' && isDatabaseError(e)) { // neither transient nor the spans' (a missing table, a privilege)
        log.error('write failed: database error, answering 503 until it is fixed', { code: (e as { code?: string }).code, error: (e as Error).message });
      }
      throw e;
    } finally {
      client.release(broken);
    }
  };
  const batcher = new Batcher({
    queueMaxSpans: cfg.queueMaxSpans,
    batchMaxSpans: cfg.batchMaxSpans,
    writers: cfg.writers,
    retryAfterSeconds: cfg.retryAfterSeconds,
    runLockWaitMs: cfg.runLockWaitMs,
    write,
    onBatch: (b) => { if (!b.ok) log.warn('batch failed', b); else log.debug('batch committed', b); },
  });
  const logs = createLogsStore(pool, partitions, { captureContent: cfg.captureContent, maxContentChars: cfg.maxContentChars, retryAfterSeconds: cfg.retryAfterSeconds },
    { stored: (n) => observer?.logRecordsStored(n), failed: (e) => { if (classifyPgError(e) === 'unavailable') observer?.databaseUp(false); } });
  return { batcher, partitions, progress, logs };
}

/**
 * `ended`: true once the owner has called pool.end(). pg-pool counts a client gone when it asks it to end, not
 * when its socket closes, so an embedded server stopped right after pool.end() resolves can still terminate
 * connections that are closing: their 'error' is expected then, logged at debug (under load it was a warning
 * on every Ctrl-C).
 */
export function createPool(databaseUrl: string, cfg: Config, log: Logger, ended: () => boolean = () => false): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: cfg.writers + 2,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'runledger',
    // Sent in the start-up packet of every session: they take precedence over ALTER DATABASE / ALTER ROLE
    // settings (an operator's `statement_timeout = '20ms'` for analysts must not break ingestion), and no
    // write waits without bound on a lock another session holds.
    statement_timeout: cfg.dbStatementTimeoutMs,
    lock_timeout: cfg.dbLockTimeoutMs,
  });
  // An idle client losing its server (restart, failover) must not crash the process.
  const lost = (msg: string, e: Error) => (ended() ? log.debug : log.warn).call(log, msg, { error: e.message });
  pool.on('error', (e) => lost('idle database connection lost', e));
  // Neither may a checked-out one: pg-pool removes its listener while a client is lent out, and pg's
  // Client emits 'error' when its connection ends (even with a query active, which is rejected as
  // well) — without a listener that is an uncaught exception. The writer sees the failed query and
  // releases the client as broken.
  pool.on('connect', (client) => {
    client.on('error', (e) => lost('database connection lost', e));
  });
  return pool;
}
