/**
 * `runledger migrate`: apply pending sql/ migrations (to DATABASE_URL, or the embedded PostgreSQL), then
 * repair the runs they queued (runledger.repair_queue).
 */
import pg from 'pg';
import { configFromEnv } from '../config.js';
import { migrate } from '../db/migrate.js';
import { ledgerUrl } from './db.js';
import { Progress } from './progress.js';
import { repairQueued } from '../maintenance/repair.js';

export async function runMigrate(): Promise<void> {
  const cfg = configFromEnv();
  const { url, embedded } = await ledgerUrl(cfg);
  try {
    const applied = await migrate(url);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const r = await repairQueued(pool, { progress: new Progress({ label: 'repair', unit: 'runs' }) });
      if (r) process.stdout.write(`repaired ${r.scanned} runs queued by migrations (${r.recreated} runs rows recreated)\n`);
    } finally {
      await pool.end();
    }
  } finally {
    await embedded?.stop();
  }
}
