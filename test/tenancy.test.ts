/** Tenancy: API keys (configured and hashed in runledger.api_keys) → tenant_id, and row-level security for analysts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDb } from './helpers/db.js';
import { decodeStatus, jsonRequest, miniSpans, protoRequest, type MiniSpan } from './helpers/otlp.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { chatEvents, logsProto } from './helpers/logs.js';
import { hex } from './helpers/spans.js';
import { freePort } from '../src/db/embedded.js';
import { presentedKey, sha256Hex } from '../src/auth.js';
import { configFromEnv, ConfigError, parseApiKeys } from '../src/config.js';

const KEY_A = 'rl_acme_7f3c9a1e5b2d4c6f';
const KEY_B = 'rl_globex_0a8e6c4b2f1d3e5a';
const KEY_C = 'rl_initech_93b1c7e5a2d4f6b8';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway({ apiKeys: { [KEY_A]: 'acme', [KEY_B]: 'globex' } }); });
afterAll(async () => { await gw?.close(); });

const postJson = (g: TestGateway, spans: MiniSpan[], headers: Record<string, string> = {}) =>
  fetch(g.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: jsonRequest(spans) });

function grpcCall(address: string, body: Uint8Array, md: Record<string, string> = {}): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), metadata, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

/** tenant_ids stored for a trace, per table (as the owner, which RLS does not apply to) */
async function tenants(pool: pg.Pool, traceId: string) {
  const q = async (sql: string) => (await pool.query(sql, [traceId])).rows.map((r) => r.tenant_id as string);
  return {
    spans: await q('SELECT tenant_id FROM runledger.spans WHERE trace_id = $1 ORDER BY span_id'),
    nodes: await q('SELECT tenant_id FROM runledger.nodes WHERE run_id = $1 ORDER BY node_id'),
    runs: await q('SELECT tenant_id FROM runledger.runs WHERE run_id = $1'),
  };
}
/**
 * The answer to a key the gateway does not know once it has settled: 503 + Retry-After 1 until a read of the table
 * that began after the key was first met (src/auth.ts, UNKNOWN_KEY_RELOAD_MS), then the final answer.
 */
async function settled(send: () => Promise<Response>): Promise<number> {
  for (let i = 0; ; i++) {
    const res = await send();
    if (res.status !== 503 || i === 40) return res.status;
    expect(res.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const all = (tenant: string, n: number) => ({ spans: Array(n).fill(tenant), nodes: Array(n).fill(tenant), runs: [tenant] });

describe('API keys from the configuration', () => {
  it('answers 401 with a google.rpc.Status (UNAUTHENTICATED) without a key, and stores nothing', async () => {
    const spans = miniSpans(2);
    const res = await postJson(gw, spans);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ code: 16, message: 'missing or invalid API key' });
    const proto = await fetch(gw.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans) });
    expect(proto.status).toBe(401);
    expect(decodeStatus(new Uint8Array(await proto.arrayBuffer())).code).toBe(16);
    expect(await tenants(gw.db.pool, spans[0]!.traceId)).toEqual({ spans: [], nodes: [], runs: [] });
  });

  it('answers 401 for a wrong key, a non-Bearer scheme, or a key in the wrong header', async () => {
    const spans = miniSpans(1);
    for (const headers of [
      { authorization: 'Bearer nope' }, { 'x-api-key': KEY_A + 'x' }, { authorization: `Basic ${KEY_A}` },
      { authorization: KEY_A }, { 'x-api-key': '' },
    ]) {
      expect(await settled(() => postJson(gw, spans, headers)), JSON.stringify(headers)).toBe(401);
    }
    expect((await tenants(gw.db.pool, spans[0]!.traceId)).spans).toEqual([]);
  });

  it('stores the rows of key A under tenant A and of key B under tenant B (HTTP)', async () => {
    const a = miniSpans(3);
    const b = miniSpans(2);
    expect((await postJson(gw, a, { authorization: `Bearer ${KEY_A}` })).status).toBe(200);
    expect((await postJson(gw, b, { 'x-api-key': KEY_B })).status).toBe(200);
    expect(await tenants(gw.db.pool, a[0]!.traceId)).toEqual(all('acme', 3));
    expect(await tenants(gw.db.pool, b[0]!.traceId)).toEqual(all('globex', 2));
  });

  it('answers UNAUTHENTICATED on gRPC without or with a wrong key, and takes keys from metadata', async () => {
    const spans = miniSpans(2);
    expect((await grpcCall(gw.grpcAddress, protoRequest(spans)))?.code).toBe(grpc.status.UNAUTHENTICATED);
    const wrong = await grpcCall(gw.grpcAddress, protoRequest(spans), { authorization: 'Bearer nope' });
    expect(wrong?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(wrong?.details).toBe('missing or invalid API key');
    expect((await tenants(gw.db.pool, spans[0]!.traceId)).spans).toEqual([]);

    expect(await grpcCall(gw.grpcAddress, protoRequest(spans), { authorization: `Bearer ${KEY_B}` })).toBeNull();
    expect(await tenants(gw.db.pool, spans[0]!.traceId)).toEqual({ spans: ['globex', 'globex'], nodes: [], runs: ['globex'] });
    const other = miniSpans(1);
    expect(await grpcCall(gw.grpcAddress, protoRequest(other), { 'x-api-key': KEY_A })).toBeNull();
    expect((await tenants(gw.db.pool, other[0]!.traceId)).runs).toEqual(['acme']);
  });
});

