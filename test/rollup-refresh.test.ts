/**
 * The gateway's periodic refresh of the daily usage rollup (RUNLEDGER_ROLLUP_REFRESH_SECONDS): analysts'
 * daily_usage fills without a manual refresh, stops with the gateway, and is off with 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv, defaults } from '../src/config.js';
import { silentLogger, type Logger } from '../src/log.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { startTestGateway } from './helpers/gateway.js';
import { A1, A2, A3, ACME_USAGE, B1, GLOBEX_USAGE, rowsAs, writeTraces } from './helpers/analyst-ledger.js';

const USAGE = `SELECT day::text, tenant_id, pipeline, provider, model, runs, calls, llm_calls, embedding_calls, failed_calls, counted_calls,
  input_tokens, output_tokens, total_tokens, total_cost, unpriced_calls FROM runledger.daily_usage ORDER BY day, tenant_id, pipeline, model`;
const EXPECTED = [...ACME_USAGE.slice(0, 2), GLOBEX_USAGE[0], ...ACME_USAGE.slice(2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refreshedAt = async (db: TestDb) =>
  (await rowsAs(db, `SELECT refreshed_at FROM runledger.rollup_refreshes WHERE name = 'daily_usage'`))[0].refreshed_at.getTime() as number;

describe('RUNLEDGER_ROLLUP_REFRESH_SECONDS', () => {
  it('defaults to 300 s, 0 turns it off, anything else out of 0..86400 is refused', () => {
    expect(defaults.rollupRefreshSeconds).toBe(300);
    expect(configFromEnv({}).rollupRefreshSeconds).toBe(300);
    expect(configFromEnv({ RUNLEDGER_ROLLUP_REFRESH_SECONDS: '0' }).rollupRefreshSeconds).toBe(0);
    expect(configFromEnv({ RUNLEDGER_ROLLUP_REFRESH_SECONDS: '60' }).rollupRefreshSeconds).toBe(60);
    for (const bad of ['-1', '86401', '1.5', 'often']) {
      expect(() => configFromEnv({ RUNLEDGER_ROLLUP_REFRESH_SECONDS: bad }), bad).toThrow(/RUNLEDGER_ROLLUP_REFRESH_SECONDS|rollupRefreshSeconds/);
    }
    expect(() => configFromEnv({}, { rollupRefreshSeconds: Number.NaN })).toThrow(/rollupRefreshSeconds/);
  });
});

describe('the gateway refreshes the rollup', () => {
  let db: TestDb;
  beforeAll(async () => { db = await createTestDb('rollup_timer'); });
  afterAll(async () => { await db?.drop(); });

  it('fills daily_usage without a manual refresh, and stops with the gateway', async () => {
    const logged: string[] = [];
    const log: Logger = { ...silentLogger, debug: (m) => logged.push(m), warn: (m, f) => logged.push(`${m}: ${f?.error}`) };
    const gw = await startTestGateway({ rollupRefreshSeconds: 0.1 }, db, log);
    try {
      await writeTraces(db, [A1, A2, A3, B1]);
      let seen: unknown[] = [];
      for (let i = 0; i < 200; i++) {
        seen = await rowsAs(db, USAGE);
        if (seen.length === EXPECTED.length) break;
        await sleep(50);
      }
      expect(seen).toEqual(EXPECTED);
    } finally {
      await gw.close();
    }
    const refreshes = logged.filter((m) => m === 'daily usage rollup refreshed').length;
    expect(refreshes).toBeGreaterThan(0);
    expect(logged.filter((m) => m.startsWith('daily usage rollup refresh failed'))).toEqual([]);
    // no refresh after stop() (it would fail on the closed pool, and be logged)
    const last = await refreshedAt(db);
    await sleep(500);
    expect(await refreshedAt(db)).toBe(last);
    expect(logged.filter((m) => m.startsWith('daily usage rollup'))).toHaveLength(refreshes);
  });

  it('does not refresh with 0', async () => {
    const other = await createTestDb('rollup_timer_off');
    const gw = await startTestGateway({ rollupRefreshSeconds: 0 }, other);
    try {
      const before = await refreshedAt(other); // the migration's
      await writeTraces(other, [A1, B1]);
      await sleep(500);
      expect(await rowsAs(other, USAGE)).toEqual([]);
      expect(await refreshedAt(other)).toBe(before);
    } finally {
      await gw.close();
      await other.drop();
    }
  });
});
