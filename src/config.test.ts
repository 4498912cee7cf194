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

describe('configuration errors name the variable to change', () => {
  it('names the RUNLEDGER_* variable and the value given, not the internal field alone', () => {
    for (const [key, value] of [
      ['RUNLEDGER_HTTP_PORT', '-1'], ['RUNLEDGER_GRPC_PORT', '70000'], ['RUNLEDGER_EMBEDDED_PG_PORT', '-5'],
      ['RUNLEDGER_WRITERS', '0'], ['RUNLEDGER_MAX_BODY_BYTES', '-1'], ['RUNLEDGER_QUEUE_MAX_SPANS', '0'],
      ['RUNLEDGER_BATCH_MAX_SPANS', '0'], ['RUNLEDGER_RETRY_AFTER_SECONDS', '-2'], ['RUNLEDGER_MAX_CONTENT_CHARS', '0'],
      ['RUNLEDGER_PREPARE_WORKERS', '-1'], ['RUNLEDGER_RUN_LOCK_WAIT_MS', '-1'], ['RUNLEDGER_ADMISSION_SHARE_PERCENT', '0'],
      ['RUNLEDGER_BODY_GRACE_SECONDS', '0'], ['RUNLEDGER_HTTP_KEEP_ALIVE_SECONDS', '0'],
      ['RUNLEDGER_BODY_MIN_BYTES_PER_SECOND', '-1'], ['RUNLEDGER_API_KEYS_REFRESH_SECONDS', '0'],
      ['RUNLEDGER_PARTITION_BACKFILL_DAYS', '-1'], ['RUNLEDGER_ROLLUP_REFRESH_SECONDS', '-5'],
      ['RUNLEDGER_DB_LOCK_TIMEOUT_MS', '0'], ['RUNLEDGER_DB_STATEMENT_TIMEOUT_MS', '-1'], ['RUNLEDGER_READY_WRITE_STALL_MS', '0'],
    ] as const) {
      expect(() => configFromEnv({ [key]: value }), `${key}=${value}`).toThrow(new RegExp(`${key} \\(\\w+\\) must .*got ${value}`));
    }
    expect(() => configFromEnv({ RUNLEDGER_BATCH_MAX_SPANS: '5000', RUNLEDGER_QUEUE_MAX_SPANS: '4096' }))
      .toThrow(/RUNLEDGER_BATCH_MAX_SPANS \(batchMaxSpans\) must not exceed RUNLEDGER_QUEUE_MAX_SPANS \(4096\), got 5000/);
  });

  it('refuses a DATABASE_URL pg cannot parse (it never connects: the gateway retried it every second), takes the forms pg does', () => {
    for (const url of ['postgres://u:p@127.0.0.1:notaport/db', 'postgres://u:p@db:99999/ledger']) {
      expect(() => configFromEnv({ DATABASE_URL: url }), url).toThrow(/DATABASE_URL is not a URL pg can use/);
    }
    for (const url of ['postgres://u:p@db.example:5432/ledger', 'postgresql://user@/ledger', 'postgres:///ledger?host=/var/run/postgresql']) {
      expect(configFromEnv({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
  });
});

describe('numbers in the environment', () => {
  it('are decimal integers: hex, exponents, fractions and words are refused with the variable named', () => {
    for (const value of ['0x1F90', '1e3', '4318.0', 'abc', '12abc', '4_318', '99999999999999999999']) {
      expect(() => configFromEnv({ RUNLEDGER_HTTP_PORT: value }), value).toThrow(`RUNLEDGER_HTTP_PORT must be an integer, got ${JSON.stringify(value)}`);
    }
    expect(configFromEnv({ RUNLEDGER_HTTP_PORT: ' 4400 ', RUNLEDGER_BODY_MIN_BYTES_PER_SECOND: '+0' })).toMatchObject({ httpPort: 4400, bodyMinBytesPerSecond: 0 });
  });
});

describe('tenant ids (as sql/028 checks those of runledger.api_keys)', () => {
  it('takes 1 to 256 characters (any script) and refuses longer ones, control characters and a space at either end', () => {
    const ok = ['acme', 'a', 'é'.repeat(256), 'globex/eu-west', 'ACME Corp'];
    for (const t of ok) {
      expect(configFromEnv({ RUNLEDGER_API_KEYS: `k1=${t}`, RUNLEDGER_DEFAULT_TENANT: t }).defaultTenant, t).toBe(t);
    }
    for (const t of ['a'.repeat(257), 'ac\u0001me', 'ac\tme', 'ac\u007fme']) {
      expect(() => configFromEnv({ RUNLEDGER_API_KEYS: `k1=${t}` }), JSON.stringify(t)).toThrow(/RUNLEDGER_API_KEYS.*256 characters/);
      expect(() => configFromEnv({ RUNLEDGER_DEFAULT_TENANT: t }), JSON.stringify(t)).toThrow(/RUNLEDGER_DEFAULT_TENANT.*256 characters/);
    }
    expect(() => configFromEnv({ RUNLEDGER_DEFAULT_TENANT: ' acme' })).toThrow(/RUNLEDGER_DEFAULT_TENANT/);
  });
});
