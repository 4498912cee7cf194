/** Configuration from the environment: database timeouts and the write stall limit. */
import { describe, expect, it } from 'vitest';
import { configFromEnv, ConfigError, defaults } from './config.js';

describe('database timeouts and the write stall limit', () => {
  it('default to 2 s lock / 30 s statement timeouts and a 15 s stall limit, and come from the environment', () => {
    expect([defaults.dbLockTimeoutMs, defaults.dbStatementTimeoutMs, defaults.readyWriteStallMs]).toEqual([2000, 30_000, 15_000]);
    const c = configFromEnv({
      RUNLEDGER_DB_LOCK_TIMEOUT_MS: '500', RUNLEDGER_DB_STATEMENT_TIMEOUT_MS: '10000', RUNLEDGER_READY_WRITE_STALL_MS: '60000',
    });
    expect([c.dbLockTimeoutMs, c.dbStatementTimeoutMs, c.readyWriteStallMs]).toEqual([500, 10_000, 60_000]);
  });

  it('refuses 0 (no limit), negative, fractional and absurd values', () => {
    for (const [key, value] of [
      ['RUNLEDGER_DB_LOCK_TIMEOUT_MS', '0'], ['RUNLEDGER_DB_STATEMENT_TIMEOUT_MS', '-1'], ['RUNLEDGER_READY_WRITE_STALL_MS', '1.5'],
      ['RUNLEDGER_DB_STATEMENT_TIMEOUT_MS', '86400001'], ['RUNLEDGER_DB_LOCK_TIMEOUT_MS', '2s'],
    ] as const) {
      expect(() => configFromEnv({ [key]: value }), `${key}=${value}`).toThrow(ConfigError);
    }
  });
});
