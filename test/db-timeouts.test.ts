/**
 * Bounded waits on the database: the gateway's sessions carry their own lock_timeout and statement_timeout
 * (an operator's ALTER DATABASE ... SET statement_timeout does not break ingestion); a statement cancelled
 * or timed out (57014) and a lock not obtained in time (55P03) are answered 503 + Retry-After / UNAVAILABLE
 * + RetryInfo, with nothing acknowledged that is not stored; /readyz turns 503 while writes stall.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { decodeStatus, miniSpans, protoRequest, type MiniSpan } from './helpers/otlp.js';
import { until } from './helpers/faults.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { DayPartitions } from '../src/sink/partitions.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb('tmo');
  // The partitions of today and the days ahead exist before any gateway starts: its start-up creation of
  // them (DDL) would otherwise race this file's table locks (a deadlock, or another backend waiting).
  const c = await db.pool.connect();
  try { await new DayPartitions().createAhead(c); } finally { c.release(); }
});
afterAll(async () => { await db?.drop(); });

const post = (g: TestGateway, spans: MiniSpan[]) =>
  fetch(g.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans) });

function grpcExport(address: string, spans: MiniSpan[]): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(protoRequest(spans)), new grpc.Metadata(), (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

const stored = async (traceId: string) =>
  (await db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0].n as number;

/** Another session (an operator, a migration) holding `mode` on runledger.spans until release(). */
async function lockSpans(mode: 'SHARE' | 'ACCESS EXCLUSIVE'): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client({ connectionString: db.url, options: '-c statement_timeout=0' });
  c.on('error', () => {}); // ended by the database's drop at the end, if a test failed before releasing
  await c.connect();
  await c.query(`BEGIN; LOCK TABLE runledger.spans IN ${mode} MODE`);
  let done = false;
  return { async release() { if (done) return; done = true; await c.query('COMMIT'); await c.end(); } };
}

