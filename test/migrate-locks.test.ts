/**
 * Migrations beside a running ledger: a migration's DDL waiting for a lock an analyst's long query holds must
 * not stall the writers queued behind its request. It waits a short while, steps back and tries again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDb, type TestDb } from './helpers/db.js';
import { migrate } from '../src/db/migrate.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('mlock', '013_views'); });
afterAll(async () => { await db?.drop(); });

describe('a migration (014: ALTER TABLE runledger.spans) while an analyst\'s transaction reads spans', () => {
  it('lets writers through meanwhile, and is applied once the analyst is done', async () => {
    const analyst = new pg.Client({ connectionString: db.url });
    const writer = new pg.Client({ connectionString: db.url });
    await analyst.connect();
    await writer.connect();
    let migrating: Promise<string[] | Error> | null = null;
    try {
      await analyst.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await analyst.query('SELECT count(*) FROM runledger.spans');
      migrating = migrate(db.url).catch((e: Error) => e);
      // until the migration waits for its lock on spans
      for (let i = 0; i < 200; i++) {
        const w = await db.pool.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
          WHERE NOT l.granted AND c.relname = 'spans' AND l.mode = 'AccessExclusiveLock'`);
        if (w.rowCount) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // a writer's lock on spans (COPY), with the gateway's bounded wait: granted, not queued behind the DDL
      await writer.query(`BEGIN; SET LOCAL lock_timeout = '2s'`);
      const t = performance.now();
      const got = await writer.query('LOCK TABLE runledger.spans IN ROW EXCLUSIVE MODE').then(() => 'locked', (e: Error & { code?: string }) => e.code);
      expect(got).toBe('locked');
      expect(performance.now() - t).toBeLessThan(1900);
      await writer.query('COMMIT');
      await analyst.query('COMMIT');
      const applied = await migrating;
      expect(applied instanceof Error ? applied.message : applied).toContain('014_resources');
    } finally {
      await analyst.query('ROLLBACK').catch(() => {});
      await writer.query('ROLLBACK').catch(() => {});
      await migrating;
      await analyst.end();
      await writer.end();
    }
    const col = await db.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = 'runledger' AND table_name = 'spans' AND column_name = 'resource_hash'`);
    expect(col.rowCount).toBe(1);
  });
});
