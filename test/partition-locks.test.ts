/**
 * Creating a day's partition beside an analyst's query on the default partition (sink/partitions.ts): the DDL's
 * wait for the default partition's lock must stay within the writers' own bounds. Writers queued behind its
 * request (spans of days without a partition go to the default partition) give up after RUNLEDGER_DB_LOCK_TIMEOUT_MS,
 * and the DDL itself runs under RUNLEDGER_DB_STATEMENT_TIMEOUT_MS: a lower setting made both answer 503.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';

const DAY_MS = 86_400_000;
let gw: TestGateway | null = null;
let analyst: pg.Client | null = null;
afterEach(async () => {
  await analyst?.query('ROLLBACK').catch(() => {});
  await analyst?.end();
  analyst = null;
  await gw?.close();
  gw = null;
});

const post = (g: TestGateway, daysAgo: number) => {
  const t0 = BigInt(Date.now() - daysAgo * DAY_MS) * 1_000_000n;
  return fetch(`${g.httpUrl}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: [
      { traceId: hex(16), spanId: hex(8), name: 'agent', kind: 1, startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 1_000_000n) }] }] }] }),
  });
};

/** An analyst's open transaction that read the default partition (as any query of spans not bounded in time does). */
async function analystReadsDefault(g: TestGateway): Promise<void> {
  analyst = new pg.Client({ connectionString: g.db.url });
  await analyst.connect();
  await analyst.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await analyst.query('SELECT count(*) FROM runledger.spans_default');
}

async function ddlWaiting(g: TestGateway): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const w = await g.db.pool.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE NOT l.granted AND c.relname = 'spans_default' AND l.mode = 'AccessExclusiveLock'`);
    if (w.rowCount) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the partition DDL never waited');
}

describe('a day\'s partition needed while an analyst\'s transaction holds the default partition', () => {
  it('writers of the default partition queued behind the DDL still commit within RUNLEDGER_DB_LOCK_TIMEOUT_MS', async () => {
    gw = await startTestGateway({ dbLockTimeoutMs: 600 });
    await analystReadsDefault(gw);
    const needsDay = post(gw, 10); // a day within the back-fill window without its partition: the DDL waits
    await ddlWaiting(gw);
    const old = await post(gw, 60); // beyond the window: straight into the default partition, behind the DDL's request
    expect(old.status).toBe(200);
    expect((await needsDay).status).toBe(200);
  });

  it('a statement timeout below the DDL\'s lock wait defers the day instead of failing the request', async () => {
    gw = await startTestGateway({ dbStatementTimeoutMs: 1000 });
    await analystReadsDefault(gw);
    const res = await post(gw, 10);
    expect(res.status).toBe(200); // in the default partition for now
    const again = await post(gw, 10); // the day is deferred: no second wait
    expect(again.status).toBe(200);
    await analyst!.query('ROLLBACK');
    const n = await gw.db.pool.query('SELECT count(*)::int AS n FROM runledger.spans_default');
    expect(n.rows[0].n).toBe(2);
  });
});
