/** `runledger serve` (the default): the gateway until SIGTERM / SIGINT, which drain and exit. */
import { configFromEnv } from '../config.js';
import type { Logger } from '../log.js';
import { startGateway } from '../gateway.js';

export async function serve(log: Logger): Promise<void> {
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
