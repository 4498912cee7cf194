/** Numbered SQL migrations from sql/, applied once each, in order, under an advisory lock. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { packageRoot } from './paths.js';
import { ADVISORY_LOCK } from '../constants.js';

export function migrationFiles(dir = join(packageRoot(), 'sql')): { version: string; path: string }[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), path: join(dir, f) }));
}

/**
 * Apply pending migrations (through `through`, a version such as '006_analyst_identity', when given: tests
 * of a migration start from the schema before it); returns the versions applied now.
 */
export async function migrate(databaseUrl: string, through?: string): Promise<string[]> {
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
    await client.query(`SELECT pg_advisory_lock(${ADVISORY_LOCK.migrations})`);
    await client.query('CREATE SCHEMA IF NOT EXISTS runledger');
    await client.query(`CREATE TABLE IF NOT EXISTS runledger.schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query('SELECT version FROM runledger.schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrationFiles()) {
      if (through !== undefined && m.version > through) break;
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(m.path, 'utf8'));
        await client.query('INSERT INTO runledger.schema_migrations (version) VALUES ($1)', [m.version]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.version} failed: ${(e as Error).message}`);
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${ADVISORY_LOCK.migrations})`).catch(() => {});
    await client.end();
  }
}
