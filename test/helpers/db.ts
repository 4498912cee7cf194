/** A fresh, migrated database per test file on the run's PostgreSQL. */
import pg from 'pg';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.js';

export interface TestDb {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

let counter = 0;

/** A new database with no schema at all (a new ledger's first migration), dropped by drop(). */
export async function emptyTestDb(prefix = 't'): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = inject('adminDatabaseUrl');
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`.toLowerCase();
  const a = new pg.Client({ connectionString: admin });
  await a.connect();
  await a.query(`CREATE DATABASE "${name}"`);
  await a.end();
  const u = new URL(admin);
  u.pathname = '/' + name;
  return {
    url: u.toString(),
    async drop() {
      const b = new pg.Client({ connectionString: admin });
      await b.connect();
      await b.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await b.end();
    },
  };
}

/** `through`: migrate only up to this version (tests of a later migration). */
export async function createTestDb(prefix = 't', through?: string): Promise<TestDb> {
  const { url, drop } = await emptyTestDb(prefix);
  await migrate(url, through);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // Idle clients are terminated when a test drops its database: that is not an error of the test.
  pool.on('error', () => {});
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      await drop();
    },
  };
}
