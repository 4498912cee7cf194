/**
 * API keys fail closed: an unreadable runledger.api_keys (renamed, locked) never admits a request under the
 * default tenant; a lock on it never keeps the gateway from listening (configured keys work at once, others
 * get 503 until the table is read); a revoked_at in the future takes effect at that time, not at the next reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { miniSpans, protoRequest, type MiniSpan } from './helpers/otlp.js';
import { until } from './helpers/faults.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { sha256Hex } from '../src/auth.js';
import { startGateway } from '../src/gateway.js';
import { defaults, validate } from '../src/config.js';
import { silentLogger } from '../src/log.js';

const TABLE_KEY = 'rl_table_5e1f0c7a9b3d2e4f';
const OTHER_TABLE_KEY = 'rl_table_other_8c2d4e6f0a1b3c5d';
const CONFIGURED_KEY = 'rl_conf_1a2b3c4d5e6f7a8b';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('authfc'); });
afterAll(async () => { await db?.drop(); });

const post = (url: string, spans: MiniSpan[], headers: Record<string, string> = {}) =>
  fetch(url + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body: protoRequest(spans) });

function grpcExport(address: string, spans: MiniSpan[], md: Record<string, string> = {}): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(protoRequest(spans)), metadata, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

const tenantsOf = async (traceId: string) =>
  (await db.pool.query('SELECT DISTINCT tenant_id FROM runledger.spans WHERE trace_id = $1', [traceId])).rows.map((r) => r.tenant_id as string);
const addKey = (key: string, tenant: string, revokedAt = 'NULL') =>
  db.pool.query(`INSERT INTO runledger.api_keys (key_sha256, tenant_id, revoked_at) VALUES ($1, $2, ${revokedAt})`, [sha256Hex(key), tenant]);

describe('runledger.api_keys renamed while the gateway runs (42P01)', () => {
  it('never stores a request without a key under the default tenant; known keys keep working', async () => {
    await db.pool.query('DELETE FROM runledger.api_keys');
    await addKey(TABLE_KEY, 'acme');
    const g = await startTestGateway({ retryAfterSeconds: 3 }, db);
    try {
      expect(g.auth.enabled).toBe(true);
      expect((await post(g.httpUrl, miniSpans(1))).status).toBe(401);

      await db.pool.query('ALTER TABLE runledger.api_keys RENAME TO api_keys_maintenance');
      await g.auth.refresh().catch(() => {}); // the reload (every 30 s by default) happens now
      const anonymous = miniSpans(2);
      const res = await post(g.httpUrl, anonymous);
      expect([401, 503]).toContain(res.status);
      const err = await grpcExport(g.grpcAddress, anonymous);
      expect([grpc.status.UNAUTHENTICATED, grpc.status.UNAVAILABLE]).toContain(err?.code);
      // a key the table may have gained since it was last read: retryable
      const unknown = await post(g.httpUrl, miniSpans(1), { 'x-api-key': OTHER_TABLE_KEY });
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get('retry-after')).toBe('3');
      // the keys read before keep their tenant
      const keyed = miniSpans(2);
      expect((await post(g.httpUrl, keyed, { authorization: `Bearer ${TABLE_KEY}` })).status).toBe(200);
      expect(await tenantsOf(keyed[0]!.traceId)).toEqual(['acme']);
      expect(await tenantsOf(anonymous[0]!.traceId)).toEqual([]);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM runledger.spans WHERE tenant_id = 'default'`)).rows[0].n).toBe(0);
      expect((await fetch(g.httpUrl + '/readyz')).status).toBe(200); // keys known: it serves them
      await expect(g.auth.refresh()).rejects.toThrow(/does not exist/);

      await db.pool.query('ALTER TABLE runledger.api_keys_maintenance RENAME TO api_keys');
      await addKey(OTHER_TABLE_KEY, 'globex');
      await g.auth.refresh();
      expect((await post(g.httpUrl, miniSpans(1), { 'x-api-key': OTHER_TABLE_KEY })).status).toBe(200);
      expect((await post(g.httpUrl, miniSpans(1))).status).toBe(401);
    } finally {
      await db.pool.query('ALTER TABLE IF EXISTS runledger.api_keys_maintenance RENAME TO api_keys').catch(() => {});
      await g.stop();
    }
  });

  it('with no keys in use at the last read, answers 503 rather than admit requests it can no longer check', async () => {
    await db.pool.query('DELETE FROM runledger.api_keys');
    const g = await startTestGateway({}, db);
    try {
      expect(g.auth.enabled).toBe(false);
      expect((await post(g.httpUrl, miniSpans(1))).status).toBe(200); // authentication off
      await db.pool.query('ALTER TABLE runledger.api_keys RENAME TO api_keys_maintenance');
      await g.auth.refresh().catch(() => {});
      const spans = miniSpans(1);
      const refused = await post(g.httpUrl, spans);
      expect(refused.status).toBe(503);
      // the answer names the cause (it said "database unavailable" with the database up)
      expect((await refused.text())).toMatch(/API keys could not be reloaded: relation \\?"runledger.api_keys\\?" does not exist/);
      expect(await tenantsOf(spans[0]!.traceId)).toEqual([]);
      await expect(g.auth.refresh()).rejects.toThrow(/does not exist/);
    } finally {
      await db.pool.query('ALTER TABLE IF EXISTS runledger.api_keys_maintenance RENAME TO api_keys').catch(() => {});
      await g.stop();
    }
  });
});

describe('an ACCESS EXCLUSIVE lock on runledger.api_keys while a gateway starts', () => {
  it('listens at once: /healthz 200, configured keys stored, table keys 503 until the lock goes', async () => {
    await db.pool.query('DELETE FROM runledger.api_keys');
    await addKey(TABLE_KEY, 'acme');
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN; LOCK TABLE runledger.api_keys IN ACCESS EXCLUSIVE MODE');
    const cfg = validate({
      ...defaults, databaseUrl: db.url, httpPort: 0, grpcPort: 0, migrate: false, retryAfterSeconds: 2,
      apiKeys: { [CONFIGURED_KEY]: 'initech' },
    });
    const started = startGateway(cfg, silentLogger);
    const g = await Promise.race([started, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the gateway did not listen within 5 s')), 5000))])
      .catch(async (e) => { await locker.end(); throw e; });
    try {
      expect((await fetch(g.httpUrl + '/healthz')).status).toBe(200);
      const configured = miniSpans(2);
      expect((await post(g.httpUrl, configured, { 'x-api-key': CONFIGURED_KEY })).status).toBe(200);
      expect(await grpcExport(g.grpcAddress, miniSpans(1), { 'x-api-key': CONFIGURED_KEY })).toBeNull();
      const tableKeyed = miniSpans(1);
      const refused = await post(g.httpUrl, tableKeyed, { 'x-api-key': TABLE_KEY });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect((await grpcExport(g.grpcAddress, tableKeyed, { 'x-api-key': TABLE_KEY }))?.code).toBe(grpc.status.UNAVAILABLE);
      expect((await post(g.httpUrl, miniSpans(1))).status).toBe(401); // configured keys: authentication is on
      await g.startup; // the first load gave up on the lock (its own lock timeout) and is retried every second
      expect((await post(g.httpUrl, tableKeyed, { 'x-api-key': TABLE_KEY })).status).toBe(503);

      await locker.query('COMMIT');
      await until(async () => (await post(g.httpUrl, tableKeyed, { 'x-api-key': TABLE_KEY })).status === 200, 10_000, 'the table key after the lock');
      expect(await tenantsOf(tableKeyed[0]!.traceId)).toEqual(['acme']);
      expect(await tenantsOf(configured[0]!.traceId)).toEqual(['initech']);
    } finally {
      await locker.end();
      await g.stop();
    }
  });
});

describe('revoked_at in the future', () => {
  it('is honoured from that moment (database clock), not at the next reload', async () => {
    await db.pool.query('DELETE FROM runledger.api_keys');
    await addKey(TABLE_KEY, 'acme', `clock_timestamp() + interval '3 seconds'`);
    const g = await startTestGateway({ apiKeysRefreshSeconds: 3600 }, db); // no reload during the test
    try {
      expect((await post(g.httpUrl, miniSpans(1), { 'x-api-key': TABLE_KEY })).status).toBe(200);
      expect(await grpcExport(g.grpcAddress, miniSpans(1), { 'x-api-key': TABLE_KEY })).toBeNull();
      await until(async () => (await db.pool.query(
        'SELECT clock_timestamp() >= revoked_at AS past FROM runledger.api_keys WHERE key_sha256 = $1', [sha256Hex(TABLE_KEY)])).rows[0].past,
      5000, 'revoked_at to pass');
      const spans = miniSpans(1);
      expect((await post(g.httpUrl, spans, { 'x-api-key': TABLE_KEY })).status).toBe(401);
      expect((await grpcExport(g.grpcAddress, spans, { 'x-api-key': TABLE_KEY }))?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(await tenantsOf(spans[0]!.traceId)).toEqual([]);
      expect(g.auth.enabled).toBe(true); // a revoked key keeps authentication on
      expect((await post(g.httpUrl, miniSpans(1))).status).toBe(401);
    } finally {
      await g.stop();
    }
  });
});
