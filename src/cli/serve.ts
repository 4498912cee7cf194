/** `runledger serve` (the default): the gateway until SIGTERM / SIGINT, which drain and exit. */
import { configFromEnv } from '../config.js';
import type { Logger } from '../log.js';
import { startGateway } from '../gateway.js';

export async function serve(log: Logger): Promise<void> {
  const cfg = configFromEnv();
  const gw = await startGateway(cfg, log);
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
  // It listens already; the banner waits for the first attempt at the database (migrations, API keys),
  // so that what it says is what a request sent now gets.
  await gw.startup;
  const r = await gw.readiness();
  const shown = gw.databaseUrl.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
  process.stdout.write(
    `runledger is listening\n` +
      `  OTLP/HTTP  ${gw.httpUrl}/v1/traces   (application/x-protobuf, application/json)\n` +
      `  OTLP/gRPC  ${gw.grpcAddress}\n` +
      `  ledger     ${shown}  (schema runledger${cfg.databaseUrl ? '' : `, embedded, data in ${cfg.dataDir}/`})\n` +
      (r.ready ? '' : `  not ready  ${r.reason}\n             (answering 503 until it is; /healthz answers 200)\n`),
  );
}
