/**
 * Assembles the gateway: database, pipeline, batcher, HTTP and gRPC receivers; drains on stop. It listens
 * before the database is known to work: migrations and API keys load in the background (startup.ts).
 */
import pg from 'pg';
import { serve } from '@hono/node-server';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Config } from './config.js';
import type { EmbeddedDb } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { createMapper } from './mapping/index.js';
import { loadPriceTable } from './mapping/prices.js';
import { Batcher } from './sink/batcher.js';
import { AdmissionBudget, admissionBudgetBytes } from './sink/admission.js';
import { writeBatch } from './sink/writer.js';
import { createLogsStore } from './sink/logs-writer.js';
import { DayPartitions } from './sink/partitions.js';
import { classifyPgError, isDatabaseError } from './sink/pg-errors.js';
import { Pipeline } from './pipeline.js';
import { createHttpApp } from './receiver/http.js';
import { bindGrpc, createGrpcServer } from './receiver/grpc.js';
import type { Logger } from './log.js';
import type { PreparedSpan } from './sink/prepare.js';
import { PreparePool } from './worker/pool.js';
import type { Context } from 'hono';
import { ApiKeyAuth, metadataReader } from './auth.js';
import { Metrics } from './metrics.js';
import { pingDatabase, readiness, WriteProgress, type Readiness } from './health.js';
import { SchemaStartup, startMaintenance, type Maintenance } from './startup.js';
import { repairQueued } from './maintenance/repair.js';

export interface Gateway {
  httpUrl: string;
  grpcAddress: string;
  databaseUrl: string;
  pool: pg.Pool;
  pipeline: Pipeline;
  batcher: Batcher;
  /** this gateway's Prometheus registry and metrics (GET /metrics) */
  metrics: Metrics;
  /** API keys → tenants (refresh() reloads runledger.api_keys now) */
  auth: ApiKeyAuth;
  /** settles (never rejects) once the first attempt at the migrations, then the API keys, succeeded or failed */
  startup: Promise<void>;
  readiness(): Promise<Readiness>; // what GET /readyz answers
  stop(): Promise<void>;
}

export interface Sink {
  batcher: Batcher;
  pipeline: Pipeline;
  /** the daily partitions the writers create on demand */
  partitions: DayPartitions;
  progress: WriteProgress; // how long writes have gone without a commit (/readyz)
  /** resolves once the prepare workers have loaded (their price manifest) */
  ready: Promise<void>;
  /** stop the prepare workers (after the batcher drained) */
  close(): Promise<void>;
}

/**
 * The write side (pool + batcher + pipeline), usable without any receiver (in-process exporter).
 * `workers` overrides cfg.prepareWorkers (the in-process exporter prepares on the calling thread).
 */
