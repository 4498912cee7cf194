/**
 * Database failures while log records are written (found by test/fuzz-signals under load: a deadlock, 40P01,
 * was answered HTTP 500, which OTLP exporters do not retry). A statement trigger on runledger.logs raises
 * a chosen SQLSTATE the next N times: deadlocks are retried and the records stored; a failure that lasts,
 * or any other database error, is answered 503 / UNAVAILABLE with Retry-After, never 500 / INTERNAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { chatEvents, logsProto } from './helpers/logs.js';
import { LOGS_EXPORT_PATH } from '../src/receiver/grpc.js';

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ retryAfterSeconds: 3 });
  await gw.db.pool.query(`
    -- the count lives in a sequence: nextval survives the rollback of the failed write
    CREATE SEQUENCE public.logs_fault_seq;
    CREATE TABLE public.logs_fault (code text NOT NULL, upto bigint NOT NULL);
    CREATE FUNCTION public.logs_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE c text;
    BEGIN
      SELECT code INTO c FROM public.logs_fault WHERE nextval('public.logs_fault_seq') <= upto;
      IF c IS NOT NULL THEN RAISE EXCEPTION 'injected %', c USING ERRCODE = c; END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER logs_fault BEFORE INSERT ON runledger.logs FOR EACH STATEMENT EXECUTE FUNCTION public.logs_fault();`);
});
afterAll(async () => {
  await gw?.db.pool.query('DROP TRIGGER IF EXISTS logs_fault ON runledger.logs; DROP FUNCTION IF EXISTS public.logs_fault(); DROP TABLE IF EXISTS public.logs_fault; DROP SEQUENCE IF EXISTS public.logs_fault_seq').catch(() => {});
  await gw?.close();
});

async function inject(code: string, times: number): Promise<void> {
  await gw.db.pool.query('DELETE FROM public.logs_fault');
  await gw.db.pool.query(`INSERT INTO public.logs_fault VALUES ($1, nextval('public.logs_fault_seq') + $2)`, [code, times]);
}

async function postLogs(traceId: string): Promise<Response> {
  return fetch(`${gw.httpUrl}/v1/logs`, {
    method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto(chatEvents(traceId, hex(8), T0)),
  });
}

const stored = async (traceId: string) => (await gw.db.pool.query(
  `SELECT count(*)::int AS n FROM runledger.logs WHERE run_id = $1::uuid`, [traceId])).rows[0].n as number;

describe('a logs write that meets a database failure', () => {
  it('retries a deadlock and stores the records', async () => {
    const t = hex(16);
    await inject('40P01', 2);
    const res = await postLogs(t);
    expect(res.status).toBe(200);
    expect(await stored(t)).toBeGreaterThan(0);
  });

  it.each([['40P01', 'a deadlock that lasts'], ['57014', 'a cancelled statement'], ['42501', 'a revoked privilege']])(
    'answers %s (%s) 503 with Retry-After over HTTP and UNAVAILABLE over gRPC; nothing stored', async (code) => {
      const t = hex(16);
      await inject(code, 1000);
      const res = await postLogs(t);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('3');
      const client = new grpc.Client(gw.grpcAddress, grpc.credentials.createInsecure());
      try {
        const status = await new Promise<number>((resolve) => client.makeUnaryRequest(LOGS_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b,
          Buffer.from(logsProto(chatEvents(t, hex(8), T0))), { deadline: Date.now() + 20_000 }, (err) => resolve(err?.code ?? grpc.status.OK)));
        expect(grpc.status[status]).toBe('UNAVAILABLE');
      } finally {
        client.close();
      }
      expect(await stored(t)).toBe(0);
      await inject(code, 0);
      expect((await postLogs(t)).status).toBe(200); // the client's retry, once the fault is gone
      expect(await stored(t)).toBeGreaterThan(0);
    });
});

describe('a logs write that fails after its records are inserted', () => {
  it('answers 503 with Retry-After and commits nothing: no records, no pending content, no run row', async () => {
    await gw.db.pool.query(`
      CREATE FUNCTION public.pending_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected after the records' USING ERRCODE = '53100'; END $$;
      CREATE TRIGGER pending_fault AFTER INSERT ON runledger.pending_content FOR EACH STATEMENT EXECUTE FUNCTION public.pending_fault();`);
    const t = hex(16);
    try {
      const res = await postLogs(t);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(await stored(t)).toBe(0);
      const q = async (sql: string) => (await gw.db.pool.query(sql, [t])).rows[0].n as number;
      expect(await q(`SELECT count(*)::int AS n FROM runledger.pending_content WHERE run_id = $1::uuid`)).toBe(0);
      expect(await q(`SELECT count(*)::int AS n FROM runledger.runs WHERE run_id = $1::uuid`)).toBe(0);
    } finally {
      await gw.db.pool.query('DROP TRIGGER pending_fault ON runledger.pending_content; DROP FUNCTION public.pending_fault()');
    }
    expect((await postLogs(t)).status).toBe(200);
    expect(await stored(t)).toBe(3);
  });
});
