/** `runledger migrate`: apply pending sql/ migrations (to DATABASE_URL, or the embedded PostgreSQL). */
import { configFromEnv } from '../config.js';
import { migrate } from '../db/migrate.js';
import { ledgerUrl } from './db.js';

export async function runMigrate(): Promise<void> {
  const cfg = configFromEnv();
  const { url, embedded } = await ledgerUrl(cfg);
  try {
    const applied = await migrate(url);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await embedded?.stop();
  }
}
