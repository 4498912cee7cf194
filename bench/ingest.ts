/**
 * End-to-end ingest benchmark: OTLP/HTTP protobuf, 512-span requests of ~1 KB GenAI spans,
 * N concurrent clients against a running gateway; then the COPY ceiling of the same span rows
 * (psql \copy when psql is installed, else COPY FROM STDIN from Node) on the same PostgreSQL.
 *
 *   npm run bench                       # embedded PostgreSQL in a temp dir
 *   DATABASE_URL=postgres://... npm run bench
 *   BENCH_SPANS=200000 BENCH_CLIENTS=8 npm run bench
 *
 * Also: BENCH_WARMUP_SPANS (32768: spans sent before timing), BENCH_GATEWAY_NODE_ARGS (node flags for the
 * gateway, e.g. --perf-basic-prof), BENCH_GATEWAY_LOG (file for the gateway's stdout), BENCH_PERF (file:
 * `perf record -a` during the timed run) with BENCH_PERF_ARGS (default -g).
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { startEmbedded, freePort } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { packageRoot } from '../src/db/paths.js';
import { NODE_COLUMNS, SPAN_COLUMNS } from '../src/sink/encoder.js';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { encodedRequest, SPANS_PER_RUN } from './genai-spans.js';

const SPANS_PER_REQUEST = 512;
const TOTAL = Number(process.env.BENCH_SPANS ?? 150_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP_SPANS ?? 32_768);
const requests = Math.ceil(TOTAL / SPANS_PER_REQUEST);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-bench-'));
  chmodSync(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? null : await startEmbedded({ dataDir: dir, persistent: false, port: 0 });
  const databaseUrl = process.env.DATABASE_URL ?? embedded!.url;
  await migrate(databaseUrl);
  // The gateway runs as its own process (as in production); this process only plays the clients.
  const httpPort = await freePort();
  const gw = await startGatewayProcess(databaseUrl, httpPort);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  try {
    process.stdout.write(`preparing ${requests} requests × ${SPANS_PER_REQUEST} spans ...\n`);
    const bodies = Array.from({ length: requests }, () => encodedRequest(SPANS_PER_REQUEST / SPANS_PER_RUN));
    const avgSpanBytes = bodies[0]!.length / SPANS_PER_REQUEST;

    // Warm-up, not counted: the JIT compiles the hot paths and the connections open (BENCH_WARMUP_SPANS, in
    // 512-span requests from all clients, as in the timed run).
    const warmup = Array.from({ length: Math.ceil(WARMUP / SPANS_PER_REQUEST) }, () => encodedRequest(SPANS_PER_REQUEST / SPANS_PER_RUN));
    let w = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (w < warmup.length) await post(httpUrl, warmup[w++]!);
    }));

    let next = 0;
    const threads0 = threadCpu(gw.pid!);
    const roles0 = postgresCpuByRole();
    const machine0 = machineCpu();
    const cpu0 = { gw: cpuSeconds(gw.pid!), gwSys: cpuSplit(gw.pid!).system, pg: postgresCpuSeconds(), pgSys: postgresCpuSeconds(true), self: process.cpuUsage() };
    // BENCH_PERF=file records the whole machine with perf during the timed run (gateway with --perf-basic-prof for JS names).
    const perf = process.env.BENCH_PERF ? spawn('perf', ['record', '-a', ...(process.env.BENCH_PERF_ARGS ?? '-g').split(' '), '-o', process.env.BENCH_PERF], { stdio: 'ignore' }) : null;
    if (perf) await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < bodies.length) await post(httpUrl, bodies[next++]!);
    }));
    const secs = (performance.now() - t0) / 1000;
    if (perf) {
      perf.kill('SIGINT');
      await new Promise((r) => perf.once('exit', r));
    }
    const selfCpu = process.cpuUsage(cpu0.self);
    const threads = threadCpu(gw.pid!);
    const roles = postgresCpuByRole();
    const machine = machineCpu();
    const used = {
      gw: cpuSeconds(gw.pid!) - cpu0.gw,
      gwSys: cpuSplit(gw.pid!).system - cpu0.gwSys,
      pg: postgresCpuSeconds() - cpu0.pg,
      pgSys: postgresCpuSeconds(true) - cpu0.pgSys,
      clients: (selfCpu.user + selfCpu.system) / 1e6,
    };
    const spans = requests * SPANS_PER_REQUEST;
    const e2e = spans / secs;

    const rss = rssMb(gw.pid!);
    const cpu = cpuSeconds(gw.pid!);
    const counter = new pg.Client({ connectionString: databaseUrl });
    await counter.connect();
    const count = await counter.query('SELECT count(*)::int AS n FROM runledger.spans');
    await counter.end();
    const copy = await copyCeiling(databaseUrl, count.rows[0].n, dir);
    const out = [
      `runledger ingest benchmark (${new Date().toISOString()})`,
      `  requests: ${requests} × ${SPANS_PER_REQUEST} spans, ${CLIENTS} concurrent clients, ~${avgSpanBytes.toFixed(0)} B/span (protobuf)`,
      `  end-to-end OTLP/HTTP protobuf → committed ledger: ${e2e.toFixed(0)} spans/s (${secs.toFixed(2)} s, ${count.rows[0].n} spans stored with the warm-up)`,
      `  COPY ceiling (${copy.how}, best of 2) of the same span rows into a table like runledger.spans:`,
      `    text format ${copy.text.spans.toFixed(0)} rows/s, binary ${copy.binary.spans.toFixed(0)} rows/s`,
      `  ratio end-to-end / COPY of the span rows: ${(e2e / copy.text.spans).toFixed(2)} (text), ${(e2e / copy.binary.spans).toFixed(2)} (binary)`,
      `  COPY of the span rows plus their node rows (the raw rows the ledger stores): text ${copy.text.spansAndNodes.toFixed(0)} spans/s, binary ${copy.binary.spansAndNodes.toFixed(0)} spans/s`,
      `  ratio end-to-end / COPY of span and node rows: ${(e2e / copy.text.spansAndNodes).toFixed(2)} (text), ${(e2e / copy.binary.spansAndNodes).toFixed(2)} (binary)`,
      `  CPU during the end-to-end run (cores busy): gateway ${(used.gw / secs).toFixed(2)} (system ${(used.gwSys / secs).toFixed(2)}), PostgreSQL ${(used.pg / secs).toFixed(2)} (system ${(used.pgSys / secs).toFixed(2)}), bench clients ${(used.clients / secs).toFixed(2)}`,
      `  machine (cores): busy ${((machine.busy - machine0.busy) / secs).toFixed(2)}, idle ${((machine.idle - machine0.idle) / secs).toFixed(2)}, iowait ${((machine.iowait - machine0.iowait) / secs).toFixed(2)}, steal ${((machine.steal - machine0.steal) / secs).toFixed(2)}`,
      `  gateway threads (cores busy): ${[...threads].map(([t, c]) => [t, (c - (threads0.get(t) ?? 0)) / secs] as const).filter(([, c]) => c >= 0.01).map(([t, c]) => `${t} ${c.toFixed(2)}`).join(', ')}`,
      `  PostgreSQL processes (cores busy): ${[...roles].map(([r, c]) => [r, (c - (roles0.get(r) ?? 0)) / secs] as const).filter(([, c]) => c >= 0.01).map(([r, c]) => `${r} ${c.toFixed(2)}`).join(', ')}`,
      `  gateway process: RSS ${rss.toFixed(0)} MB after the run, ${cpu.toFixed(1)} s CPU in all`,
    ].join('\n');
    process.stdout.write(out + '\n');
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function startGatewayProcess(databaseUrl: string, httpPort: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), join(packageRoot(), 'dist/src/cli.js'), 'serve'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, RUNLEDGER_HTTP_PORT: String(httpPort), RUNLEDGER_GRPC_PORT: '0', RUNLEDGER_MIGRATE: 'false' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    const log = process.env.BENCH_GATEWAY_LOG ? createWriteStream(process.env.BENCH_GATEWAY_LOG) : null;
    child.stdout!.on('data', (d: Buffer) => {
      log?.write(d);
      if (d.toString().includes('listening')) resolve(child);
    });
  });
}

/**
 * CPU seconds of a process or thread from its /proc stat file (clock ticks of 1/100 s): its own user
 * and system time, and that of its exited children; its name (comm).
 */
