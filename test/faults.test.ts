/**
 * No loss under faults: the gateway runs as its own process (`runledger serve`) under load from
 * concurrent OTLP/HTTP clients that retry like exporters, while
 *   a. its PostgreSQL is crashed (`pg_ctl stop -m immediate`) and started again, and
 *   b. the gateway itself is SIGKILLed and started again.
 * Every 200-acknowledged span must be in the ledger exactly once, with rollups that count retried
 * spans once; during the outage the gateway answers 503 + Retry-After and recovers by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { encodedRequest } from '../bench/genai-spans.js';
import { freshIds, spanKeys, startLoad, type Attempt, type LoadBody } from './helpers/load.js';
import {
  checkLedger, crashablePostgres, ledgerSummary, pgLog, spawnGateway, until,
  type CrashablePostgres, type GatewayProcess,
} from './helpers/faults.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { miniSpans, protoRequest } from './helpers/otlp.js';

const RETRY_AFTER_S = 1;

async function post(url: string, body: Uint8Array): Promise<Response> {
  return fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
}

describe('PostgreSQL crashes mid-load and comes back', () => {
  let server: CrashablePostgres | undefined;
  let gw: GatewayProcess | undefined;

  beforeAll(async () => {
    server = await crashablePostgres(await freePort());
    await migrate(server.url);
  });
  afterAll(async () => {
    await gw?.stop();
    await server?.destroy();
  });

  it('keeps the gateway up, answers 503 + Retry-After while down, recovers alone, loses no acknowledged span', async () => {
    const pg = server!;
    gw = await spawnGateway({
      DATABASE_URL: pg.url, RUNLEDGER_HTTP_PORT: String(await freePort()),
      RUNLEDGER_RETRY_AFTER_SECONDS: String(RETRY_AFTER_S), RUNLEDGER_LOG_LEVEL: 'error',
    });
    const attempts: Attempt[] = [];
    const load = startLoad({
      url: gw.url, clients: 8, next: freshIds(encodedRequest(4)), // 32 spans (4 agent runs) per request
      maxRequests: 50_000, deadlineMs: 45_000, maxRetryDelayMs: 1000, connErrorDelayMs: 100,
      onAttempt: (a) => attempts.push(a),
    });
    const up = () => { if (!gw!.alive()) throw new Error(`the gateway exited:\n${gw!.logTail()}`); return true; };
    try {
      await until(() => up() && load.stats.acked >= 40, 15_000, '40 acknowledged requests before the crash');

      const crashAt = load.now();
      await pg.crash();
      const downAt = load.now();
      // While PostgreSQL is down: the process stays up, the clients get 503 with Retry-After.
      await until(() => up() && attempts.filter((a) => a.t > downAt && a.outcome === 'unavailable').length >= 8, 15_000,
        '503 answers while PostgreSQL is down');
      const probe = await post(gw.url, protoRequest(miniSpans(3)));
      expect(probe.status).toBe(503);
      expect(probe.headers.get('retry-after')).toBe(String(RETRY_AFTER_S));
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      await new Promise((r) => setTimeout(r, 1500)); // stay down a while: pool errors, retries, idle clients dying
      expect(gw.alive()).toBe(true);
      const acksWhileDown = attempts.filter((a) => a.t > downAt && a.outcome === 'ok').length;

      // Back up (crash recovery on the same data directory and port); the gateway is not restarted.
      const restartAt = load.now();
      await pg.start();
      const upAt = load.now();
      await until(() => up() && attempts.some((a) => a.t >= upAt && a.outcome === 'ok'), 20_000, 'a 200 after PostgreSQL is back');
      const firstOk = attempts.find((a) => a.t >= upAt && a.outcome === 'ok')!;
      const recoveryMs = firstOk.t + firstOk.ms - upAt;
      const acksAtRecovery = load.stats.acked;
      await until(() => up() && load.stats.acked >= acksAtRecovery + 40, 15_000, '40 more acknowledged requests after recovery');
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

      const result = await load.stop();
      expect(gw.alive()).toBe(true);

      // Every acknowledged span is stored exactly once; rollups count each stored span once.
      const check = await checkLedger(pg.url, spanKeys(result.acked));
      const s = result.stats;
      const slowest = Math.max(...attempts.map((a) => a.ms));
      console.log(`[faults:pg-crash] ${result.requests.length} requests (${result.acked.length} acknowledged, ${check.acked} spans), `
        + `attempts ${s.attempts}: ok ${s.byOutcome.ok}, 503 ${s.byOutcome.unavailable}, 429 ${s.byOutcome.queue_full}, `
        + `conn errors ${s.byOutcome.conn_error}; crash took ${(downAt - crashAt).toFixed(0)} ms, down ${(restartAt - downAt).toFixed(0)} ms, `
        + `restart ${(upAt - restartAt).toFixed(0)} ms, first 200 ${recoveryMs.toFixed(0)} ms after PostgreSQL was up; `
        + `${acksWhileDown} acks while down; slowest answer ${slowest.toFixed(0)} ms; ledger ${check.stored} spans`);
      expect(check.missingSample).toEqual([]);
      expect(check.missing).toBe(0);
      expect(check.duplicates).toBe(0);
      expect(check.tracesWithoutRun).toBe(0);
      expect(check.wrongSpanCount).toBe(0);
      expect(check.wrongNodeCount).toBe(0);
      expect(check.wrongTokens).toBe(0);
      expect(check.acked).toBeGreaterThan(80 * 32 - 1);
      expect(result.acked.every((r) => r.rejected === 0)).toBe(true);
      // The outage was seen as 503s, each with Retry-After; nothing else went wrong on the wire.
      expect(s.byOutcome.unavailable).toBeGreaterThan(0);
      expect(s.missingRetryAfter).toBe(0);
      expect(s.otherStatuses).toEqual({});
      expect(s.byOutcome.conn_error + s.byOutcome.timeout).toBe(0);
      expect(recoveryMs).toBeLessThan(10_000);
      expect(slowest).toBeLessThan(10_000); // no request hangs on the dead database
      expect(gw.errorLines.filter((l) => !l.startsWith('{'))).toEqual([]); // no crash traces on stderr
    } catch (e) {
      await load.stop();
      console.error(`gateway log:\n${gw.logTail()}\npostgres log:\n${pgLog(pg).slice(-3000)}`);
      throw e;
    }
  });
});

describe('the gateway is SIGKILLed mid-load and started again', () => {
  let db: TestDb | undefined;
  let clean: TestDb | undefined;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    [db, clean] = await Promise.all([createTestDb('kill'), createTestDb('killref')]);
  });
  afterAll(async () => {
    for (const g of gateways) if (g.alive()) g.child.kill('SIGKILL');
    await db?.drop();
    await clean?.drop();
  });

  it('keeps every span acknowledged before the kill; after re-sending, the ledger equals a clean delivery', async () => {
    const port = String(await freePort());
    const env = { DATABASE_URL: db!.url, RUNLEDGER_HTTP_PORT: port, RUNLEDGER_RETRY_AFTER_SECONDS: String(RETRY_AFTER_S), RUNLEDGER_LOG_LEVEL: 'error' };
    const first = await spawnGateway(env);
    gateways.push(first);
    // Remember every body sent, to replay exactly the same requests into a clean ledger afterwards.
    const fresh = freshIds(encodedRequest(4)); // 32 spans (4 agent runs) per request
    const bodies: LoadBody[] = [];
    const next = () => { const b = fresh(); bodies.push(b); return b; };
    const REQUESTS = 600;
    const load = startLoad({
      url: first.url, clients: 8, next, maxRequests: REQUESTS, deadlineMs: 45_000, maxRetryDelayMs: 1000, connErrorDelayMs: 100,
    });
    try {
      await until(() => load.stats.acked >= 100, 15_000, '100 acknowledged requests before the kill');
      first.child.kill('SIGKILL');
      const ackedBeforeKill = load.requests.filter((r) => r.ackedAt !== null).map((r) => r.spans);
      const unackedAtKill = load.requests.filter((r) => r.ackedAt === null).map((r) => r.index);
      const exit = await first.exited;
      expect(exit.signal).toBe('SIGKILL');
      const inFlightAtKill = unackedAtKill.length;
      expect(ackedBeforeKill.length).toBeLessThan(REQUESTS); // killed mid-load
      expect(inFlightAtKill).toBeGreaterThan(0);

      // Acknowledged means committed: with the gateway dead, every span it acknowledged is stored.
      const afterKill = await checkLedger(db!.url, ackedBeforeKill.flat());
      expect(afterKill.missingSample).toEqual([]);
      expect(afterKill.missing).toBe(0);
      expect(afterKill.wrongSpanCount).toBe(0);
      // (some of the unacknowledged requests may have been committed just before the kill: allowed, and re-sent below)
      const unackedCheck = await checkLedger(db!.url, unackedAtKill.flatMap((i) => load.requests[i]!.spans));
      const committedUnacked = unackedCheck.acked - unackedCheck.missing;

      // The clients keep retrying (connection refused) while it is down.
      await until(() => load.stats.byOutcome.conn_error >= 8, 10_000, 'connection errors while the gateway is down');
      const second = await spawnGateway(env);
      gateways.push(second);
      const result = await load.done; // every request retried until acknowledged (or the deadline)
      expect(result.unacked.map((r) => r.index)).toEqual([]);
      expect(result.requests.length).toBe(REQUESTS);
      expect(result.acked.every((r) => r.rejected === 0)).toBe(true);
      expect(result.stats.otherStatuses).toEqual({});
      expect(second.alive()).toBe(true);

      // Re-send, once more, every request that was not acknowledged at the kill (they may have been committed
      // before the kill, then retried): a client cannot know, the ledger must not care.
      const redo = unackedAtKill.map((i) => bodies[i]!);
      let j = 0;
      const resent = startLoad({ url: second.url, clients: 4, maxRequests: redo.length, deadlineMs: 20_000, next: () => redo[j++]! });
      expect((await resent.done).unacked).toEqual([]);

      const check = await checkLedger(db!.url, spanKeys(result.acked));
      expect(check.missing).toBe(0);
      expect(check.stored).toBe(REQUESTS * 32);
      expect(check.duplicates).toBe(0);
      expect(check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens + check.tracesWithoutRun).toBe(0);

      // A clean delivery of the very same requests (each sent once, to a gateway that is never killed).
      const ref = await spawnGateway({ ...env, DATABASE_URL: clean!.url, RUNLEDGER_HTTP_PORT: String(await freePort()) });
      gateways.push(ref);
      let k = 0;
      const refLoad = await startLoad({ url: ref.url, clients: 4, maxRequests: bodies.length, deadlineMs: 30_000, next: () => bodies[k++]! }).done;
      expect(refLoad.unacked).toEqual([]);
      expect(refLoad.stats.attempts).toBe(bodies.length);
      const [got, want] = await Promise.all([ledgerSummary(db!.url), ledgerSummary(clean!.url)]);
      expect(want.totals.spans).toBe(REQUESTS * 32);
      expect(got.totals).toEqual(want.totals);
      expect(got.runs).toEqual(want.runs);
      console.log(`[faults:gateway-kill] ${REQUESTS} requests × 32 spans; ${ackedBeforeKill.length} acknowledged before the SIGKILL, `
        + `${inFlightAtKill} started but unacknowledged at the kill (${committedUnacked / 32} of them committed); attempts ${result.stats.attempts} `
        + `(conn errors ${result.stats.byOutcome.conn_error}); ledger ${JSON.stringify(got.totals)} equals the clean delivery`);
      await Promise.all([second.stop(), ref.stop()]);
    } finally {
      await load.stop();
    }
  });
});
