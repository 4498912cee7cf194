/**
 * Soak: PostgreSQL crashed (`pg_ctl stop -m immediate`) and restarted again and again under load, for
 * minutes, with one gateway process that is never restarted.
 *
 *   npm run build && npx tsc -p test/soak/tsconfig.json && node dist/test/soak/db-restart.js
 *
 * Environment (defaults): SOAK_SECONDS (180), SOAK_UP_SECONDS (15, mean time between crashes, jittered),
 * SOAK_DOWN_SECONDS (3), SOAK_CLIENTS (8), SOAK_SPANS_PER_REQUEST (64), SOAK_RSS_BOUND_MB (340),
 * SOAK_RECOVERY_BOUND_SECONDS (15). Runs its own embedded PostgreSQL in a temp dir (it has to crash it).
 * Prints a line per crash and a summary; exits 1 when a promise is broken: the gateway died, an
 * outage answered with something else than 503 + Retry-After, no recovery within the bound, RSS over
 * the bound, or an acknowledged span missing / stored twice / miscounted in its run.
 */
import { freePort } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { encodedRequest } from '../../bench/genai-spans.js';
import { freshIds, spanKeys, startLoad, type LoadResult } from '../helpers/load.js';
import { checkLedger, crashablePostgres, pgLog, sampleRss, spawnGateway, until } from '../helpers/faults.js';
import { opentelemetry } from '../../src/otlp/gen/otlp.js';
import { runScript, verdict } from './script.js';

const num = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const SECONDS = num('SOAK_SECONDS', 180);
const UP_S = num('SOAK_UP_SECONDS', 15);
const DOWN_S = num('SOAK_DOWN_SECONDS', 3);
const CLIENTS = num('SOAK_CLIENTS', 8);
const SPANS_PER_REQUEST = Math.max(8, Math.round(num('SOAK_SPANS_PER_REQUEST', 64) / 8) * 8);
const RSS_BOUND_MB = num('SOAK_RSS_BOUND_MB', 340);
const RECOVERY_BOUND_S = num('SOAK_RECOVERY_BOUND_SECONDS', 15);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const emptyRequest = () => opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.encode({
  resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 7), spanId: Buffer.alloc(8, 9), name: 'probe', startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + 1000n) }] }] }],
} as never).finish();