function procCpu(statPath: string): { name: string; user: number; system: number; children: number } {
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    user: Number(f[11]) / 100, system: Number(f[12]) / 100, children: (Number(f[13]) + Number(f[14])) / 100,
  };
}

/** CPU seconds per thread of a process, keyed by thread name and id */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const c = procCpu(`/proc/${pid}/task/${tid}/stat`);
      out.set(`${c.name}#${tid}`, c.user + c.system);
    } catch { /* exited */ }
  }
  return out;
}

/** Machine-wide CPU seconds from /proc/stat */
function machineCpu(): { busy: number; idle: number; iowait: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return { busy: (user + nice + system + irq + softirq) / 100, idle: idle / 100, iowait: iowait / 100, steal: steal / 100 };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function cpuSeconds(pid: number): number {
  const c = procCpu(`/proc/${pid}/stat`);
  return c.user + c.system;
}

/** user and system CPU seconds of a process so far */
function cpuSplit(pid: number): { user: number; system: number } {
  return procCpu(`/proc/${pid}/stat`);
}

/**
 * CPU seconds per kind of PostgreSQL process: client backends, each background process, and the exited
 * ones (autovacuum workers, parallel workers), counted in the postmaster's children time.
 */
function postgresCpuByRole(): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, (out.get(k) ?? 0) + v);
  for (const pid of postgresPids()) {
    try {
      const c = procCpu(`/proc/${pid}/stat`);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const role = !cmd.startsWith('postgres:') ? 'postmaster' : /\d+\.\d+\.\d+\.\d+\(|\[local\]/.test(cmd) ? 'backends' : cmd.slice(10).trim();
      add(role, c.user + c.system);
      if (role === 'postmaster') add('exited', c.children);
    } catch { /* exited */ }
  }
  return out;
}

