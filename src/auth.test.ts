/**
 * ApiKeyAuth against a stand-in pool that counts its reads of runledger.api_keys: a flood of unknown keys
 * brings reads forward at most once a second (test/tenancy.test.ts has the answers against PostgreSQL).
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ApiKeyAuth, UNKNOWN_KEY_RELOAD_MS } from './auth.js';

const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const log = { debug() {}, info() {}, warn() {}, error() {} } as never;

function standIn(rows: { key_sha256: string; tenant_id: string; revoked_in_ms: number | null }[]) {
  const state = { reads: 0 };
  const client = {
    query: async (q: string) => {
      if (q === 'ROLLBACK') return undefined;
      state.reads++;
      await new Promise((r) => setTimeout(r, 5));
      return [{}, {}, {}, { rows: rows.slice() }, {}];
    },
    release() {},
  };
  return { pool: { connect: async () => client } as unknown as pg.Pool, state };
}

describe('API keys not known yet', () => {
  it('a flood of unknown keys reads the table at most once per UNKNOWN_KEY_RELOAD_MS', async () => {
    const { pool, state } = standIn([{ key_sha256: sha('good'), tenant_id: 'a', revoked_in_ms: null }]);
    const auth = new ApiKeyAuth({ apiKeys: {}, defaultTenant: 'd', refreshSeconds: 3600, retryAfterSeconds: 1, pool, log });
    await auth.start();
    state.reads = 0;
    let i = 0;
    const ask = (key: string) => { try { return auth.tenantOf((h) => (h === 'x-api-key' ? key : undefined)); } catch { return 503; } };
    const flood = setInterval(() => { for (let k = 0; k < 50; k++) ask(`unknown-${i++}`); }, 2);
    const window = 2.2 * UNKNOWN_KEY_RELOAD_MS;
    await new Promise((r) => setTimeout(r, window));
    clearInterval(flood);
    await auth.close();
    expect(ask('good')).toBe('a');
    // reads begin ~1 s apart (before: a timer set while a read was under way fired right after it: twice as many)
    expect(state.reads).toBeLessThanOrEqual(Math.ceil(window / UNKNOWN_KEY_RELOAD_MS));
    expect(state.reads).toBeGreaterThanOrEqual(1); // the flood did bring a read forward
  });
});