async function main(): Promise<number> {
  const problems: string[] = [];
  const pg = await crashablePostgres(await freePort());
  try {
    await migrate(pg.url);
    const gw = await spawnGateway({
      DATABASE_URL: pg.url, RUNLEDGER_HTTP_PORT: String(await freePort()), RUNLEDGER_LOG_LEVEL: 'error', RUNLEDGER_RETRY_AFTER_SECONDS: '1',
    });
    const rss = sampleRss(gw.pid, 100);
    const load = startLoad({
      url: gw.url, clients: CLIENTS, next: freshIds(encodedRequest(SPANS_PER_REQUEST / 8)),
      maxRequests: 10_000_000, deadlineMs: (SECONDS + 120) * 1000, maxRetryDelayMs: 1000, connErrorDelayMs: 100,
    });
    const recoveries: number[] = [];
    let cycle = 0;
    let result: LoadResult;
    try {
      while (load.now() < SECONDS * 1000) {
        await sleep(UP_S * 1000 * (0.5 + Math.random()));
        if (!gw.alive()) break;
        cycle++;
        const ackedBefore = load.stats.acked;
        await pg.crash();
        const downAt = load.now();
        await sleep(300);
        const probe = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(emptyRequest()) });
        const ready = await fetch(`${gw.url}/readyz`);
        if (probe.status !== 503 || probe.headers.get('retry-after') === null) problems.push(`cycle ${cycle}: a request while down got ${probe.status} (retry-after ${probe.headers.get('retry-after')})`);
        if (ready.status !== 503) problems.push(`cycle ${cycle}: /readyz answered ${ready.status} while down`);
        await sleep(Math.max(0, DOWN_S * 1000 - 300));
        if (!gw.alive()) break;
        await pg.start();
        const upAt = load.now();
        try {
          await until(() => !gw.alive() || (load.stats.lastOkAt !== null && load.stats.lastOkAt > upAt), RECOVERY_BOUND_S * 1000, 'recovery');
        } catch {
          problems.push(`cycle ${cycle}: no 200 within ${RECOVERY_BOUND_S} s after PostgreSQL was back`);
          continue;
        }
        const rec = load.stats.lastOkAt! - upAt;
        recoveries.push(rec);
        const s = load.stats;
        process.stdout.write(`  crash ${cycle} at ${(downAt / 1000).toFixed(1)} s: ${ackedBefore} requests acknowledged before; `
          + `503s so far ${s.byOutcome.unavailable}; first 200 ${rec.toFixed(0)} ms after PostgreSQL was up; gateway RSS max so far ${rss.maxMb().toFixed(0)} MB\n`);
      }
    } finally {
      result = await load.stop();
    }
    const mem = rss.stop();
    const alive = gw.alive();
    const check = await checkLedger(pg.url, spanKeys(result.acked));
    const s = result.stats;
    const sorted = [...recoveries].sort((a, b) => a - b);
    process.stdout.write([
      `runledger PostgreSQL-crash soak: ${(result.elapsedMs / 1000).toFixed(0)} s, ${cycle} crashes (down ${DOWN_S} s each), ${CLIENTS} clients × ${SPANS_PER_REQUEST}-span requests`,
      `  attempts ${s.attempts}: 200 ${s.byOutcome.ok}, 503 ${s.byOutcome.unavailable}, 429 ${s.byOutcome.queue_full}, `
        + `connection errors ${s.byOutcome.conn_error}, timeouts ${s.byOutcome.timeout}, other ${JSON.stringify(s.otherStatuses)}, missing Retry-After ${s.missingRetryAfter}`,
      `  recovery (PostgreSQL up → first 200): min ${sorted[0]?.toFixed(0) ?? '-'} ms, median ${sorted[sorted.length >> 1]?.toFixed(0) ?? '-'} ms, max ${sorted[sorted.length - 1]?.toFixed(0) ?? '-'} ms`,
      `  gateway alive: ${alive}, RSS max ${mem.maxMb.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`,
      `  ledger: ${check.stored} spans stored, ${check.acked} acknowledged, missing ${check.missing}, duplicates ${check.duplicates}, `
        + `runs miscounted ${check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens}, traces without run ${check.tracesWithoutRun}`,
    ].join('\n') + '\n');
    if (!alive) problems.push(`the gateway exited:\n${gw.logTail()}`);
    if (cycle === 0) problems.push('no crash happened (SOAK_SECONDS too short?)');
    if (s.missingRetryAfter) problems.push(`${s.missingRetryAfter} 429/503 answers without Retry-After`);
    if (Object.keys(s.otherStatuses).length) problems.push(`unexpected statuses ${JSON.stringify(s.otherStatuses)}`);
    if (s.byOutcome.conn_error + s.byOutcome.timeout) {
      // which errors, by code (ECONNRESET, EPIPE, TIMEOUT, ...): one failed run lost them when only the verdict was kept
      problems.push(`connection errors or timeouts from a gateway that stayed up: ${JSON.stringify(s.errors)}`);
    }
    if (mem.maxMb >= RSS_BOUND_MB) problems.push(`RSS ${mem.maxMb.toFixed(0)} MB over the ${RSS_BOUND_MB} MB bound`);
    if (check.missing) problems.push(`${check.missing} acknowledged spans missing, e.g. ${check.missingSample.join(', ')}`);
    if (check.duplicates) problems.push(`${check.duplicates} spans stored twice`);
    if (check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens + check.tracesWithoutRun) problems.push('run rollups disagree with stored spans');
    if (result.acked.some((r) => r.rejected > 0)) problems.push('spans rejected in partial_success');
    if (problems.length) process.stdout.write(`postgres log (tail):\n${pgLog(pg).slice(-2000)}\n`);
    await gw.stop();
  } finally {
    await pg.destroy();
  }
  return verdict(problems);
}

runScript(main);