/** CPU seconds used so far by every process named postgres (the server and its backends); only system time when asked. */
function postgresCpuSeconds(system = false): number {
  let total = 0;
  for (const pid of postgresPids()) {
    try {
      const c = procCpu(`/proc/${pid}/stat`);
      total += (system ? 0 : c.user) + c.system;
    } catch { /* exited */ }
  }
  return total;
}

function postgresPids(): string[] {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try { return procCpu(`/proc/${d}/stat`).name === 'postgres'; } catch { return false; }
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

/** POST one body; retries on 429/503 as an OTLP exporter would (node:http: a light load generator). */
async function post(base: string, body: Uint8Array): Promise<void> {
  for (;;) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/v1/traces`, {
        method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    if (status === 200) return;
    if (status === 429 || status === 503) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    throw new Error(`unexpected status ${status}`);
  }
}

interface Ceiling { text: { spans: number; spansAndNodes: number }; binary: { spans: number; spansAndNodes: number }; how: string }

/**
 * COPY ceilings on the same PostgreSQL for the very rows the run stored: runledger.spans (and
 * runledger.nodes) exported to files, then loaded into fresh tables like them, in text and in binary
 * format (the gateway writes binary). Best of 2 each, after a checkpoint.
 */
async function copyCeiling(url: string, spanCount: number, dir: string): Promise<Ceiling> {
  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' }).status === 0;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const fmt = (binary: boolean) => (binary ? ' (FORMAT binary)' : '');
  const file = (t: string, binary: boolean) => join(dir, `${t}.${binary ? 'bin' : 'txt'}`);
  const exportRows = async (t: string, cols: readonly string[], binary: boolean) => {
    const q = `COPY (SELECT ${cols.join(', ')} FROM runledger.${t}) TO STDOUT${fmt(binary)}`;
    await pipeline(client.query(copyTo(q)), createWriteStream(file(t, binary)));
  };
  const load = async (t: string, cols: readonly string[], binary: boolean): Promise<number> => {
    await client.query(`DROP TABLE IF EXISTS public.bench_${t}; CREATE TABLE public.bench_${t} (LIKE runledger.${t} INCLUDING ALL)`);
    await client.query('CHECKPOINT');
    const target = `public.bench_${t} (${cols.join(', ')})`;
    const t0 = performance.now();
    if (psql) {
      execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${target} FROM '${file(t, binary)}'${fmt(binary)}`], { stdio: 'pipe' });
    } else {
      await pipeline(createReadStream(file(t, binary)), client.query(copyFrom(`COPY ${target} FROM STDIN${fmt(binary)}`)));
    }
    const secs = (performance.now() - t0) / 1000;
    await client.query(`DROP TABLE public.bench_${t}`);
    return secs;
  };
  try {
    const result = { text: { spans: 0, spansAndNodes: 0 }, binary: { spans: 0, spansAndNodes: 0 } };
    for (const binary of [false, true]) {
      await exportRows('spans', SPAN_COLUMNS, binary);
      await exportRows('nodes', NODE_COLUMNS, binary);
      const r = binary ? result.binary : result.text;
      for (let round = 0; round < 2; round++) {
        const ts = await load('spans', SPAN_COLUMNS, binary);
        const tn = await load('nodes', NODE_COLUMNS, binary);
        r.spans = Math.max(r.spans, spanCount / ts);
        r.spansAndNodes = Math.max(r.spansAndNodes, spanCount / (ts + tn));
      }
    }
    return { ...result, how: psql ? 'psql \\copy' : 'COPY FROM STDIN from Node (psql not installed)' };
  } finally {
    await client.end();
  }
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : JSON.stringify(e) ?? String(e)) + '\n');
  process.exit(1);
});