describe('API keys in runledger.api_keys', () => {
  it('a key works after a refresh and stops working once revoked and refreshed', async () => {
    const send = () => postJson(gw, miniSpans(1), { authorization: `Bearer ${KEY_C}` });
    expect(await settled(send)).toBe(401);
    await gw.db.pool.query('INSERT INTO runledger.api_keys (key_sha256, tenant_id) VALUES ($1, $2)', [sha256Hex(KEY_C), 'initech']);
    expect((await send()).status).toBe(401); // refused by a read after it was first met; not reloaded since
    await gw.auth.refresh();
    const spans = miniSpans(2);
    expect((await postJson(gw, spans, { authorization: `Bearer ${KEY_C}` })).status).toBe(200);
    expect(await tenants(gw.db.pool, spans[0]!.traceId)).toEqual(all('initech', 2));

    await gw.db.pool.query(`UPDATE runledger.api_keys SET revoked_at = now() + interval '1 hour' WHERE key_sha256 = $1`, [sha256Hex(KEY_C)]);
    await gw.auth.refresh();
    expect((await send()).status).toBe(200); // revocation scheduled, not yet effective
    await gw.db.pool.query('UPDATE runledger.api_keys SET revoked_at = now() WHERE key_sha256 = $1', [sha256Hex(KEY_C)]);
    expect((await send()).status).toBe(200); // not reloaded yet
    await gw.auth.refresh();
    expect((await send()).status).toBe(401);
    expect((await postJson(gw, miniSpans(1), { 'x-api-key': KEY_A })).status).toBe(200); // configured keys unaffected
  });

  it('takes a key added to the table since the last read at its first use, answering 503 until it is read', async () => {
    const db = await createTestDb('tenancy');
    await db.pool.query('INSERT INTO runledger.api_keys (key_sha256, tenant_id) VALUES ($1, $2)', [sha256Hex(KEY_A), 'acme']);
    const g = await startTestGateway({ apiKeysRefreshSeconds: 3600 }, db);
    try {
      expect(g.auth.enabled).toBe(true);
      await db.pool.query('INSERT INTO runledger.api_keys (key_sha256, tenant_id) VALUES ($1, $2)', [sha256Hex(KEY_C), 'initech']);
      const spans = miniSpans(2);
      const first = await postJson(g, spans, { 'x-api-key': KEY_C }); // 401 before: exporters drop a 401's data
      expect(first.status).toBe(503);
      expect(first.headers.get('retry-after')).toBe('1');
      expect(await settled(() => postJson(g, spans, { 'x-api-key': KEY_C }))).toBe(200); // no reload but the one it asked for
      expect(await tenants(db.pool, spans[0]!.traceId)).toEqual(all('initech', 2));
      expect(await settled(() => postJson(g, miniSpans(1), { 'x-api-key': KEY_C + 'x' }))).toBe(401); // never added
    } finally {
      await g.close();
      await db.drop();
    }
  });

  it('turns authentication on and off with the table alone, reloading periodically', async () => {
    const db = await createTestDb('tenancy');
    const g = await startTestGateway({ apiKeysRefreshSeconds: 0.05 }, db);
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(cond()).toBe(true);
    };
    try {
      const open = miniSpans(1);
      expect((await postJson(g, open)).status).toBe(200); // no keys anywhere: auth off
      expect((await tenants(db.pool, open[0]!.traceId)).runs).toEqual(['default']);

      // hashed in SQL, as the README shows
      await db.pool.query(`INSERT INTO runledger.api_keys (key_sha256, tenant_id) VALUES (encode(sha256($1::bytea), 'hex'), 'initech')`, [KEY_C]);
      await until(() => g.auth.enabled);
      expect((await postJson(g, miniSpans(1))).status).toBe(401);
      const keyed = miniSpans(1);
      expect((await postJson(g, keyed, { 'x-api-key': KEY_C })).status).toBe(200);
      expect(await tenants(db.pool, keyed[0]!.traceId)).toEqual(all('initech', 1));

      // Revoking the last key must not open the gateway: a revoked row keeps authentication on.
      await db.pool.query('UPDATE runledger.api_keys SET revoked_at = now()');
      await until(() => g.auth.tenantOf(() => KEY_C) === null);
      expect((await postJson(g, miniSpans(1), { 'x-api-key': KEY_C })).status).toBe(401);
      expect((await postJson(g, miniSpans(1))).status).toBe(401);

      await db.pool.query('DELETE FROM runledger.api_keys');
      await until(() => !g.auth.enabled);
      expect((await postJson(g, miniSpans(1))).status).toBe(200);
    } finally {
      await g.close();
      await db.drop();
    }
  });

  it('answers 503 / UNAVAILABLE (retryable), not 401, while the key table cannot be read', async () => {
    const dead = `postgres://postgres:x@127.0.0.1:${await freePort()}/none`;
    const g = await startTestGateway({ databaseUrl: dead, apiKeys: { [KEY_A]: 'acme' }, retryAfterSeconds: 5 }, gw.db);
    try {
      expect((await postJson(g, miniSpans(1))).status).toBe(401); // no key at all: certainly refused
      const unknown = await postJson(g, miniSpans(1), { 'x-api-key': KEY_C }); // may be a table key
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get('retry-after')).toBe('5');
      const err = await grpcCall(g.grpcAddress, protoRequest(miniSpans(1)), { 'x-api-key': KEY_C });
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await g.stop();
    }
  });
});

