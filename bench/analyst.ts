/**
 * Analyst scale benchmark: loads N spans over D days through a gateway process (OTLP/HTTP protobuf, one API
 * key per tenant; bench/analyst-data.ts), then times every example of docs/queries.md and README.md, every
 * seed pattern of test/compat/patterns and a few queries of issue 12 as the owner and as a tenant's bound analyst (runledger.analyst_tenants),
 * printing time (best of a few runs after a warm run), rows, the partitions read and the JIT use of each.
 *
 *   npm run bench:analyst                                   # embedded PostgreSQL in a temp dir, 1M spans
 *   DATABASE_URL=postgres://... BENCH_ANALYST_SPANS=2000000 npm run bench:analyst
 *   DATABASE_URL=postgres://... BENCH_ANALYST_SKIP_LOAD=1 npm run bench:analyst      # queries only, on a loaded ledger
 *
 * BENCH_ANALYST_SPANS (1000000), BENCH_ANALYST_DAYS (30), BENCH_ANALYST_SEED (1), BENCH_ANALYST_END (ISO time the
 * data ends at; default now, printed: the same seed, spans, days and end give the same data), BENCH_ANALYST_CLIENTS
 * (8 concurrent senders), BENCH_ANALYST_LATE_ROOTS (0: share of runs whose root span comes in a later request; the
 * data is the same, only its arrival order changes), BENCH_ANALYST_DATA_DIR (embedded PostgreSQL kept there, for SKIP_LOAD), BENCH_ANALYST_SKIP_LOAD,
 * BENCH_ANALYST_SKIP_QUERIES, BENCH_ANALYST_TENANT (the analyst's tenant; default the smallest, hooli),
 * BENCH_ANALYST_RUN_AGE_DAYS (age of the sample run; default DAYS/2), BENCH_ANALYST_TIMEOUT_S (60: statement_timeout),
 * BENCH_ANALYST_RUNS (3 timed runs; 1 for queries slower than 5 s), BENCH_ANALYST_JIT (on | off: SET jit; default the
 * server's), BENCH_ANALYST_ONLY (regex on query ids), BENCH_ANALYST_AS (both | owner | analyst), BENCH_ANALYST_JSON (file
 * for the results), BENCH_ANALYST_SQL_DIR (each query written there as a psql script, parameters inlined),
 * BENCH_ANALYST_GATEWAY_LOG (file for the gateway's stderr).
 */
