/**
 * Soak: hostile clients holding a valid key (tenant "evil") beside normal ones (tenant "good"), one
 * gateway process with a small queue, for a minute or more.
 *
 *   npm run build && npx tsc -p test/soak/tsconfig.json && node dist/test/soak/hostile.js
 *
 * Phases: SOAK_CALM_SECONDS (10) of normal clients alone (their latency then is the reference); SOAK_SECONDS
 * (60) of the same normal clients beside the hostile mix; SOAK_STALL_SECONDS (15) with every write blocked
 * (a lock on runledger.spans held by another session) while the mix goes on and SOAK_STALL_CLIENTS (16)
 * clients × 1024 spans fill the queue: the worst case for memory (a full queue, a full admission budget).
 *
 * The hostile mix, each actor starting again 200 ms after it is answered: SOAK_CHUNKED (24) chunked uploads
 * of SOAK_CHUNKED_MB (40) MB streamed as fast as the gateway reads them, then held open; SOAK_SLOW (8) uploads
 * at 1 byte/s within the limits (half declaring 1 MiB, half chunked); SOAK_HUGE (2) declaring Content-Length
 * 64 MiB at 1 byte/s; SOAK_GRPC (16) gRPC messages of SOAK_GRPC_MB (48) MB; SOAK_GRPC_SLOW (2) gRPC messages
 * of 1 MiB at 1 byte/s; SOAK_COSTLY (1) client each of valid requests as large as one request may be, built to
 * cost the most per byte (one span with one huge attribute; one span with ~130,000 small attributes).
 * Normal clients: SOAK_CLIENTS (8) OTLP/HTTP × SOAK_SPANS_PER_REQUEST (64) spans retrying like exporters, and
 * SOAK_GRPC_CLIENTS (2) OTLP/gRPC (grpc-js). Other variables (defaults): SOAK_QUEUE_MAX_SPANS (4096),
 * SOAK_RSS_BOUND_MB (the README formula for this configuration), SOAK_MIN_SUCCESS (0.99), SOAK_P99_BOUND_MS
 * (2000, or 3 × the calm p99 when larger: the machine may be busy), SOAK_BODY_GRACE_SECONDS (5),
 * SOAK_CUT_SLACK_SECONDS (5: on a busy machine both processes see the cut late), SOAK_DEBUG (phase marks),
 * DATABASE_URL (unset: embedded PostgreSQL in a temp dir).
 *
 * Prints RSS max (per phase), the normal clients' latency p50/p99 and success rate (calm and under attack),
 * and what the hostile clients got; exits 1 when a promise is broken: the gateway died, RSS over the
 * bound, normal clients refused or slowed beyond the bounds under attack, a slow upload not cut (503 +
 * connection closed / DEADLINE_EXCEEDED) within grace + slack, a declared-huge upload not refused at
 * once (413), or an acknowledged span missing / stored twice / miscounted.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import * as grpc from '@grpc/grpc-js';
import { freePort, startEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { encodedRequest } from '../../bench/genai-spans.js';
import { memoryBoundMb } from '../../src/sink/admission.js';
import { defaults } from '../../src/config.js';
import { freshIds, spanKeys, startLoad, type LoadBody } from '../helpers/load.js';
import { checkLedger, sampleRss, spawnGateway } from '../helpers/faults.js';
import { costlyRequest, grpcRawUpload, grpcUpload, percentile, rawUpload, type UploadOutcome } from '../helpers/hostile.js';
import { runScript, verdict } from './script.js';

const num = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const CALM_SECONDS = num('SOAK_CALM_SECONDS', 10);
const SECONDS = num('SOAK_SECONDS', 60);
const STALL_SECONDS = num('SOAK_STALL_SECONDS', 15);
const STALL_CLIENTS = num('SOAK_STALL_CLIENTS', 16);
const QUEUE = num('SOAK_QUEUE_MAX_SPANS', 4096);
const CHUNKED = num('SOAK_CHUNKED', 24);
const CHUNKED_MB = num('SOAK_CHUNKED_MB', 40);
const SLOW = num('SOAK_SLOW', 8);
const HUGE = num('SOAK_HUGE', 2);
const GRPC_BIG = num('SOAK_GRPC', 16);
const GRPC_MB = num('SOAK_GRPC_MB', 48);
const GRPC_SLOW = num('SOAK_GRPC_SLOW', 2);
const COSTLY = num('SOAK_COSTLY', 1);
const CLIENTS = num('SOAK_CLIENTS', 8);
const GRPC_CLIENTS = num('SOAK_GRPC_CLIENTS', 2);
const SPANS_PER_REQUEST = Math.max(8, Math.round(num('SOAK_SPANS_PER_REQUEST', 64) / 8) * 8);
const GRACE_S = num('SOAK_BODY_GRACE_SECONDS', 5);
const CUT_SLACK_S = num('SOAK_CUT_SLACK_SECONDS', 5);
const MIN_SUCCESS = num('SOAK_MIN_SUCCESS', 0.99);
const P99_BOUND_MS = num('SOAK_P99_BOUND_MS', 2000);
const CONFIG = { ...defaults, queueMaxSpans: QUEUE };
const RSS_BOUND_MB = num('SOAK_RSS_BOUND_MB', memoryBoundMb(CONFIG));

const GOOD = 'good-key-0123456789';
const EVIL = 'evil-key-0123456789';
const HEAVY = 'heavy-key-0123456789';
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tally of answers by label (HTTP status or gRPC code name). */
class Tally {
  readonly counts: Record<string, number> = {};
  add(label: string | number): void { this.counts[label] = (this.counts[label] ?? 0) + 1; }
  toString(): string { return tally(this.counts); }
}
const tally = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k}×${v}`).join(' ') || 'none';

/** The gateway's event-loop delay since the last scrape (prom-client resets its histogram on every collect), ms. */
async function eventLoopLag(httpUrl: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99: get('nodejs_eventloop_lag_p99_seconds'), max: get('nodejs_eventloop_lag_max_seconds') };
}

interface NormalResult {
  httpAttempts: number; httpOk: number; httpMs: number[]; missingRetryAfter: number; other: string;
  grpcCalls: number; grpcOk: number; grpcMs: number[]; grpc: Tally; ackedKeys: string[];
}

/** The normal tenant's clients for `seconds`: HTTP ones retrying like exporters, gRPC ones one call at a time. */
/** Request factories, built before any phase (finding the ids in a 1024-span template takes seconds on a busy machine). */
let small: () => LoadBody;
let large: () => LoadBody;

async function normalClients(httpUrl: string, grpcAddress: string, seconds: number,
  { clients = CLIENTS, next = small, grpcClients = GRPC_CLIENTS, retryForSeconds = 0 } = {}): Promise<NormalResult> {
  const httpMs: number[] = [];
  const load = startLoad({
    url: httpUrl, clients, next, headers: { authorization: `Bearer ${GOOD}` },
    maxRequests: 10_000_000, durationMs: seconds * 1000, deadlineMs: (seconds + retryForSeconds) * 1000, requestTimeoutMs: 30_000,
    onAttempt: (a) => httpMs.push(a.ms),
  });
  const end = performance.now() + seconds * 1000;
  const tallied = new Tally();
  const grpcMs: number[] = [];
  const grpcAcked: string[] = [];
  await Promise.all(Array.from({ length: grpcClients }, async () => {
    while (performance.now() < end) {
      const b = next();
      const r = await grpcUpload(grpcAddress, Buffer.from(b.body), { authorization: `Bearer ${GOOD}` }, 30_000);
      tallied.add(grpc.status[r.code] ?? String(r.code));
      grpcMs.push(r.ms);
      if (r.code === 0) grpcAcked.push(...b.spans);
      else await sleep(1000);
    }
  }));
  const result = await load.done;
  const s = result.stats;
  const other = [s.byOutcome.queue_full && `429×${s.byOutcome.queue_full}`, s.byOutcome.unavailable && `503×${s.byOutcome.unavailable}`,
    s.byOutcome.conn_error && `conn errors×${s.byOutcome.conn_error}`, s.byOutcome.timeout && `timeouts×${s.byOutcome.timeout}`,
    ...Object.entries(s.otherStatuses).map(([k, v]) => `${k}×${v}`)].filter(Boolean).join(' ') || 'none';
  return {
    httpAttempts: s.attempts, httpOk: s.byOutcome.ok, httpMs, missingRetryAfter: s.missingRetryAfter, other,
    grpcCalls: grpcMs.length, grpcOk: tallied.counts.OK ?? 0, grpcMs, grpc: tallied,
    ackedKeys: [...spanKeys(result.acked), ...grpcAcked],
  };
}

const ms = (xs: number[], p: number) => percentile(xs, p).toFixed(0);
const share = (ok: number, n: number) => (n === 0 ? 1 : ok / n);
const describe = (label: string, r: NormalResult) =>
  `  normal clients, ${label}: HTTP ${r.httpAttempts} attempts, success ${(100 * share(r.httpOk, r.httpAttempts)).toFixed(2)}% (other answers: ${r.other}), `
  + `latency p50 ${ms(r.httpMs, 50)} ms, p99 ${ms(r.httpMs, 99)} ms; gRPC ${r.grpcCalls} calls, success ${(100 * share(r.grpcOk, r.grpcCalls)).toFixed(2)}% `
  + `(${r.grpc}), latency p50 ${ms(r.grpcMs, 50)} ms, p99 ${ms(r.grpcMs, 99)} ms`;

interface MixInput { httpUrl: string; grpcAddress: string; seconds: number; maxBodyBytes: number; tinyAfterSeconds: number }
interface MixReport {
  tallies: Record<'chunked' | 'slow' | 'huge' | 'grpcBig' | 'grpcSlow' | 'fat' | 'tiny', Record<string, number>>;
  /** ms from the start of each slow upload to its cut (503 / DEADLINE_EXCEEDED) */
  slowCuts: number[];
  /** hostile uploads answered otherwise than promised */
  broken: string[];
  /** the mix thread's own event-loop delay, ms (its timings are late by up to this much) */
  lag: { p99: number; max: number };
}

/** The hostile mix (tenant "evil") for `seconds`, each actor starting again 200 ms after it is answered. */
async function hostileMix({ httpUrl, grpcAddress, seconds, maxBodyBytes, tinyAfterSeconds }: MixInput, ready: () => void): Promise<MixReport> {
  // Built before the clock starts: encoding 110,000 attributes blocks this thread for seconds.
  const costlyBodies = { fat: costlyRequest('fat', Math.floor(maxBodyBytes * 0.9)), tiny: costlyRequest('tiny', Math.floor(maxBodyBytes * 0.9)) };
  ready();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const running = () => performance.now() < end;
  const remaining = () => Math.max(1000, end - performance.now());
  const evil = { authorization: `Bearer ${EVIL}` };
  const heavy = { authorization: `Bearer ${HEAVY}` };
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const t = { chunked: new Tally(), slow: new Tally(), huge: new Tally(), grpcBig: new Tally(), grpcSlow: new Tally(), fat: new Tally(), tiny: new Tally() };
  const slowCuts: number[] = [];
  const broken: string[] = [];
  const actor = async (once: () => Promise<void>) => { while (running()) { await once(); await sleep(200); } };
  // A slow upload within the limits is cut: 503 and the connection closed (also when refused before it is
  // read: what is left of a refused body is read under the same rate check), or refused at once with the
  // connection closed (a refused chunked body is not read).
  const slowOnce = (declared: number | undefined) => async () => {
    const r: UploadOutcome = await rawUpload({ url: httpUrl, headers: evil, declared, bytes: MiB, bytesPerSecond: 1, maxMs: remaining() });
    t.slow.add(`${r.status || 'no answer'}${r.closed ? '' : ' (left open)'}`);
    if (r.status === 503 && r.closed) slowCuts.push(r.ms);
    else if (r.closed && r.status === 429 && declared === undefined) return;
    else if (r.status !== 0 || r.closed) broken.push(`HTTP slow upload (${declared === undefined ? 'chunked' : 'declared 1 MiB'}): ${r.status || 'no answer'}${r.closed ? '' : ', connection left open'} after ${r.ms.toFixed(0)} ms`);
  };
  // Valid requests as large as one request may be, built to cost the most per byte (tenant "heavy": the
  // floods of "evil" would take the share they need).
  const costly = (kind: 'fat' | 'tiny') => {
    const next = costlyBodies[kind];
    return async () => {
      const res = await fetch(`${httpUrl}/v1/traces`, { method: 'POST', headers: { ...heavy, 'content-type': 'application/x-protobuf' }, body: next() as BodyInit })
        .then(async (r) => { await r.arrayBuffer(); return r.status; }, () => 0);
      t[kind].add(res);
    };
  };
  const progress = setInterval(() => {
    process.stdout.write(`  mix ${((performance.now() - t0) / 1000).toFixed(0)} s: chunked ${t.chunked}; slow ${t.slow}; declared-huge ${t.huge}; `
      + `gRPC big ${t.grpcBig}; gRPC slow ${t.grpcSlow}; fat ${t.fat}; tiny ${t.tiny}\n`);
  }, 10_000);
  await Promise.all([
    ...Array.from({ length: CHUNKED }, () => actor(async () => {
      const r = await rawUpload({ url: httpUrl, headers: evil, bytes: CHUNKED_MB * 1e6, hold: true, maxMs: Math.min(30_000, remaining()) });
      t.chunked.add(`${r.status || 'no answer'}`);
    })),
    ...Array.from({ length: Math.ceil(SLOW / 2) }, () => actor(slowOnce(MiB))),
    ...Array.from({ length: Math.floor(SLOW / 2) }, () => actor(slowOnce(undefined))),
    // The upload of issue 9, Content-Length 64 MiB at 1 byte/s: refused at once with 413 (more than one
    // request may hold), reserving nothing, well before any rate check.
    ...Array.from({ length: HUGE }, () => actor(async () => {
      const r = await rawUpload({ url: httpUrl, headers: evil, declared: 64 * MiB, bytes: 64 * MiB, bytesPerSecond: 1, maxMs: remaining() });
      t.huge.add(`${r.status || 'no answer'}`);
      if ((r.status !== 0 || r.closed) && (r.status !== 413 || r.ms > GRACE_S * 1000)) broken.push(`declared-huge slow upload: ${r.status || 'no answer'} after ${r.ms.toFixed(0)} ms`);
    })),
    ...Array.from({ length: GRPC_BIG }, () => actor(async () => {
      const r = await grpcRawUpload(grpcAddress, { declared: GRPC_MB * 1e6, metadata: evil, maxMs: Math.min(60_000, remaining()) });
      t.grpcBig.add(grpc.status[r.code] ?? String(r.code));
    })),
    // A slow gRPC message is cut with DEADLINE_EXCEEDED, or refused at once (RESOURCE_EXHAUSTED) while its
    // tenant's share is taken by its own floods.
    ...Array.from({ length: GRPC_SLOW }, () => actor(async () => {
      const r = await grpcRawUpload(grpcAddress, { declared: MiB, bytesPerSecond: 1, metadata: evil, maxMs: remaining() });
      t.grpcSlow.add(grpc.status[r.code] ?? String(r.code));
      if (r.code === grpc.status.DEADLINE_EXCEEDED) slowCuts.push(r.ms);
      else if (r.code !== -1 && r.code !== grpc.status.RESOURCE_EXHAUSTED) broken.push(`gRPC slow upload: ${grpc.status[r.code] ?? r.code} after ${r.ms.toFixed(0)} ms`);
    })),
    ...Array.from({ length: COSTLY }, () => actor(costly('fat'))),
    // Not under attack: one such request takes a prepare worker ~1-3 s (CPU, not memory), and the others'
    // requests wait behind it; the latency promise is about bodies in flight, this is about memory.
    ...Array.from({ length: COSTLY }, async () => { await sleep(tinyAfterSeconds * 1000); await actor(costly('tiny')); }),
  ]);
  clearInterval(progress);
  loop.disable();
  const tallies = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.counts])) as MixReport['tallies'];
  return { tallies, slowCuts, broken, lag: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 } };
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-soak-'));
  chmodSync(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? null : await startEmbedded({ dataDir: dir, port: 0, persistent: false, database: 'runledger' });
  const url = process.env.DATABASE_URL ?? embedded!.url;
  const problems: string[] = [];
  small = freshIds(encodedRequest(SPANS_PER_REQUEST / 8));
  large = freshIds(encodedRequest(128));
  try {
    await migrate(url);
    const grpcPort = await freePort();
    const gw = await spawnGateway({
      DATABASE_URL: url, RUNLEDGER_HTTP_PORT: String(await freePort()), RUNLEDGER_GRPC_PORT: String(grpcPort),
      RUNLEDGER_LOG_LEVEL: 'error', RUNLEDGER_QUEUE_MAX_SPANS: String(QUEUE), RUNLEDGER_BATCH_MAX_SPANS: String(Math.min(QUEUE, 2048)),
      RUNLEDGER_RETRY_AFTER_SECONDS: '1', RUNLEDGER_API_KEYS: `${GOOD}=good,${EVIL}=evil,${HEAVY}=heavy`,
      RUNLEDGER_BODY_GRACE_SECONDS: String(GRACE_S),
    });
    const grpcAddress = `127.0.0.1:${grpcPort}`;
    const rss = sampleRss(gw.pid, 100);
    const ownLoop = monitorEventLoopDelay({ resolution: 20 });
    ownLoop.enable();
    const t00 = performance.now();
    const mark = (what: string) => { if (process.env.SOAK_DEBUG) process.stdout.write(`  [${((performance.now() - t00) / 1000).toFixed(1)} s] ${what}; own lag max ${(ownLoop.max / 1e6).toFixed(0)} ms\n`); };
    await eventLoopLag(gw.url);
    mark('calm');
    const calm = await normalClients(gw.url, grpcAddress, CALM_SECONDS);
    mark('attack');
    const calmRss = rss.maxMb();
    const calmLag = await eventLoopLag(gw.url);

    // The hostile mix runs in a worker thread, through the attack and the stall: its senders' work does not
    // delay the normal clients' event loop.
    const { AdmissionBudget, admissionBudgetBytes } = await import('../../src/sink/admission.js');
    const maxBodyBytes = new AdmissionBudget({ budgetBytes: admissionBudgetBytes(QUEUE), sharePercent: CONFIG.admissionSharePercent, retryAfterSeconds: 1 }).maxBodyBytes;
    const mix = new Worker(new URL(import.meta.url), { workerData: { httpUrl: gw.url, grpcAddress, seconds: SECONDS + STALL_SECONDS, maxBodyBytes, tinyAfterSeconds: SECONDS } satisfies MixInput });
    const mixDone = new Promise<MixReport>((resolve, reject) => {
      mix.on('message', (m: MixReport | 'ready') => { if (m !== 'ready') resolve(m); });
      mix.once('error', reject);
    });
    await new Promise<void>((resolve) => mix.on('message', (m) => { if (m === 'ready') resolve(); }));
    const attacked = await normalClients(gw.url, grpcAddress, SECONDS);
    const attackRss = rss.maxMb();
    const attackLag = await eventLoopLag(gw.url);

    mark('stall');
    // Writes blocked: the queue fills with spans (and bytes), the admission with bodies; memory must hold.
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE runledger.spans IN ACCESS EXCLUSIVE MODE');
    const stallStart = performance.now();
    const stalled = normalClients(gw.url, grpcAddress, STALL_SECONDS, { clients: STALL_CLIENTS, next: large, grpcClients: 0, retryForSeconds: 30 });
    await sleep(STALL_SECONDS * 1000);
    const stallRss = rss.maxMb();
    const stallLag = await eventLoopLag(gw.url);
    await locker.query('ROLLBACK');
    await locker.end();
    mark('unlocked');
    const stall = await stalled; // retried until acknowledged once writes flow again
    mark('stall clients done');
    const h = await mixDone;
    await mix.terminate();
    mark('mix done');
    const mem = rss.stop();
    const alive = gw.alive();
    const check = await checkLedger(url, [...calm.ackedKeys, ...attacked.ackedKeys, ...stall.ackedKeys]);
    mark('ledger checked');
    const p99Bound = Math.max(P99_BOUND_MS, 3 * percentile([...calm.httpMs, ...calm.grpcMs], 99));
    const { chunked, slow, huge, grpcBig, grpcSlow, fat, tiny } = h.tallies;
    process.stdout.write([
      `runledger hostile soak: queue ${QUEUE} spans; ${CALM_SECONDS} s calm, ${SECONDS} s under attack, ${STALL_SECONDS} s with writes blocked `
        + `(${((performance.now() - stallStart) / 1000).toFixed(0)} s until its requests were acknowledged)`,
      `  tenant "evil": ${CHUNKED} chunked × ${CHUNKED_MB} MB held open, ${SLOW} slow uploads at 1 byte/s, ${HUGE} declaring 64 MiB at 1 byte/s, `
        + `${GRPC_BIG} gRPC × ${GRPC_MB} MB, ${GRPC_SLOW} slow gRPC; tenant "heavy": ${COSTLY} + ${COSTLY} × ${(maxBodyBytes * 0.9 / MiB).toFixed(1)} MiB costly requests; `
        + `tenant "good": ${CLIENTS} HTTP + ${GRPC_CLIENTS} gRPC clients × ${SPANS_PER_REQUEST} spans (${STALL_CLIENTS} × 1024 spans in the stall)`,
      `  gateway RSS max ${mem.maxMb.toFixed(0)} MB (bound ${RSS_BOUND_MB.toFixed(0)} MB): calm ${calmRss.toFixed(0)} MB, under attack ${attackRss.toFixed(0)} MB, `
        + `writes blocked ${stallRss.toFixed(0)} MB; last ${mem.lastMb.toFixed(0)} MB, ${mem.samples} samples; alive: ${alive}`,
      describe('calm', calm),
      describe('under attack', attacked),
      `  event-loop delay: gateway calm p99 ${calmLag.p99.toFixed(0)} ms, max ${calmLag.max.toFixed(0)} ms; under attack p99 ${attackLag.p99.toFixed(0)} ms, `
        + `max ${attackLag.max.toFixed(0)} ms; writes blocked p99 ${stallLag.p99.toFixed(0)} ms, max ${stallLag.max.toFixed(0)} ms; this script's normal clients p99 ${(ownLoop.percentile(99) / 1e6).toFixed(0)} ms, max ${(ownLoop.max / 1e6).toFixed(0)} ms; `
        + `its hostile mix p99 ${h.lag.p99.toFixed(0)} ms, max ${h.lag.max.toFixed(0)} ms`,
      `  hostile: chunked ${tally(chunked)}; slow ${tally(slow)}; declared-huge ${tally(huge)}; gRPC big ${tally(grpcBig)}; gRPC slow ${tally(grpcSlow)}; `
        + `fat ${tally(fat)}; tiny ${tally(tiny)}; slow uploads cut after ${ms(h.slowCuts, 0)}–${ms(h.slowCuts, 100)} ms`,
      `  ledger: ${check.acked} acknowledged spans, missing ${check.missing}, duplicates ${check.duplicates}, `
        + `runs miscounted ${check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens}, traces without run ${check.tracesWithoutRun}`,
    ].join('\n') + '\n');
    if (!alive) problems.push(`the gateway exited:\n${gw.logTail()}`);
    if (mem.maxMb >= RSS_BOUND_MB) problems.push(`RSS ${mem.maxMb.toFixed(0)} MB over the ${RSS_BOUND_MB.toFixed(0)} MB bound`);
    for (const [label, r] of [['calm', calm], ['under attack', attacked]] as const) {
      if (share(r.httpOk, r.httpAttempts) < MIN_SUCCESS) problems.push(`normal HTTP clients ${label}: ${(100 * share(r.httpOk, r.httpAttempts)).toFixed(2)}% of attempts answered 200`);
      if (share(r.grpcOk, r.grpcCalls) < MIN_SUCCESS) problems.push(`normal gRPC clients ${label}: ${(100 * share(r.grpcOk, r.grpcCalls)).toFixed(2)}% of calls OK`);
    }
    for (const r of [calm, attacked, stall]) if (r.missingRetryAfter) problems.push(`${r.missingRetryAfter} 429/503 answers without Retry-After`);
    if (stall.ackedKeys.length === 0) problems.push('nothing acknowledged once writes flowed again');
    const p99 = percentile([...attacked.httpMs, ...attacked.grpcMs], 99);
    if (p99 > p99Bound) problems.push(`normal clients' latency p99 under attack ${p99.toFixed(0)} ms, over ${p99Bound.toFixed(0)} ms`);
    if (h.broken.length) problems.push(`hostile uploads not answered as promised (${h.broken.length}): ${h.broken.slice(0, 5).join('; ')}`);
    const tooLate = h.slowCuts.filter((m) => m > (GRACE_S + CUT_SLACK_S) * 1000);
    if (tooLate.length) problems.push(`${tooLate.length} slow uploads cut later than ${GRACE_S + CUT_SLACK_S} s (max ${ms(h.slowCuts, 100)} ms)`);
    if (SLOW + GRPC_SLOW > 0 && h.slowCuts.length === 0) problems.push('no slow upload was cut');
    if (check.missing) problems.push(`${check.missing} acknowledged spans missing, e.g. ${check.missingSample.join(', ')}`);
    if (check.duplicates) problems.push(`${check.duplicates} spans stored twice`);
    if (check.wrongSpanCount + check.wrongNodeCount + check.wrongTokens + check.tracesWithoutRun) problems.push('run rollups disagree with stored spans');
    await gw.stop();
  } finally {
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return verdict(problems);
}

if (isMainThread) runScript(main);
else void hostileMix(workerData as MixInput, () => parentPort!.postMessage('ready')).then((r) => parentPort!.postMessage(r));
