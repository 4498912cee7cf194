/** `runledger serve` (the default): the gateway until SIGTERM / SIGINT, which drain and exit. */
import { configFromEnv } from '../config.js';
import type { Logger } from '../log.js';
import { startGateway, type Gateway } from '../gateway.js';

export async function serve(log: Logger): Promise<void> {
  const cfg = configFromEnv();
  // Signals are taken before start-up: a signal while the embedded PostgreSQL was starting killed the process
  // without stopping the server, and the next start failed on its postmaster.pid. SIGHUP (a closed terminal or
  // ssh session) drains like SIGTERM. Before the gateway is up there is nothing accepted to drain: exit, and
  // the embedded server is stopped on the way out (src/db/embedded.ts).
  let gw: Gateway | null = null;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (gw === null) {
      log.info('stopping during start-up', { signal });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    log.info('shutting down: draining accepted spans', { signal });
    gw.stop().then(
      () => { log.info('stopped'); process.exit(0); },
      (e) => { log.error('shutdown failed', { error: String(e) }); process.exit(1); },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  gw = await startGateway(cfg, log);
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