export function createSink(cfg: Config, pool: pg.Pool, log: Logger, workers = cfg.prepareWorkers, metrics: Metrics | null = null): Sink {
  const partitions = new DayPartitions({ backfillDays: cfg.partitionBackfillDays });
  const progress = new WriteProgress(cfg.readyWriteStallMs);
  const write = async (items: PreparedSpan[]) => {
    progress.started();
    const client = await pool.connect().catch((e) => { metrics?.databaseUp(false); progress.failed(e); throw e; });
    let broken: Error | undefined;
    const t0 = performance.now();
    try {
      const out = await writeBatch(client, items, partitions, { logContentChars: cfg.captureContent ? cfg.maxContentChars : null });
      progress.committed();
      metrics?.written(items.length, out, (performance.now() - t0) / 1000);
      return out;
    } catch (e) {
      progress.failed(e);
      const cls = classifyPgError(e);
      if (cls === 'unavailable') {
        broken = e as Error;
        metrics?.databaseUp(false);
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
  const mapper = createMapper({
    maxContentChars: cfg.maxContentChars,
    captureContent: cfg.captureContent,
    prices: loadPriceTable(cfg.pricesFile ?? undefined),
  });
  const prepare = workers > 0
    ? new PreparePool(workers, {
      maxSpans: cfg.queueMaxSpans, maxContentChars: cfg.maxContentChars, captureContent: cfg.captureContent, pricesFile: cfg.pricesFile,
    },
      (e) => log.error('prepare worker crashed; restarted', { error: String(e) }))
    : null;
  const admission = new AdmissionBudget({
    budgetBytes: admissionBudgetBytes(cfg.queueMaxSpans), sharePercent: cfg.admissionSharePercent,
    retryAfterSeconds: cfg.retryAfterSeconds, refusal: () => batcher.refusal() ?? pipeline.refusal(),
  });
  const pipeline: Pipeline = new Pipeline({
    mapper, batcher, pool: prepare, metrics, maxSpans: cfg.queueMaxSpans, admission,
    logs: createLogsStore(pool, partitions, { captureContent: cfg.captureContent, maxContentChars: cfg.maxContentChars },
      { stored: (n) => metrics?.logRecordsStored(n), failed: (e) => { if (classifyPgError(e) === 'unavailable') metrics?.databaseUp(false); } }),
  });
  return {
    batcher, partitions, progress, pipeline,
    ready: prepare?.ready() ?? Promise.resolve(),
    close: async () => { await prepare?.close(); },
  };
}

export function createPool(databaseUrl: string, cfg: Config, log: Logger): pg.Pool {
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
  pool.on('error', (e) => log.warn('idle database connection lost', { error: e.message }));
  // Neither may a checked-out one: pg-pool removes its listener while a client is lent out, and pg's
  // Client emits 'error' when its connection ends (even with a query active, which is rejected as
  // well) — without a listener that is an uncaught exception. The writer sees the failed query and
  // releases the client as broken.
  pool.on('connect', (client) => {
    client.on('error', (e) => log.warn('database connection lost', { error: e.message }));
  });
  return pool;
}

export async function startGateway(cfg: Config, log: Logger): Promise<Gateway> {
  let embedded: EmbeddedDb | null = null;
  let databaseUrl = cfg.databaseUrl;
  if (!databaseUrl) {
    const { startEmbedded } = await import('./db/embedded.js'); // only when used: it hooks process signals
    embedded = await startEmbedded({ dataDir: cfg.dataDir, port: cfg.embeddedPgPort || undefined, log: (l) => log.debug(l) });
    databaseUrl = embedded.url;
  }
  const url = databaseUrl;
  const pool = createPool(url, cfg, log);
  const metrics = new Metrics({ defaultMetrics: true });
  const sink = createSink(cfg, pool, log, cfg.prepareWorkers, metrics);
  const { batcher, pipeline } = sink;
  metrics.queueDepth = () => batcher.depth;
  let draining = false;
  const checkDatabase = async () => {
    const problem = await pingDatabase(pool);
    metrics.databaseUp(problem === null);
    return problem;
  };
  void checkDatabase().then((problem) => { if (problem) log.warn('database not ready at start-up', { error: problem }); });
  const onError = (e: unknown) => log.error('request failed', { error: (e as Error)?.stack ?? String(e) });

  // Nothing waits for the database: 503 until the schema is in place and (keys not configured) the key table read
  const schema = new SchemaStartup({ migrate: cfg.migrate, apply: () => migrate(url), retryAfterSeconds: cfg.retryAfterSeconds, log });
  const auth = new ApiKeyAuth({
    apiKeys: cfg.apiKeys, defaultTenant: cfg.defaultTenant, refreshSeconds: cfg.apiKeysRefreshSeconds,
    retryAfterSeconds: cfg.retryAfterSeconds, pool, log,
  });
  let maintenance: Maintenance | null = null;
  // runs a migration queued for repair (e.g. traces several tenants shared before 007): in the background,
  // once the migrations are in place
  schema.onReady(() => void repairQueued(pool).then(
    (r) => { if (r) log.info('runs queued by migrations repaired', { runs: r.scanned, recreated: r.recreated }); },
    (e) => log.warn('repairing the runs queued by migrations failed; `runledger migrate` retries', { error: (e as Error).message }),
  ));
  schema.onReady(() => { if (!draining) maintenance = startMaintenance(cfg, pool, sink.partitions, log); });
  const keysLoadedOnce = new Promise<void>((resolve) => schema.onReady(() => void auth.start().then(resolve)));
  // (requests wait for a prepare worker still loading its price manifest: the banner waits for it too)
  const startup = Promise.all([sink.ready, schema.firstAttempt.then(() => (schema.isReady ? keysLoadedOnce : undefined))]).then(() => {});
  const ready = () => readiness({
    draining: () => draining, startupProblem: () => schema.notReadyReason, ping: checkDatabase,
    authProblem: () => (auth.refusesAll ? auth.notLoadedReason : null),
    progress: sink.progress, stallLimitMs: cfg.readyWriteStallMs, queuedSpans: () => batcher.depth,
  });
  const tenant = (from: Context | grpc.Metadata) => {
    schema.check();
    return auth.tenantOf('req' in from ? (name) => from.req.header(name) : metadataReader(from));
  };
  // Shares of the admission budget go to tenants; without API keys (one tenant) to connections.
  const body = {
    bodyGraceSeconds: cfg.bodyGraceSeconds, bodyMinBytesPerSecond: cfg.bodyMinBytesPerSecond,
    holder: (tenantId: string, connection: string) => (auth.enabled ? `tenant ${tenantId}` : `connection ${connection}`),
  };

  const app = createHttpApp({
    ...body,
    pipeline,
    maxBodyBytes: cfg.maxBodyBytes,
    tenant,
    onError,
    onRequest: (status, seconds, signal) => metrics.request('http', signal, status, seconds),
    extra: (a) => {
      a.get('/healthz', (c) => c.json({ status: 'ok' }));
      a.get('/readyz', async (c) => {
        const r = await ready();
        return r.ready ? c.json({ status: 'ready', queued_spans: r.queued_spans }) : c.json({ status: 'unavailable', reason: r.reason }, 503);
      });
      a.get('/metrics', async (c) => {
        const { contentType, body } = await metrics.expose();
        return c.body(body, 200, { 'content-type': contentType });
      });
    },
  });
  const http = await new Promise<HttpServer>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: cfg.httpHost, port: cfg.httpPort }, () => resolve(s as HttpServer));
  });
  const httpPort = (http.address() as AddressInfo).port;

  const grpcServer = createGrpcServer({
    ...body, pipeline, maxBodyBytes: cfg.maxBodyBytes, tenant, onError,
    onRequest: (code, seconds, signal) => metrics.request('grpc', signal, code, seconds),
  });
  const grpcPort = await bindGrpc(grpcServer, cfg.grpcHost, cfg.grpcPort);

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      // Stop taking new requests (not ready any more), commit everything already accepted, then close.
      draining = true;
      const schemaStopped = schema.stop();
      const maintenanceStopped = maintenance?.stop();
      const httpClosed = new Promise<void>((r) => http.close(() => r()));
      const grpcClosed = new Promise<void>((r) => grpcServer.tryShutdown(() => r()));
      await batcher.drain();
      // Answers to the drained requests are on their way; then drop keep-alive connections.
      await new Promise((r) => setImmediate(r));
      http.closeIdleConnections();
      const grace = setTimeout(() => http.closeAllConnections(), 5000);
      await Promise.all([httpClosed, grpcClosed]);
      clearTimeout(grace);
      await sink.close();
      await auth.close();
      await schemaStopped;
      await maintenanceStopped;
      await pool.end();
      if (embedded) await embedded.stop();
    })());

  return {
    httpUrl: `http://${cfg.httpHost}:${httpPort}`,
    grpcAddress: `${cfg.grpcHost}:${grpcPort}`,
    databaseUrl: url,
    pool,
    pipeline,
    batcher,
    metrics,
    auth,
    startup,
    readiness: ready,
    stop,
  };
}