import { mkdtempSync, mkdirSync, rmSync, chmodSync, writeFileSync, openSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { startEmbedded, freePort } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { packageRoot } from '../src/db/paths.js';
import { LedgerGenerator, TENANTS, apiKey, type Request } from './analyst-data.js';
import { compatQueries, docQueries, issueQueries, pickSample, type BenchQuery } from './analyst-queries.js';
import { measure, table, type Measured, type Options } from './analyst-measure.js';

const env = process.env;
const SPANS = Number(env.BENCH_ANALYST_SPANS ?? 1_000_000);
const DAYS = Number(env.BENCH_ANALYST_DAYS ?? 30);
const SEED = Number(env.BENCH_ANALYST_SEED ?? 1);
const CLIENTS = Number(env.BENCH_ANALYST_CLIENTS ?? 8);
// Roots after their children make the rollup walk up stored spans (src/rollup/sql.ts WALK_UP_SQL), which is
// planned as a sequential scan of every spans partition: at 0.1, ingest fell to ~700 spans/s at 400k spans.
const LATE_ROOTS = Number(env.BENCH_ANALYST_LATE_ROOTS ?? 0);
const TENANT = env.BENCH_ANALYST_TENANT ?? 'hooli';
const ANALYST_ROLE = 'bench_analyst';
const ANALYST_PASSWORD = 'bench-analyst';
const DAY_MS = 86_400_000;

async function main(): Promise<void> {
  const tempDir = env.DATABASE_URL || env.BENCH_ANALYST_DATA_DIR ? null : mkdtempSync(join(tmpdir(), 'runledger-analyst-'));
  if (tempDir) chmodSync(tempDir, 0o755);
  const embedded = env.DATABASE_URL ? null
    : await startEmbedded({ dataDir: env.BENCH_ANALYST_DATA_DIR ?? tempDir!, persistent: true, port: 0 });
  const url = env.DATABASE_URL ?? embedded!.url;
  try {
    await migrate(url);
    const owner = new pg.Client({ connectionString: url });
    await owner.connect();
    try {
      const server = (await owner.query(`SELECT version() AS v, current_setting('jit') AS jit,
        (SELECT pg_jit_available()) AS jit_available, current_setting('shared_buffers') AS sb`)).rows[0];
      process.stdout.write(`PostgreSQL: ${server.v}\n  jit = ${server.jit} (available: ${server.jit_available}), shared_buffers = ${server.sb}\n`);
      if (!env.BENCH_ANALYST_SKIP_LOAD) await load(owner, url);
      const counts = (await owner.query(`SELECT (SELECT count(*) FROM runledger.spans)::bigint AS spans,
        (SELECT count(*) FROM runledger.nodes)::bigint AS nodes, (SELECT count(*) FROM runledger.runs)::bigint AS runs,
        (SELECT count(*) FROM pg_inherits WHERE inhparent = 'runledger.spans'::regclass)::int AS partitions,
        (SELECT count(DISTINCT tenant_id) FROM runledger.runs)::int AS tenants`)).rows[0];
      process.stdout.write(`ledger: ${counts.spans} spans, ${counts.nodes} nodes, ${counts.runs} runs, ${counts.tenants} tenants, ` +
        `${counts.partitions} partitions of spans (and of nodes)\n`);
      if (!env.BENCH_ANALYST_SKIP_QUERIES) await queries(owner, url);
    } finally {
      await owner.end();
    }
  } finally {
    await embedded?.stop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Load the ledger through a gateway process, then roll up daily usage over the whole window and VACUUM ANALYZE. */
async function load(owner: pg.Client, url: string): Promise<void> {
  const existing = Number((await owner.query('SELECT count(*) FROM runledger.runs')).rows[0].count);
  if (existing > 0) throw new Error(`the ledger already holds ${existing} runs: load into an empty database, or set BENCH_ANALYST_SKIP_LOAD=1`);
  const endMs = env.BENCH_ANALYST_END ? Date.parse(env.BENCH_ANALYST_END) : Math.floor(Date.now() / 60_000) * 60_000;
  const end = new Date(endMs).toISOString();
  process.stdout.write(`loading ${SPANS} spans over ${DAYS} days ending ${end} (seed ${SEED}; BENCH_ANALYST_END=${end} reproduces it), ` +
    `${CLIENTS} clients, late roots ${LATE_ROOTS} ...\n`);
  const gen = new LedgerGenerator({ spans: SPANS, days: DAYS, endMs, seed: SEED, spansPerRequest: 512, lateRoots: LATE_ROOTS });
  // every day of the window gets its partition (the default window is 30 days back)
  const backfill = Math.ceil((Date.now() - (endMs - DAYS * DAY_MS)) / DAY_MS) + 1;
  const port = await freePort();
  const gw = await startGateway(url, port, Math.max(30, backfill));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const load0 = loadavg()[0]!;
  const t0 = performance.now();
  let sent = 0;
  let lastReport = t0;
  try {
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      for (let r: Request | null; (r = gen.next()) !== null;) {
        await post(agent, port, r);
        sent += r.spans;
        const now = performance.now();
        if (now - lastReport > 15_000) {
          lastReport = now;
          const rate = sent / ((now - t0) / 1000);
          process.stderr.write(`  ${sent} spans sent, ${rate.toFixed(0)} spans/s, ~${((SPANS - sent) / rate).toFixed(0)} s left\n`);
        }
      }
    }));
  } finally {
    agent.destroy();
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
  }
  const loadSecs = (performance.now() - t0) / 1000;
  const s = gen.stats;
  process.stdout.write(`loaded ${s.spans} spans (${s.runs} runs, ${s.nodes} nodes, ${s.failedRuns} failed runs, ${s.runningRuns} running, ` +
    `max node depth ${s.maxDepth}) in ${s.requests} requests: ${loadSecs.toFixed(1)} s, ${(s.spans / loadSecs).toFixed(0)} spans/s ` +
    `(machine load average ${load0.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after)\n`);
  const t1 = performance.now();
  const since = new Date(endMs - DAYS * DAY_MS).toISOString().slice(0, 10);
  await owner.query('SELECT runledger.refresh_daily_usage(since => $1::date)', [since]);
  const refreshSecs = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await owner.query('VACUUM ANALYZE');
  const vacuumSecs = (performance.now() - t2) / 1000;
  process.stdout.write(`daily_usage rollup since ${since}: ${refreshSecs.toFixed(1)} s; VACUUM ANALYZE: ${vacuumSecs.toFixed(1)} s\n`);
  await owner.query(`CREATE TABLE IF NOT EXISTS public.bench_analyst_load (loaded_at timestamptz DEFAULT now(), seed int, spans bigint,
    days int, end_time timestamptz, load_seconds float8, refresh_seconds float8, vacuum_seconds float8, stats jsonb)`);
  await owner.query(`INSERT INTO public.bench_analyst_load (seed, spans, days, end_time, load_seconds, refresh_seconds, vacuum_seconds, stats)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [SEED, SPANS, DAYS, end, loadSecs, refreshSecs, vacuumSecs, JSON.stringify(s)]);
}

function startGateway(url: string, port: number, backfillDays: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const log = env.BENCH_ANALYST_GATEWAY_LOG ? openSync(env.BENCH_ANALYST_GATEWAY_LOG, 'a') : 'inherit';
    const child = spawn(process.execPath, [join(packageRoot(), 'dist/src/cli.js'), 'serve'], {
      env: {
        ...env, DATABASE_URL: url, RUNLEDGER_HTTP_PORT: String(port), RUNLEDGER_GRPC_PORT: '0', RUNLEDGER_MIGRATE: 'false',
        RUNLEDGER_API_KEYS: TENANTS.map((t) => `${apiKey(t.id)}=${t.id}`).join(','),
        RUNLEDGER_PARTITION_BACKFILL_DAYS: String(backfillDays),
        RUNLEDGER_ROLLUP_REFRESH_SECONDS: '0', // rolled up once after the load, over the whole window
        RUNLEDGER_LOG_LEVEL: env.RUNLEDGER_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'pipe', log],
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(child); });
  });
}

/** POST one request under its tenant's key; retries on 429 / 503 as an OTLP exporter does. */
async function post(agent: http.Agent, port: number, r: Request): Promise<void> {
  for (;;) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent, headers: {
        'content-type': 'application/x-protobuf', 'content-length': r.body.length, authorization: `Bearer ${apiKey(r.tenant)}`,
      } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
      req.on('error', reject);
      req.end(r.body);
    });
    if (status === 200) return;
    if (status !== 429 && status !== 503) throw new Error(`gateway answered ${status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Time every query as the owner and as the analyst bound to TENANT; print the table. */
async function queries(owner: pg.Client, url: string): Promise<void> {
  await owner.query(`DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ANALYST_ROLE}') THEN
      CREATE ROLE ${ANALYST_ROLE} LOGIN PASSWORD '${ANALYST_PASSWORD}';
    END IF; END $$`);
  await owner.query(`GRANT runledger_analyst TO ${ANALYST_ROLE}`);
  await owner.query(`DELETE FROM runledger.analyst_tenants WHERE role_name = $1`, [ANALYST_ROLE]);
  await owner.query(`INSERT INTO runledger.analyst_tenants (role_name, tenant_id) VALUES ($1, $2)`, [ANALYST_ROLE, TENANT]);
  const now = new Date();
  const sample = await pickSample(owner, TENANT, Number(env.BENCH_ANALYST_RUN_AGE_DAYS ?? Math.round(DAYS / 2)));
  process.stdout.write(`analyst: login role ${ANALYST_ROLE} bound to tenant ${TENANT}; sample run ${sample.runId} ` +
    `(${sample.runNodes} nodes, started ${sample.runStart.toISOString()}, pipeline ${sample.pipeline}), node ${sample.rootNodeId}\n`);
  const all: BenchQuery[] = [
    ...docQueries('docs/queries.md', sample, now), ...docQueries('README.md', sample, now), ...await compatQueries(owner, sample, now),
    ...issueQueries(sample),
  ];
  const only = env.BENCH_ANALYST_ONLY ? new RegExp(env.BENCH_ANALYST_ONLY) : null;
  const list = all.filter((q) => !only || only.test(q.id));
  if (env.BENCH_ANALYST_SQL_DIR) writeSqlFiles(env.BENCH_ANALYST_SQL_DIR, list);
  const analystUrl = new URL(url);
  analystUrl.username = ANALYST_ROLE;
  analystUrl.password = ANALYST_PASSWORD;
  const analyst = new pg.Client({ connectionString: analystUrl.toString() });
  await analyst.connect();
  const as = env.BENCH_ANALYST_AS ?? 'both';
  const opts: Options = {
    timeoutMs: Number(env.BENCH_ANALYST_TIMEOUT_S ?? 60) * 1000, runs: Number(env.BENCH_ANALYST_RUNS ?? 3),
    jit: env.BENCH_ANALYST_JIT === 'on' ? 'on' : env.BENCH_ANALYST_JIT === 'off' ? 'off' : null,
  };
  const results: { q: BenchQuery; owner: Measured | null; analyst: Measured | null }[] = [];
  try {
    for (const q of list) {
      const o = as === 'analyst' ? null : await measure(owner, q, opts);
      const a = as === 'owner' || q.maintenance ? null : await measure(analyst, q, opts);
      results.push({ q, owner: o, analyst: a });
      process.stderr.write(`  ${q.id}: owner ${o?.ms?.toFixed(1) ?? o?.error ?? '-'} ms, analyst ${a?.ms?.toFixed(1) ?? a?.error ?? '-'} ms\n`);
    }
  } finally {
    await analyst.end();
  }
  process.stdout.write(table(results, `owner = the tables' owner (no RLS); analyst = login role bound to ${TENANT}; ` +
    `jit ${opts.jit ?? 'as the server sets it'}; best of ${opts.runs} after a warm run (EXPLAIN ANALYZE; 1 run when that took over 5 s)`) + '\n');
  if (env.BENCH_ANALYST_JSON) writeFileSync(env.BENCH_ANALYST_JSON, JSON.stringify({ sample, opts, results }, null, 1));
}

/**
 * Each query as a psql script with its parameters as literals (the same custom plan as the bound parameters),
 * for EXPLAIN variations by hand: psql -f <file>, after SET jit = off, ...
 */
function writeSqlFiles(dir: string, list: BenchQuery[]): void {
  mkdirSync(dir, { recursive: true });
  const literal = (v: unknown) => `'${String(v).replace(/'/g, "''")}'`;
  for (const q of list) {
    const sql = q.sql.replace(/\$(\d+)/g, (_, n: string) => literal(q.params[Number(n) - 1]));
    const file = join(dir, q.id.replace(/[^\w.-]+/g, '_').slice(0, 80) + '.sql');
    writeFileSync(file, `-- ${q.id}${q.singleRun ? ' (single-run lookup)' : ''}\n${q.setup.map((s) => s + ';\n').join('')}${sql};\n`);
  }
  process.stdout.write(`wrote ${list.length} queries as psql scripts to ${dir}\n`);
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : String(e)) + '\n');
  process.exit(1);
});
