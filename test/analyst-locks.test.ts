/**
 * One tenant's analyst cannot stall the ledger of every tenant by holding a lock: a login bound to a tenant
 * takes every advisory lock key the product ever used (any role can take any advisory lock, and a session-level
 * one outlives idle_in_transaction_session_timeout), then idles. Gateways still start, migrate and store spans,
 * the daily usage rollup is refreshed and finalized, and new days get their partitions.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createTestDb, emptyTestDb, type TestDb } from './helpers/db.js';
import { startTestGateway } from './helpers/gateway.js';
import { jsonRequest, miniSpans } from './helpers/otlp.js';
import { migrate, migrationFiles } from '../src/db/migrate.js';
import { ADVISORY_LOCK } from '../src/constants.js';

const ROLE = `rl_locks_${process.pid}_${Date.now().toString(36)}`;
let db: TestDb;
let analyst: pg.Client;
const others: TestDb[] = [];

/** The analyst's URL on a database (the role is cluster-wide; its binding is per database). */
function analystUrl(url: string): string {
  const u = new URL(url);
  u.username = ROLE;
  u.password = 'pw';
  return u.toString();
}

/** A session of the analyst holding every advisory lock key on the database of `url`, idle outside any transaction. */
async function holdAdvisoryLocks(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: analystUrl(url) });
  await c.connect();
  for (const key of Object.values(ADVISORY_LOCK)) {
    expect((await c.query(`SELECT pg_try_advisory_lock(${key}) AS ok`)).rows[0].ok, `key ${key}`).toBe(true);
  }
  return c;
}

/** `p`, or a rejection after `ms` (what used to wait forever fails the test instead of timing it out). */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}


beforeAll(async () => {
  db = await createTestDb('alock');
  await db.pool.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD 'pw' IN ROLE runledger_analyst`);
  await db.pool.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, 'acme')`, [ROLE]);
  analyst = await holdAdvisoryLocks(db.url);
});
afterAll(async () => {
  await analyst?.end().catch(() => {});
  for (const o of others) await o.drop().catch(() => {});
  await db?.pool.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
  await db?.drop();
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
  await admin.end();
});

describe('an analyst holding every advisory lock key, idle', () => {
  it('does not keep a (re)starting gateway from its migrations step: it gets ready and stores spans', async () => {
    // startTestGateway waits for the first migration attempt: bounded here
    const gw = await within(10_000, 'the gateway\'s start-up', startTestGateway({ migrate: true }, db));
    try {
      const body = jsonRequest(miniSpans(3));
      const res = await fetch(gw.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status, await res.clone().text()).toBe(200);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM runledger.spans`)).rows[0].n).toBe(3);
    } finally {
      await gw.close();
    }
  }, 20_000);

  it('does not keep pending migrations from being applied', async () => {
    const older = await createTestDb('alock_old', '024_as_fresh');
    others.push(older);
    await older.pool.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, 'acme')`, [ROLE]);
    const held = await holdAdvisoryLocks(older.url);
    try {
      const applied = await within(15_000, 'migrate', migrate(older.url));
      expect(applied).toEqual(migrationFiles().map((m) => m.version).filter((v) => v > '024_as_fresh'));
    } finally {
      await held.end();
    }
  }, 30_000);

  it('does not keep the daily usage rollup from being refreshed and finalized (the gateway\'s lock timeout)', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`SET lock_timeout = 2000`);
      await within(10_000, 'refresh', c.query(`SELECT runledger.refresh_daily_usage()`));
      await within(10_000, 'finalize', c.query(`SELECT runledger.finalize_daily_usage((now() AT TIME ZONE 'UTC')::date - 400)`));
    } finally {
      await c.end();
    }
  });

  it('does not keep a new day from getting its partitions (the gateway\'s lock timeout)', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`SET lock_timeout = 2000`);
      const r = await within(10_000, 'partitions', c.query(`SELECT runledger.ensure_day_partitions(ARRAY[(now() AT TIME ZONE 'UTC')::date + 5]) AS n`));
      expect(r.rows[0].n).toBe(3);
    } finally {
      await c.end();
    }
  });
});

describe('the locks that took the advisory locks\' place', () => {
  it('cannot be taken or held by an analyst: an open transaction that read rollup_refreshes holds nothing a refresh needs', async () => {
    const c = new pg.Client({ connectionString: analystUrl(db.url) });
    await c.connect();
    try {
      for (const sql of ['LOCK TABLE runledger.rollup_refreshes IN SHARE ROW EXCLUSIVE MODE', 'LOCK TABLE runledger.schema_migrations IN ACCESS SHARE MODE']) {
        await c.query('BEGIN');
        expect(await c.query(sql).then(() => 'locked', (e: { code?: string }) => e.code), sql).toBe('42501');
        await c.query('ROLLBACK');
      }
      await c.query('BEGIN');
      await c.query('SELECT * FROM runledger.rollup_refreshes');
      const o = new pg.Client({ connectionString: db.url });
      await o.connect();
      try {
        await o.query(`SET lock_timeout = 2000`);
        await o.query(`SELECT runledger.refresh_daily_usage()`);
      } finally {
        await o.end();
      }
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      await c.end();
    }
  });

  it('still apply each migration once when several processes migrate at once, a new database and one behind', async () => {
    const empty = await emptyTestDb('alock_empty');
    try {
      const runs = await Promise.all(Array.from({ length: 5 }, () => migrate(empty.url)));
      const all = migrationFiles().map((m) => m.version);
      expect(runs.flat().sort()).toEqual(all);
      const c = new pg.Client({ connectionString: empty.url });
      await c.connect();
      try {
        expect((await c.query(`SELECT version FROM runledger.schema_migrations ORDER BY version`)).rows.map((r) => r.version)).toEqual(all);
      } finally {
        await c.end();
      }
    } finally {
      await empty.drop();
    }
    const older = await createTestDb('alock_race', '013_views');
    others.push(older);
    const runs = await Promise.all([migrate(older.url), migrate(older.url)]);
    expect(runs.flat().sort()).toEqual(migrationFiles().map((m) => m.version).filter((v) => v > '013_views'));
  }, 60_000);
});
