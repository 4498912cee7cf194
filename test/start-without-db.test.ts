/**
 * Start without the database: `runledger serve` with DATABASE_URL pointing at a PostgreSQL that is down
 * starts and listens, answers /healthz 200 and 503 + Retry-After (gRPC UNAVAILABLE) to exports, applies
 * the migrations as soon as PostgreSQL answers (retried in the background), then stores spans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { freePort } from '../src/db/embedded.js';
import { migrationFiles } from '../src/db/migrate.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { crashablePostgres, pgLog, spawnGateway, until, type CrashablePostgres, type GatewayProcess } from './helpers/faults.js';
import { decodeStatus, miniSpans, protoRequest, type MiniSpan } from './helpers/otlp.js';

const post = (url: string, spans: MiniSpan[]) =>
  fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans) });

function grpcExport(address: string, spans: MiniSpan[]): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(protoRequest(spans)), new grpc.Metadata(), (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

describe('PostgreSQL down while the gateway starts', () => {
  let server: CrashablePostgres | undefined;
  let gw: GatewayProcess | undefined;

  beforeAll(async () => {
    server = await crashablePostgres(await freePort()); // its `runledger` database exists, not migrated
    await server.crash(); // down before the gateway starts
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.destroy();
  });

  it('listens, answers /healthz 200 and 503 elsewhere, then migrates and serves once PostgreSQL is up', async () => {
    const pgs = server!;
    const grpcPort = await freePort();
    gw = await spawnGateway({
      DATABASE_URL: pgs.url, RUNLEDGER_MIGRATE: 'true', RUNLEDGER_HTTP_PORT: String(await freePort()),
      RUNLEDGER_GRPC_PORT: String(grpcPort), RUNLEDGER_RETRY_AFTER_SECONDS: '1', RUNLEDGER_LOG_LEVEL: 'warn',
    });
    try {
      expect(gw.alive()).toBe(true);
      const live = await fetch(`${gw.url}/healthz`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^starting: migrations not applied yet: .*ECONNREFUSED/) });
      const early = miniSpans(3);
      const res = await post(gw.url, early);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(decodeStatus(new Uint8Array(await res.arrayBuffer())).message).toMatch(/^database not ready: migrations not applied yet/);
      const err = await grpcExport(`127.0.0.1:${grpcPort}`, early);
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(decodeStatus(err?.metadata.get('grpc-status-details-bin')[0] as Buffer).details[0]?.typeUrl)
        .toBe('type.googleapis.com/google.rpc.RetryInfo');
      await new Promise((r) => setTimeout(r, 1500)); // a few retries against the dead server
      expect(gw.alive()).toBe(true);

      await pgs.start();
      await until(async () => (await post(gw!.url, early)).status === 200, 20_000, 'a 200 once PostgreSQL is up');
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
      expect(await grpcExport(`127.0.0.1:${grpcPort}`, miniSpans(2))).toBeNull();

      const c = new pg.Client({ connectionString: pgs.url });
      await c.connect();
      try {
        const applied = await c.query('SELECT version FROM runledger.schema_migrations ORDER BY version');
        expect(applied.rows.map((r) => r.version)).toEqual(migrationFiles().map((m) => m.version));
        const n = await c.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [early[0]!.traceId]);
        expect(n.rows[0].n).toBe(3);
      } finally {
        await c.end();
      }
      expect(gw.errorLines).toEqual([]);
    } catch (e) {
      console.error(`gateway log:\n${gw.logTail()}\npostgres log:\n${pgLog(pgs).slice(-3000)}`);
      throw e;
    }
  });
});
