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
import { writeBatch } from './sink/writer.js';
import { classifyPgError } from './sink/pg-errors.js';
import { Pipeline } from './pipeline.js';
import { createHttpApp } from './receiver/http.js';
import { bindGrpc, createGrpcServer } from './receiver/grpc.js';
import type { Logger } from './log.js';
import type { PreparedSpan } from './sink/prepare.js';
import { PreparePool } from './worker/pool.js';

export interface Gateway {
  httpUrl: string;
  grpcAddress: string;
  databaseUrl: string;
  pool: pg.Pool;
  pipeline: Pipeline;
  batcher: Batcher;
  stop(): Promise<void>;
}

export interface Sink {
  batcher: Batcher;
  pipeline: Pipeline;
  /** stop the prepare workers (after the batcher drained) */
  close(): Promise<void>;
}

/**
 * The write side (pool + batcher + pipeline), usable without any receiver (in-process exporter).
 * `workers` overrides cfg.prepareWorkers (the in-process exporter prepares on the calling thread).
 */
export function createSink(cfg: Config, pool: pg.Pool, log: Logger, workers = cfg.prepareWorkers): Sink {
  const write = async (items: PreparedSpan[]) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await writeBatch(client, items);
    } catch (e) {
      if (classifyPgError(e) === 'unavailable') broken = e as Error;
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
    ? new PreparePool(workers, { maxContentChars: cfg.maxContentChars, captureContent: cfg.captureContent, pricesFile: cfg.pricesFile },
      (e) => log.error('prepare worker crashed; restarted', { error: String(e) }))
    : null;
  return { batcher, pipeline: new Pipeline(mapper, batcher, prepare), close: async () => { await prepare?.close(); } };
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
  if (cfg.migrate) {
    const applied = await migrate(databaseUrl);
    if (applied.length) log.info('migrations applied', { applied });
  }
  const pool = createPool(databaseUrl, cfg, log);
  const sink = createSink(cfg, pool, log);
  const { batcher, pipeline } = sink;
  const onError = (e: unknown) => log.error('request failed', { error: (e as Error)?.stack ?? String(e) });
  const tenant = () => cfg.defaultTenant;

  const app = createHttpApp({
    pipeline,
    maxBodyBytes: cfg.maxBodyBytes,
    tenant,
    onError,
    extra: (a) => {
      a.get('/healthz', (c) => c.json({ status: 'ok' }));
      a.get('/readyz', async (c) => {
        try {
          await pool.query('SELECT 1');
          return c.json({ status: 'ready', queued_spans: batcher.depth });
        } catch (e) {
          return c.json({ status: 'unavailable', error: (e as Error).message }, 503);
        }
      });
    },
  });
  const http = await new Promise<HttpServer>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: cfg.httpHost, port: cfg.httpPort }, () => resolve(s as HttpServer));
  });
  const httpPort = (http.address() as AddressInfo).port;

  const grpcServer: grpc.Server = createGrpcServer({ pipeline, maxBodyBytes: cfg.maxBodyBytes, tenant, onError });
  const grpcPort = await bindGrpc(grpcServer, cfg.grpcHost, cfg.grpcPort);

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      // Stop taking new requests, commit everything already accepted, then close.
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
    stop,
  };
}
