/** Assembles the gateway: database, pipeline, batcher, HTTP and gRPC receivers; drains on stop. */
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
import { DayPartitions } from './sink/partitions.js';
import { startPeriodic } from './periodic.js';
import { classifyPgError } from './sink/pg-errors.js';
import { Pipeline } from './pipeline.js';
import { createHttpApp } from './receiver/http.js';
import { bindGrpc, createGrpcServer } from './receiver/grpc.js';
import type { Logger } from './log.js';
import type { PreparedSpan } from './sink/prepare.js';
import { PreparePool } from './worker/pool.js';
import type { Context } from 'hono';
import { ApiKeyAuth, metadataReader } from './auth.js';
import { Metrics } from './metrics.js';
import { startDailyUsageRefresher } from './db/views.js';

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
  stop(): Promise<void>;
}

export interface Sink {
  batcher: Batcher;
  pipeline: Pipeline;
  /** the daily partitions the writers create on demand */
  partitions: DayPartitions;
  /** stop the prepare workers (after the batcher drained) */
  close(): Promise<void>;
}

/**
 * The write side (pool + batcher + pipeline), usable without any receiver (in-process exporter).
 * `workers` overrides cfg.prepareWorkers (the in-process exporter prepares on the calling thread).
 */
export function createSink(cfg: Config, pool: pg.Pool, log: Logger, workers = cfg.prepareWorkers, metrics: Metrics | null = null): Sink {
  const partitions = new DayPartitions({ backfillDays: cfg.partitionBackfillDays });
  const write = async (items: PreparedSpan[]) => {
    const client = await pool.connect().catch((e) => { metrics?.databaseUp(false); throw e; });
    let broken: Error | undefined;
    const t0 = performance.now();
    try {
      const out = await writeBatch(client, items, partitions);
      metrics?.written(items.length, out, (performance.now() - t0) / 1000);
      return out;
    } catch (e) {
      if (classifyPgError(e) === 'unavailable') {
        broken = e as Error;
        metrics?.databaseUp(false);
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
  const pipeline: Pipeline = new Pipeline(mapper, batcher, prepare, metrics, cfg.queueMaxSpans, admission);
  return {
    batcher, partitions, pipeline,
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

/** Readiness of the database: null when `SELECT 1` answers within `ms`, else the reason. */
export async function pingDatabase(pool: pg.Pool, ms = 1000): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to SELECT 1 within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([pool.query('SELECT 1'), late]);
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

export async function startGateway(cfg: Config, log: Logger): Promise<Gateway> {
  let embedded: EmbeddedDb | null = null;
  let databaseUrl = cfg.databaseUrl;
  if (!databaseUrl) {
    const { startEmbedded } = await import('./db/embedded.js'); // only when used: it hooks process signals
    embedded = await startEmbedded({ dataDir: cfg.dataDir, port: cfg.embeddedPgPort || undefined, log: (l) => log.debug(l) });
    databaseUrl = embedded.url;
  }
  if (cfg.migrate) {
    const applied = await migrate(databaseUrl);
    if (applied.length) log.info('migrations applied', { applied });
  }
  const pool = createPool(databaseUrl, cfg, log);
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
  const dbProblem = await checkDatabase();
  if (dbProblem) log.warn('database not ready at start-up', { error: dbProblem });
  const onError = (e: unknown) => log.error('request failed', { error: (e as Error)?.stack ?? String(e) });
  const auth = new ApiKeyAuth({
    apiKeys: cfg.apiKeys, defaultTenant: cfg.defaultTenant, refreshSeconds: cfg.apiKeysRefreshSeconds,
    retryAfterSeconds: cfg.retryAfterSeconds, pool, log,
  });
  await auth.start();
  const tenant = (from: Context | grpc.Metadata) =>
    auth.tenantOf('req' in from ? (name) => from.req.header(name) : metadataReader(from));
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
    onRequest: (status, seconds) => metrics.request('http', status, seconds),
    extra: (a) => {
      a.get('/healthz', (c) => c.json({ status: 'ok' }));
      a.get('/readyz', async (c) => {
        const notReady = (reason: string) => c.json({ status: 'unavailable', reason }, 503);
        if (draining) return notReady('draining: the gateway is shutting down');
        const problem = await checkDatabase();
        if (problem) return notReady(`database: ${problem}`);
        if (draining) return notReady('draining: the gateway is shutting down');
        return c.json({ status: 'ready', queued_spans: batcher.depth });
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
    onRequest: (code, seconds) => metrics.request('grpc', code, seconds),
  });
  const grpcPort = await bindGrpc(grpcServer, cfg.grpcHost, cfg.grpcPort);
  // today's and the next days' partitions exist before their first spans arrive (now, then hourly)
  const partitionsAhead = startPeriodic(3_600_000, async () => {
    const client = await pool.connect();
    try { await sink.partitions.prepareAhead(client); } finally { client.release(); }
  }, (e) => log.warn('creating the partitions of the days ahead failed', { error: (e as Error)?.message ?? String(e) }), { immediate: true });
  // the analysts' daily usage rollup (sql/004_analyst_views.sql): the last 3 UTC days, periodically
  const rollup = cfg.rollupRefreshSeconds > 0
    ? startDailyUsageRefresher(pool, cfg.rollupRefreshSeconds * 1000, log)
    : null;

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      // Stop taking new requests (not ready any more), commit everything already accepted, then close.
      draining = true;
      const rollupStopped = rollup?.stop();
      const partitionsStopped = partitionsAhead.stop();
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
      await rollupStopped;
      await partitionsStopped;
      await pool.end();
      if (embedded) await embedded.stop();
    })());

  return {
    httpUrl: `http://${cfg.httpHost}:${httpPort}`,
    grpcAddress: `${cfg.grpcHost}:${grpcPort}`,
    databaseUrl,
    pool,
    pipeline,
    batcher,
    metrics,
    auth,
    stop,
  };
}