/** HTTP 503 + Retry-After and gRPC UNAVAILABLE + RetryInfo for `spans` (check they are not stored once the lock is gone). */
async function expectRetryable(g: TestGateway, spans: MiniSpan[], message: RegExp): Promise<void> {
  const res = await post(g, spans);
  const status = decodeStatus(new Uint8Array(await res.arrayBuffer()));
  expect(res.status, status.message).toBe(503);
  expect(res.headers.get('retry-after')).toBe('4');
  expect(status.message).toMatch(message);
  const err = await grpcExport(g.grpcAddress, spans);
  expect(err?.code, err?.details).toBe(grpc.status.UNAVAILABLE);
  expect(err?.details).toMatch(message);
  const details = decodeStatus(err?.metadata.get('grpc-status-details-bin')[0] as Buffer);
  expect(details.details[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
}

describe('session timeouts', () => {
  it("ingests although the database sets statement_timeout = '20ms' (ALTER DATABASE), through a 300 ms lock wait", async () => {
    const name = new URL(db.url).pathname.slice(1);
    await db.pool.query(`ALTER DATABASE "${name}" SET statement_timeout = '20ms'`);
    const g = await startTestGateway({ writers: 1 }, db); // connects after the ALTER: its sessions get the setting
    try {
      // The write has to wait for an operator's lock for longer than 20 ms: cancelled (500) without the override.
      const lock = await lockSpans('SHARE');
      const spans = miniSpans(2000);
      const sent = post(g, spans);
      await new Promise((r) => setTimeout(r, 300));
      await lock.release();
      const res = await sent;
      expect(res.status).toBe(200);
      expect(await stored(spans[0]!.traceId)).toBe(2000);
      expect((await post(g, miniSpans(3))).status).toBe(200);
      // the gateway's sessions run with its own settings (the defaults here), whatever the database's are
      const settings = await g.pool.query(`SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l`);
      expect(settings.rows[0]).toEqual({ s: '30s', l: '2s' });
    } finally {
      await g.stop();
      await db.pool.query(`ALTER DATABASE "${name}" RESET statement_timeout`);
    }
  });
});

describe('transient database failures are 503 / UNAVAILABLE with a retry delay', () => {
  it('a statement timing out (57014, statement_timeout) while an ACCESS EXCLUSIVE lock is held', async () => {
    const g = await startTestGateway({ dbStatementTimeoutMs: 300, dbLockTimeoutMs: 20_000, retryAfterSeconds: 4 }, db);
    const lock = await lockSpans('ACCESS EXCLUSIVE');
    try {
      const spans = miniSpans(3);
      await expectRetryable(g, spans, /statement timeout/);
      await lock.release();
      expect(await stored(spans[0]!.traceId)).toBe(0); // nothing acknowledged, nothing stored
      expect((await post(g, spans)).status).toBe(200); // the client's retry
      expect(await stored(spans[0]!.traceId)).toBe(3);
    } finally {
      await lock.release();
      await g.stop();
    }
  });

  it('a statement cancelled by an operator (57014, pg_cancel_backend)', async () => {
    const g = await startTestGateway({ retryAfterSeconds: 4, dbLockTimeoutMs: 20_000, writers: 1 }, db);
    const lock = await lockSpans('ACCESS EXCLUSIVE');
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const spans = miniSpans(2);
      const sent = post(g, spans);
      // the gateway's writer waits for the lock; the operator cancels its statement
      const waiting = `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'runledger' AND wait_event_type = 'Lock'`;
      await until(async () => (await admin.query(waiting)).rows.length > 0, 10_000, 'the writer waiting on the lock');
      await admin.query(`SELECT pg_cancel_backend(pid) FROM (${waiting}) w`);
      const res = await sent;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('4');
      expect(decodeStatus(new Uint8Array(await res.arrayBuffer())).message).toMatch(/canceling statement due to user request/);
      await lock.release();
      expect(await stored(spans[0]!.traceId)).toBe(0);
      expect((await post(g, spans)).status).toBe(200); // the writer's connection is still usable
      expect(await stored(spans[0]!.traceId)).toBe(2);
    } finally {
      await lock.release();
      await admin.end();
      await g.stop();
    }
  });

  it('a lock not obtained in time (55P03, lock_timeout) while an ACCESS EXCLUSIVE lock is held', async () => {
    const g = await startTestGateway({ dbLockTimeoutMs: 300, retryAfterSeconds: 4 }, db);
    const lock = await lockSpans('ACCESS EXCLUSIVE');
    try {
      const spans = miniSpans(4);
      await expectRetryable(g, spans, /lock timeout/);
      // other requests are answered the same way, within the lock timeout, not queued behind the lock
      const t0 = performance.now();
      expect((await post(g, miniSpans(1))).status).toBe(503);
      expect(performance.now() - t0).toBeLessThan(5000);
      await lock.release();
      expect(await stored(spans[0]!.traceId)).toBe(0);
      expect((await post(g, spans)).status).toBe(200);
      expect(await stored(spans[0]!.traceId)).toBe(4);
    } finally {
      await lock.release();
      await g.stop();
    }
  });
});

describe('/readyz while writes stall', () => {
  it('answers 503 with the reason while no write commits, 200 again once they do', async () => {
    const g = await startTestGateway({ readyWriteStallMs: 500, dbLockTimeoutMs: 20_000, writers: 1 }, db);
    const lock = await lockSpans('ACCESS EXCLUSIVE');
    try {
      const readyz = async () => {
        const r = await fetch(g.httpUrl + '/readyz');
        return { status: r.status, body: (await r.json()) as { status: string; reason?: string } };
      };
      expect((await readyz()).status).toBe(200); // SELECT 1 answers; nothing is being written
      const spans = miniSpans(5);
      const sent = post(g, spans);
      let last = await readyz();
      await until(async () => (last = await readyz()).status === 503, 10_000, '/readyz 503 while the write waits');
      expect(last.body).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^writes: none committed for \d+\.\d s \(5 spans pending\); a write is still waiting$/) });
      expect((await fetch(g.httpUrl + '/healthz')).status).toBe(200);
      await lock.release();
      expect((await sent).status).toBe(200);
      expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', queued_spans: 0 } });
    } finally {
      await lock.release();
      await g.stop();
    }
  });
});
