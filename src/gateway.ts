/**
 * Assembles the gateway, and only that: database, ingest path (ingest.ts), HTTP and gRPC receivers, the
 * operator routes (receiver/ops.ts); drains on stop. It listens before the database is known to work:
 * migrations and API keys load in the background (startup.ts).
 */
import type pg from 'pg';
import { serve } from '@hono/node-server';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Context } from 'hono';
import { ConfigError, type Config } from './config.js';
import type { EmbeddedDb } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import type { Logger } from './log.js';
import { createPool } from './sink/index.js';
import type { Batcher } from './sink/batcher.js';
import { createIngest } from './ingest.js';
import type { Pipeline } from './pipeline.js';
import { createHttpApp } from './receiver/http.js';
import { bindGrpc, createGrpcServer } from './receiver/grpc.js';
import { mountOps } from './receiver/ops.js';
import { ApiKeyAuth, metadataReader } from './auth.js';
import { Metrics } from './metrics.js';
import { pingDatabase, readiness, type Readiness } from './health.js';
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

export async function startGateway(cfg: Config, log: Logger): Promise<Gateway> {
  let embedded: EmbeddedDb | null = null;
  let databaseUrl = cfg.databaseUrl;
  if (!databaseUrl) {
    const { startEmbedded, runningEmbeddedUrl } = await import('./db/embedded.js'); // only when used: it hooks process signals
    // A server already running on the data directory (a maintenance command's, or one a killed gateway left:
    // starting another failed on its postmaster.pid) is used, as the maintenance commands do, and left running.
    const running = runningEmbeddedUrl(cfg.dataDir);
    if (running) log.warn('using the embedded PostgreSQL already running on the data directory; it is left running at exit', { dataDir: cfg.dataDir });
    else embedded = await startEmbedded({ dataDir: cfg.dataDir, port: cfg.embeddedPgPort || undefined, log: (l) => log.debug(l), ownProcessGroup: true });
    databaseUrl = running ?? embedded!.url;
  }
  const url = databaseUrl;
  let poolEnded = false;
  const pool = createPool(url, cfg, log, () => poolEnded);
  /** Last, once nothing uses them: the pool, then the embedded server this gateway started. */
  const closeDatabase = async () => {
    poolEnded = true;
    await pool.end();
    await embedded?.stop();
  };
  const metrics = new Metrics({ defaultMetrics: true });
  const sink = createIngest(cfg, pool, log, cfg.prepareWorkers, metrics);
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
  // /metrics answers without a key: with several tenants it names none of their models (metrics.ts)
  metrics.namesModels = () => !auth.enabled;
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
    extra: (a) => mountOps(a, { ready, metrics }),
  });

  // A port already taken (a local OpenTelemetry Collector holds 4317/4318) ends the start with what to change,
  // after stopping what was started (the embedded PostgreSQL above all: left running, it blocked the next start).
  // A host that does not resolve or is no address of this machine is the host variable's to change, not the port's.
  const abandon = async (e: unknown, what: string, host: string, port: number, variables: { host: string; port: string }): Promise<never> => {
    draining = true;
    await Promise.allSettled([schema.stop(), maintenance?.stop(), sink.close(), auth.close()]);
    await closeDatabase().catch(() => {});
    const code = (e as NodeJS.ErrnoException)?.code ?? '';
    const message = String((e as Error)?.message ?? e);
    const inUse = code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(message);
    const why = inUse ? 'the address is already in use (another OpenTelemetry Collector or gateway?)' : message;
    const badHost = !inUse && (['ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code) || /ENOTFOUND|EAI_AGAIN|EADDRNOTAVAIL/.test(message));
    const fix = badHost ? `set ${variables.host} to an address of this machine (127.0.0.1, 0.0.0.0, ...)` : `set ${variables.port} to another port`;
    throw new ConfigError(`cannot listen for ${what} on ${host}:${port}: ${why}; ${fix}`);
  };
  const http = await new Promise<HttpServer>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: cfg.httpHost, port: cfg.httpPort }, () => resolve(s as HttpServer));
    s.once('error', reject);
  }).catch((e) => abandon(e, 'OTLP/HTTP', cfg.httpHost, cfg.httpPort, { host: 'RUNLEDGER_HTTP_HOST', port: 'RUNLEDGER_HTTP_PORT' }));
  http.keepAliveTimeout = cfg.httpKeepAliveSeconds * 1000;
  const httpPort = (http.address() as AddressInfo).port;

  const grpcServer = createGrpcServer({
    ...body, pipeline, maxBodyBytes: cfg.maxBodyBytes, tenant, onError,
    onRequest: (code, seconds, signal) => metrics.request('grpc', signal, code, seconds),
  });
  const grpcPort = await bindGrpc(grpcServer, cfg.grpcHost, cfg.grpcPort).catch(async (e) => {
    await new Promise<void>((r) => http.close(() => r()));
    return abandon(e, 'OTLP/gRPC', cfg.grpcHost, cfg.grpcPort, { host: 'RUNLEDGER_GRPC_HOST', port: 'RUNLEDGER_GRPC_PORT' });
  });

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
      await closeDatabase();
    })());

  return {
    httpUrl: `http://${hostPort(cfg.httpHost, httpPort)}`,
    grpcAddress: hostPort(cfg.grpcHost, grpcPort),
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

/** host:port as URLs and gRPC targets write it: an IPv6 address in brackets (`http://::1:4318` is no URL). */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}
