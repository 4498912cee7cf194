/**
 * The ledger database for one command: DATABASE_URL, or (unset) the embedded PostgreSQL on the
 * configured data directory, as `migrate` and `serve` use it. Migrations are applied first.
 */
import pg from 'pg';
import type { Config } from '../config.js';
import { migrate } from '../db/migrate.js';
import type { EmbeddedDb } from '../db/embedded.js';

/**
 * DATABASE_URL; else the embedded PostgreSQL of the data directory: the one a running gateway started,
 * or one started for this command (`embedded`, to stop afterwards).
 */
export async function ledgerUrl(cfg: Config): Promise<{ url: string; embedded: EmbeddedDb | null }> {
  if (cfg.databaseUrl) return { url: cfg.databaseUrl, embedded: null };
  const db = await import('../db/embedded.js');
  const running = db.runningEmbeddedUrl(cfg.dataDir);
  if (running) return { url: running, embedded: null };
  const embedded = await db.startEmbedded({ dataDir: cfg.dataDir, port: cfg.embeddedPgPort || undefined });
  return { url: embedded.url, embedded };
}

export async function withLedger<T>(cfg: Config, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const { url, embedded } = await ledgerUrl(cfg);
  // Interrupted (Ctrl-C): the open batch is rolled back by the server; the embedded server must not be left running.
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping\n`);
    void (embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  if (embedded) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, stop);
  try {
    await migrate(url);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {}); // an idle client dropped by the server is not the command's failure
    // Nor an 'error' event of a client in use (its session ended by pg_terminate_backend, a restart): pg-pool
    // listens only to idle ones, and unheard it was an uncaught exception (a stack trace, the embedded server
    // left running). The query under way is rejected with the server's reason, which the command reports.
    pool.on('connect', (client) => { client.on('error', () => {}); });
    try {
      return await fn(pool);
    } finally {
      await pool.end();
    }
  } finally {
    if (embedded) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, stop);
    await embedded?.stop();
  }
}
