/**
 * Soak: the gateway process SIGKILLed and started again (same port) again and again while clients
 * keep sending and retrying, for minutes; then every request is delivered, and the ledger must be
 * what a clean delivery gives.
 *
 *   npm run build && npx tsc -p test/soak/tsconfig.json && node dist/test/soak/gateway-kill.js
 *
 * Environment (defaults): SOAK_SECONDS (120, time during which kills happen), SOAK_UP_SECONDS (6, mean
 * time between kills, jittered), SOAK_CLIENTS (8), SOAK_SPANS_PER_REQUEST (64), DATABASE_URL (unset:
 * embedded PostgreSQL in a temp dir; two databases are created on it). Every request is a copy of one
 * template with fresh ids, so a clean ledger holds exactly (requests × the template's ledger).
 * Exits 1 when a promise is broken: a span acknowledged before a kill missing after it, a request never
 * acknowledged after the restarts, or the final ledger differing from the clean one.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { encodedRequest } from '../../bench/genai-spans.js';
import { freshIds, spanKeys, startLoad } from '../helpers/load.js';
import { checkLedger, ledgerSummary, spawnGateway, type GatewayProcess } from '../helpers/faults.js';
import { runScript, verdict } from './script.js';

const num = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const SECONDS = num('SOAK_SECONDS', 120);
const UP_S = num('SOAK_UP_SECONDS', 6);
const CLIENTS = num('SOAK_CLIENTS', 8);
const SPANS_PER_REQUEST = Math.max(8, Math.round(num('SOAK_SPANS_PER_REQUEST', 64) / 8) * 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createDb(adminUrl: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await c.query(`CREATE DATABASE "${name}"`);
  await c.end();
  const u = new URL(adminUrl);
  u.pathname = '/' + name;
  await migrate(u.toString());
  return u.toString();
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-soak-'));
  chmodSync(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? null : await startEmbedded({ dataDir: dir, port: 0, persistent: false, database: 'postgres' });
  const admin = process.env.DATABASE_URL ?? embedded!.url;
  const problems: string[] = [];
  const gateways: GatewayProcess[] = [];
  try {
    const [url, refUrl] = [await createDb(admin, 'runledger_soak_kill'), await createDb(admin, 'runledger_soak_kill_ref')];
    const port = String(await freePort());
    const env = { DATABASE_URL: url, RUNLEDGER_HTTP_PORT: port, RUNLEDGER_LOG_LEVEL: 'error', RUNLEDGER_RETRY_AFTER_SECONDS: '1' };

    // The clean ledger of one template request.
    const template = encodedRequest(SPANS_PER_REQUEST / 8);
    const ref = await spawnGateway({ ...env, DATABASE_URL: refUrl, RUNLEDGER_HTTP_PORT: String(await freePort()) });
    const refDone = await startLoad({ url: ref.url, clients: 1, maxRequests: 1, deadlineMs: 30_000, next: freshIds(template) }).done;
    await ref.stop();
    if (refDone.unacked.length) throw new Error('the clean reference delivery failed');
    const one = (await ledgerSummary(refUrl)).totals;

    let gw = await spawnGateway(env);
    gateways.push(gw);
    const fresh = freshIds(template);
    const load = startLoad({
      url: gw.url, clients: CLIENTS, next: fresh, maxRequests: 10_000_000, durationMs: SECONDS * 1000,
      deadlineMs: (SECONDS + 120) * 1000, maxRetryDelayMs: 1000, connErrorDelayMs: 100,
    });
    let kills = 0;
    const unackedAtKills = new Set<number>();
    while (load.now() < SECONDS * 1000) {
      await sleep(UP_S * 1000 * (0.5 + Math.random()));
      if (load.now() >= SECONDS * 1000) break;
      gw.child.kill('SIGKILL');
      const ackedBefore = load.requests.filter((r) => r.ackedAt !== null);
      for (const r of load.requests) if (r.ackedAt === null) unackedAtKills.add(r.index);
      const exit = await gw.exited;
      kills++;
      const check = await checkLedger(url, spanKeys(ackedBefore));
      process.stdout.write(`  kill ${kills} at ${(load.now() / 1000).toFixed(1)} s (${exit.signal}): ${ackedBefore.length} requests acknowledged before, `
        + `${check.missing} of their spans missing; ${load.requests.length - ackedBefore.length} unacknowledged\n`);
      if (check.missing) problems.push(`kill ${kills}: ${check.missing} spans acknowledged before the kill are missing`);
      if (exit.signal !== 'SIGKILL') problems.push(`kill ${kills}: the gateway had exited by itself (${JSON.stringify(exit)}):\n${gw.logTail()}`);
      await sleep(500 + Math.random() * 1000);
      gw = await spawnGateway(env);
      gateways.push(gw);
    }
    // The clients re-send every request unacknowledged at a kill (committed before it or not) until acknowledged.
    const result = await load.done;
    const check = await checkLedger(url, spanKeys(result.acked));
    const got = (await ledgerSummary(url)).totals;
    const n = result.requests.length;
    const scale = (v: unknown) => (typeof v === 'number' ? v * n : typeof v === 'string' ? String(Number(v) * n) : v);
    const want = Object.fromEntries(Object.entries(one).map(([k, v]) => [k, k === 'frontier' ? v : scale(v)]));
    // numeric(20,10) sums as text: compare cost as numbers
    const same = Object.keys(want).every((k) => (k === 'total_cost' ? Math.abs(Number(got[k]) - Number(want[k])) < 1e-6 : String(got[k]) === String(want[k])));
    const s = result.stats;
    process.stdout.write([
      `runledger gateway-kill soak: ${(result.elapsedMs / 1000).toFixed(0)} s, ${kills} SIGKILLs, ${CLIENTS} clients × ${SPANS_PER_REQUEST}-span requests`,
      `  requests ${n} (${result.unacked.length} never acknowledged), ${unackedAtKills.size} were unacknowledged at a kill; attempts ${s.attempts}: `
        + `200 ${s.byOutcome.ok}, 503 ${s.byOutcome.unavailable}, 429 ${s.byOutcome.queue_full}, connection errors ${s.byOutcome.conn_error}, `
        + `timeouts ${s.byOutcome.timeout}, other ${JSON.stringify(s.otherStatuses)}`,
      `  ledger: ${JSON.stringify(got)}`,
      `  clean:  ${JSON.stringify(want)} (${n} × one request)`,
      `  missing ${check.missing}, duplicates ${check.duplicates}, runs miscounted ${check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens}`,
    ].join('\n') + '\n');
    if (kills === 0) problems.push('no kill happened');
    if (result.unacked.length) problems.push(`${result.unacked.length} requests never acknowledged`);
    if (Object.keys(s.otherStatuses).length) problems.push(`unexpected statuses ${JSON.stringify(s.otherStatuses)}`);
    if (check.missing || check.duplicates) problems.push(`${check.missing} acknowledged spans missing, ${check.duplicates} duplicated`);
    if (check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens + check.tracesWithoutRun) problems.push('run rollups disagree with stored spans');
    if (!same) problems.push('the ledger differs from a clean delivery of the same requests');
    await gw.stop();
  } finally {
    for (const g of gateways) if (g.alive()) g.child.kill('SIGKILL');
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return verdict(problems);
}

runScript(main);
