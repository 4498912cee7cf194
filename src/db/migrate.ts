/**
 * Numbered SQL migrations from sql/, applied once each, in order, each in a transaction that holds
 * runledger.schema_migrations: processes migrating at once take turns, and no analyst can hold them back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { packageRoot } from './paths.js';

export function migrationFiles(dir = join(packageRoot(), 'sql')): { version: string; path: string }[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), path: join(dir, f) }));
}

/**
 * A migration's DDL waits for its locks behind running queries (an analyst's long SELECT, an open transaction),
 * and every later request for those tables, the writers' included, queues behind its request: ingestion would
 * stall for the query's whole duration. So each migration waits at most lockTimeoutMs for a lock, is rolled
 * back whole, and tried again retryMs later (writers go on meanwhile), up to `tries` times.
 */
export interface MigrateLockOptions { lockTimeoutMs: number; retryMs: number; tries: number }
const MIGRATE_LOCKS: MigrateLockOptions = { lockTimeoutMs: 500, retryMs: 1000, tries: 400 };

/**
 * Apply pending migrations (through `through`, a version such as '006_analyst_identity', when given: tests
 * of a migration start from the schema before it); returns the versions applied now.
 */
export async function migrate(databaseUrl: string, through?: string, locks: Partial<MigrateLockOptions> = {}): Promise<string[]> {
  const lk = { ...MIGRATE_LOCKS, ...locks };
  // A server that does not answer fails the attempt (the gateway retries in the background) instead of
  // waiting for the operating system's TCP timeout.
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  // The connection ending (server restart) rejects the query under way; unheard, pg's 'error' event would
  // be an uncaught exception that ends the gateway retrying in the background.
  client.on('error', () => {});
  await client.connect();
  try {
    // A migration may rewrite big tables: a statement_timeout set on the database or role (ALTER DATABASE
    // ... SET statement_timeout) is meant for queries, not for it.
    await client.query('SET statement_timeout = 0');
    await bootstrap(client);
    const done = new Set((await client.query('SELECT version FROM runledger.schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrationFiles()) {
      if (through !== undefined && m.version > through) break;
      if (done.has(m.version)) continue;
      const text = readFileSync(m.path, 'utf8');
      for (let attempt = 1; ; attempt++) {
        await client.query('BEGIN');
        try {
          // Processes migrating at once take turns here (the lock is held to this migration's commit), and the
          // one that comes second finds the migration applied. Not an advisory lock: any role can take one (an
          // analyst holding the key kept every gateway start-up at 503); only the ledger's owner can lock this
          // table. Waits as long as another process's migration runs, not lock_timeout.
          await client.query('LOCK TABLE runledger.schema_migrations IN SHARE ROW EXCLUSIVE MODE');
          const had = await client.query('SELECT 1 FROM runledger.schema_migrations WHERE version = $1', [m.version]);
          if (had.rowCount) {
            await client.query('COMMIT');
            break;
          }
          await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lk.lockTimeoutMs))}`);
          await client.query(text);
          await client.query('INSERT INTO runledger.schema_migrations (version) VALUES ($1)', [m.version]);
          await client.query('COMMIT');
          applied.push(m.version);
          break;
        } catch (e) {
          await client.query('ROLLBACK');
          // lock_not_available, or a deadlock with a writer: nothing of it is left; step back and try again
          const code = (e as { code?: string }).code;
          if ((code === '55P03' || code === '40P01') && attempt < lk.tries) {
            await new Promise((r) => setTimeout(r, lk.retryMs));
            continue;
          }
          const waited = code === '55P03' ? ` (after ${attempt} tries: a long query or open transaction holds a lock it needs)` : '';
          throw new Error(`migration ${m.version} failed: ${(e as Error).message}${waited}`);
        }
      }
    }
    return applied;
  } finally {
    await client.end();
  }
}

/**
 * The schema and its bookkeeping table, when missing. Processes creating them at once collide on the catalog's
 * unique indexes (23505; 42P06 / 42P07 / 42710, schema, table or its row type, when one finished first): the
 * loser finds them made and goes on.
 */
async function bootstrap(client: pg.Client): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('CREATE SCHEMA IF NOT EXISTS runledger');
      await client.query(`CREATE TABLE IF NOT EXISTS runledger.schema_migrations (
        version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!['23505', '42P06', '42P07', '42710'].includes(code ?? '') || attempt >= 5) throw e;
    }
  }
}