describe('row-level security for runledger_analyst', () => {
  /** what runledger_analyst sees, with runledger.tenant_id set to `tenant` (undefined: not set) */
  async function asAnalyst(tenant: string | undefined) {
    const c = new pg.Client({ connectionString: gw.db.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE runledger_analyst');
      if (tenant !== undefined) await c.query(`SELECT set_config('runledger.tenant_id', $1, true)`, [tenant]);
      const seen = async (table: string) =>
        Object.fromEntries((await c.query(`SELECT tenant_id, count(*)::int AS n FROM runledger.${table} GROUP BY 1 ORDER BY 1`)).rows.map((r) => [r.tenant_id, r.n]));
      return { spans: await seen('spans'), nodes: await seen('nodes'), runs: await seen('runs'), logs: await seen('logs') };
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      await c.end();
    }
  }
  async function asOwner(tenant: string) {
    const n = async (table: string) =>
      (await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.${table} WHERE tenant_id = $1`, [tenant])).rows[0].n as number;
    return { spans: { [tenant]: await n('spans') }, nodes: { [tenant]: await n('nodes') }, runs: { [tenant]: await n('runs') },
      logs: { [tenant]: await n('logs') } };
  }

  beforeAll(async () => {
    // Rows of both tenants, written by the gateway (the owner: RLS does not apply to ingestion).
    expect((await postJson(gw, miniSpans(3), { 'x-api-key': KEY_A })).status).toBe(200);
    expect((await postJson(gw, miniSpans(2), { 'x-api-key': KEY_B })).status).toBe(200);
    // and log records of both (runledger.logs has the same policy)
    for (const key of [KEY_A, KEY_B]) {
      const res = await fetch(gw.httpUrl + '/v1/logs', { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'x-api-key': key },
        body: logsProto(chatEvents(hex(16), hex(8), BigInt(Date.now() - 60_000) * 1_000_000n)) as BodyInit });
      expect(res.status).toBe(200);
    }
  });

  it("shows an analyst only the rows of the tenant in runledger.tenant_id", async () => {
    const acme = await asOwner('acme');
    expect(acme.spans.acme).toBeGreaterThan(0);
    expect(acme.nodes.acme).toBeGreaterThan(0);
    expect(acme.logs.acme).toBeGreaterThan(0);
    expect(await asAnalyst('acme')).toEqual(acme);
    expect(await asAnalyst('globex')).toEqual(await asOwner('globex'));
  });

  it('shows nothing without the setting, with an empty one, or for an unknown tenant', async () => {
    const none = { spans: {}, nodes: {}, runs: {}, logs: {} };
    expect(await asAnalyst(undefined)).toEqual(none);
    expect(await asAnalyst('')).toEqual(none);
    expect(await asAnalyst('nobody')).toEqual(none);
  });

  it('gives the analyst no access to the key table and no writes', async () => {
    const c = new pg.Client({ connectionString: gw.db.url });
    await c.connect();
    try {
      await c.query('SET ROLE runledger_analyst');
      await expect(c.query('SELECT * FROM runledger.api_keys')).rejects.toThrow(/permission denied/);
      await expect(c.query(`DELETE FROM runledger.runs`)).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
  });
});

describe('analysts bound to tenants by their login role (runledger.analyst_tenants)', () => {
  const role = `rl_analyst_${process.pid}_${Date.now().toString(36)}`;
  let url: string;

  beforeAll(async () => {
    await gw.db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' IN ROLE runledger_analyst`);
    await gw.db.pool.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, 'acme')`, [role]);
    await gw.db.pool.query(`SELECT runledger.refresh_daily_usage('-infinity', 'infinity')`); // the spans are from 2023
    const u = new URL(gw.db.url);
    u.username = role;
    u.password = 'pw';
    url = u.toString();
  });
  afterAll(async () => {
    await gw.db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
    await gw.db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  });

  /** tenants (with row counts) a fresh session of the bound role sees, after `setup` statements */
  async function seen(setup: string[] = []) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (const q of setup) await c.query(q);
      const count = async (from: string) =>
        Object.fromEntries((await c.query(`SELECT tenant_id, count(*)::int AS n FROM ${from} GROUP BY 1 ORDER BY 1`)).rows.map((r) => [r.tenant_id, r.n]));
      return {
        spans: await count('runledger.spans'), runs: await count('runledger.runs'),
        usage: Object.keys(await count('runledger.daily_usage')), summary: Object.keys(await count('runledger.run_summary')),
        compat: Object.keys(await count('compat.olo_run')),
      };
    } finally {
      await c.end();
    }
  }

  it('sees its tenants only, whatever it sets runledger.tenant_id to or whichever role it sets', async () => {
    const acme = await seen();
    expect(Object.keys(acme.spans)).toEqual(['acme']);
    expect(Object.keys(acme.runs)).toEqual(['acme']);
    expect(acme.usage).toEqual(['acme']);
    expect(acme.summary).toEqual(['acme']);
    expect(acme.compat).toEqual(['acme']); // olo_run.tenant_id is the ledger's tenant
    expect(acme.spans.acme).toBe((await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.spans WHERE tenant_id = 'acme'`)).rows[0].n);
    expect(await seen([`SET runledger.tenant_id = 'globex'`])).toEqual(acme);
    expect(await seen(['SET ROLE runledger_analyst', `SET runledger.tenant_id = 'globex'`])).toEqual(acme);
  });

  it('sees every tenant bound to it, and cannot change the bindings', async () => {
    await gw.db.pool.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, 'globex')`, [role]);
    try {
      const both = await seen();
      expect(Object.keys(both.runs)).toEqual(['acme', 'globex']);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await expect(c.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, 'other')`, [role])).rejects.toThrow(/permission denied/);
        await expect(c.query('SELECT * FROM runledger.analyst_tenants')).rejects.toThrow(/permission denied/);
      } finally {
        await c.end();
      }
    } finally {
      await gw.db.pool.query(`DELETE FROM runledger.analyst_tenants WHERE role_name = $1 AND tenant_id = 'globex'`, [role]);
    }
  });
});

