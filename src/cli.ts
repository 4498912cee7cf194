#!/usr/bin/env node
/** runledger command line: `serve` (default) and `migrate`. */
import { configFromEnv, ConfigError } from './config.js';
import { createLogger } from './log.js';
import { startGateway } from './gateway.js';
import { migrate } from './db/migrate.js';

const log = createLogger();

async function serve(): Promise<void> {
  const cfg = configFromEnv();
  const gw = await startGateway(cfg, log);
  const shown = gw.databaseUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
  process.stdout.write(
    `runledger is listening\n` +
      `  OTLP/HTTP  ${gw.httpUrl}/v1/traces   (application/x-protobuf, application/json)\n` +
      `  OTLP/gRPC  ${gw.grpcAddress}\n` +
      `  ledger     ${shown}  (schema runledger${cfg.databaseUrl ? '' : `, embedded, data in ${cfg.dataDir}/`})\n`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down: draining accepted spans', { signal });
    gw.stop().then(
      () => { log.info('stopped'); process.exit(0); },
      (e) => { log.error('shutdown failed', { error: String(e) }); process.exit(1); },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function runMigrate(): Promise<void> {
  const cfg = configFromEnv();
  let url = cfg.databaseUrl;
  const embedded = url ? null : await (await import('./db/embedded.js')).startEmbedded({ dataDir: cfg.dataDir, port: cfg.embeddedPgPort || undefined });
  url ??= embedded!.url;
  try {
    const applied = await migrate(url);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await embedded?.stop();
  }
}

const cmd = process.argv[2] ?? 'serve';
const commands: Record<string, () => Promise<void>> = { serve, migrate: runMigrate };
const run = commands[cmd];
if (!run) {
  process.stderr.write(`usage: runledger [serve|migrate]\n`);
  process.exit(2);
}
run().catch((e) => {
  if (e instanceof ConfigError) process.stderr.write(e.message + '\n');
  else log.error('fatal', { error: (e as Error)?.stack ?? String(e) });
  process.exit(1);
});
