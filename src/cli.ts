#!/usr/bin/env node
/** runledger command line: `serve` (default), `migrate` and the maintenance commands (src/cli/). */
import { SetupError } from './errors.js';
import { createLogger } from './log.js';
import { serve } from './cli/serve.js';
import { runMigrate } from './cli/migrate.js';
import { UsageError } from './cli/args.js';
import { refreshCommand, repairCommand, repriceCommand, retentionCommand, USAGE } from './cli/commands.js';

const log = createLogger();

const cmd = process.argv[2] ?? 'serve';
const args = process.argv.slice(3);
/** serve and migrate take no options (configuration is the environment): anything else is a usage error, not ignored. */
const noArgs = (run: () => Promise<void>) => async () => {
  if (args.length > 0) throw new UsageError(`${cmd} takes no options (configure it with RUNLEDGER_* and DATABASE_URL): ${args.join(' ')}`);
  return run();
};
const commands: Record<string, () => Promise<void>> = {
  serve: noArgs(() => serve(log)),
  migrate: noArgs(runMigrate),
  repair: () => repairCommand(args),
  reprice: () => repriceCommand(args),
  retention: () => retentionCommand(args),
  refresh: () => refreshCommand(args),
};
// a failure of these is one line on stderr; serve's is a log line (its output is the gateway's log)
const maintenance = cmd !== 'serve';
const run = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
if (args.includes('--help') || args.includes('-h')) {
  process.stderr.write(USAGE);
  process.exit(0);
}
if (!run) {
  process.stderr.write(cmd === 'help' || cmd === '--help' || cmd === '-h' ? USAGE : `unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
  process.exit(cmd === 'help' || cmd === '--help' || cmd === '-h' ? 0 : 2);
}
run().catch((e) => {
  if (e instanceof UsageError) {
    process.stderr.write(`runledger ${cmd}: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  // configuration, a port taken, a directory the embedded server cannot enter: the message says what to change
  if (e instanceof SetupError) process.stderr.write(e.message + '\n');
  else if (maintenance) process.stderr.write(`\nrunledger ${cmd}: ${(e as Error)?.message ?? String(e)}\n`);
  else log.error('fatal', { error: (e as Error)?.stack ?? String(e) });
  process.exit(1);
});