describe('configuration and header parsing', () => {
  it('parses RUNLEDGER_API_KEYS and its refresh interval', () => {
    expect(parseApiKeys(' k1=acme , k2==globex ,')).toEqual({ k1: 'acme', 'k2=': 'globex' });
    const cfg = configFromEnv({ RUNLEDGER_API_KEYS: 'k1=acme', RUNLEDGER_API_KEYS_REFRESH_SECONDS: '5' });
    expect(cfg.apiKeys).toEqual({ k1: 'acme' });
    expect(cfg.apiKeysRefreshSeconds).toBe(5);
    expect(configFromEnv({}).apiKeys).toEqual({});
    for (const bad of ['k1', '=acme', 'k1=', 'k1=a,k1=b']) expect(() => parseApiKeys(bad), bad).toThrow(ConfigError);
    expect(() => configFromEnv({ RUNLEDGER_API_KEYS_REFRESH_SECONDS: '0' })).toThrow(/apiKeysRefreshSeconds/);
    expect(() => configFromEnv({}, { apiKeys: { 'a b': 'acme' } })).toThrow(/apiKeys/);
  });

  it('takes the key from a Bearer authorization, else from x-api-key', () => {
    const h = (m: Record<string, string>) => (n: string) => m[n];
    expect(presentedKey(h({ authorization: 'bearer  k1 ' }))).toBe('k1');
    expect(presentedKey(h({ authorization: 'Basic abc', 'x-api-key': ' k2 ' }))).toBe('k2');
    expect(presentedKey(h({ authorization: 'Bearer k1', 'x-api-key': 'k2' }))).toBe('k1');
    expect(presentedKey(h({}))).toBeUndefined();
  });
});
