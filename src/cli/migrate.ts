/** `runledger migrate`: apply pending sql/ migrations (to DATABASE_URL, or the embedded PostgreSQL). */
import { configFromEnv } from '../config.js';
import { migrate } from '../db/migrate.js';

export async function runMigrate(): Promise<void> {
  const cfg = configFromEnv();
  let url = cfg.databaseUrl;
  const embedded = url ? null : await (await import('../db/embedded.js')).startEmbedded({ dataDir: cfg.dataDir, port: cfg.embeddedPgPort || undefined });
  url ??= embedded!.url;
  try {
    const applied = await migrate(url);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await embedded?.stop();
  }
}
