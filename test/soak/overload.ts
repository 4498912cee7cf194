/**
 * Soak: a gateway process with a small queue under sustained overload for minutes.
 *
 *   npm run build && npx tsc -p test/soak/tsconfig.json && node dist/test/soak/overload.js
 *
 * Environment (defaults): SOAK_SECONDS (120), SOAK_CLIENTS (64), SOAK_SPANS_PER_REQUEST (512),
 * SOAK_QUEUE_MAX_SPANS (4096), SOAK_RSS_BOUND_MB (340), DATABASE_URL (unset: embedded PostgreSQL in a
 * temp dir). Prints a summary; exits 1 when a promise is broken: the gateway died, a 429 / 503 came
 * without Retry-After, an unexpected status, RSS above the bound, or an acknowledged span missing /
 * stored twice / miscounted in its run.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { encodedRequest } from '../../bench/genai-spans.js';
import { freshIds, spanKeys, startLoad } from '../helpers/load.js';
import { checkLedger, sampleRss, spawnGateway } from '../helpers/faults.js';
import { runScript, verdict } from './script.js';

const num = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const SECONDS = num('SOAK_SECONDS', 120);
const CLIENTS = num('SOAK_CLIENTS', 64);
const SPANS_PER_REQUEST = Math.max(8, Math.round(num('SOAK_SPANS_PER_REQUEST', 512) / 8) * 8);
const QUEUE = num('SOAK_QUEUE_MAX_SPANS', 4096);
const RSS_BOUND_MB = num('SOAK_RSS_BOUND_MB', 340);

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-soak-'));
  chmodSync(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? null : await startEmbedded({ dataDir: dir, port: 0, persistent: false, database: 'runledger' });
  const url = process.env.DATABASE_URL ?? embedded!.url;
  const problems: string[] = [];
  try {
    await migrate(url);
    const gw = await spawnGateway({
      DATABASE_URL: url, RUNLEDGER_HTTP_PORT: String(await freePort()), RUNLEDGER_LOG_LEVEL: 'error',
      RUNLEDGER_QUEUE_MAX_SPANS: String(QUEUE), RUNLEDGER_BATCH_MAX_SPANS: String(Math.min(QUEUE, 2048)), RUNLEDGER_RETRY_AFTER_SECONDS: '1',
    });
    const rss = sampleRss(gw.pid, 100);
    const load = startLoad({
      url: gw.url, clients: CLIENTS, next: freshIds(encodedRequest(SPANS_PER_REQUEST / 8)),
      maxRequests: 10_000_000, deadlineMs: SECONDS * 1000, requestTimeoutMs: 30_000,
    });
    const progress = setInterval(() => {
      const s = load.stats;
      process.stdout.write(`  ${(load.now() / 1000).toFixed(0)} s: ${s.attempts} attempts, ${s.byOutcome.ok} acknowledged, `
        + `${s.byOutcome.queue_full} × 429, ${s.byOutcome.unavailable} × 503, ${s.byOutcome.conn_error + s.byOutcome.timeout} connection errors/timeouts\n`);
    }, 10_000);
    const result = await load.done;
    clearInterval(progress);
    const mem = rss.stop();
    const alive = gw.alive();
    const check = await checkLedger(url, spanKeys(result.acked));
    const s = result.stats;
    const secs = result.elapsedMs / 1000;
    const offered = (s.attempts * SPANS_PER_REQUEST) / secs;
    const acked = check.acked / secs;
    process.stdout.write([
      `runledger overload soak: ${secs.toFixed(0)} s, ${CLIENTS} clients × ${SPANS_PER_REQUEST}-span requests, queue ${QUEUE} spans`,
      `  attempts ${s.attempts}: 200 ${s.byOutcome.ok}, 429 ${s.byOutcome.queue_full} (${((100 * s.byOutcome.queue_full) / s.attempts).toFixed(0)}%), `
        + `503 ${s.byOutcome.unavailable}, connection errors ${s.byOutcome.conn_error}, timeouts ${s.byOutcome.timeout}, other ${JSON.stringify(s.otherStatuses)}`,
      `  offered ${offered.toFixed(0)} spans/s, acknowledged ${acked.toFixed(0)} spans/s (×${(offered / acked).toFixed(1)})`,
      `  gateway RSS max ${mem.maxMb.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB), last ${mem.lastMb.toFixed(0)} MB, ${mem.samples} samples; alive: ${alive}`,
      `  ledger: ${check.stored} spans stored, ${check.acked} acknowledged, missing ${check.missing}, duplicates ${check.duplicates}, `
        + `runs miscounted ${check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens}, traces without run ${check.tracesWithoutRun}`,
    ].join('\n') + '\n');
    if (!alive) problems.push(`the gateway exited:\n${gw.logTail()}`);
    if (s.missingRetryAfter) problems.push(`${s.missingRetryAfter} 429/503 answers without Retry-After`);
    if (Object.keys(s.otherStatuses).length) problems.push(`unexpected statuses ${JSON.stringify(s.otherStatuses)}`);
    if (s.byOutcome.conn_error + s.byOutcome.timeout) problems.push(`connection errors or timeouts: ${JSON.stringify(s.errors)}`);
    if (s.byOutcome.queue_full === 0) problems.push('no 429 at all: not overloaded');
    if (mem.maxMb >= RSS_BOUND_MB) problems.push(`RSS ${mem.maxMb.toFixed(0)} MB over the ${RSS_BOUND_MB} MB bound`);
    if (check.missing) problems.push(`${check.missing} acknowledged spans missing, e.g. ${check.missingSample.join(', ')}`);
    if (check.duplicates) problems.push(`${check.duplicates} spans stored twice`);
    if (check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens + check.tracesWithoutRun) problems.push('run rollups disagree with stored spans');
    if (result.acked.some((r) => r.rejected > 0)) problems.push('spans rejected in partial_success');
    await gw.stop();
  } finally {
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return verdict(problems);
}

runScript(main);
