/**
 * End-to-end ingest benchmark: OTLP/HTTP protobuf, 512-span requests of ~1 KB GenAI spans,
 * N concurrent clients against a running gateway; then the COPY ceiling of the same span rows
 * (psql \copy when psql is installed, else COPY FROM STDIN from Node) on the same PostgreSQL; then what the
 * ledger holds on disk per span (heap, TOAST, index bytes per table), the OTLP bytes sent per span and the WAL.
 * A second phase loads a content-heavy mix (bench/content-spans.ts: 0.5–8 KB prompts and completions, ~2.2 KB per
 * span on the wire) into a second database and prints its throughput and bytes the same way.
 *
 * The COPY ceiling's rows are the *raw span rows*: the fixed column list and types of RAW_SPAN_DDL below (the
 * span row as the gateway wrote it up to sql/013, resource included), read from runledger.raw_spans when a
 * migration provides that view (resources stored once) else from runledger.spans, and loaded into a table of
 * that fixed DDL (default storage). The denominator of the ratio so stays put when the ledger's own layout
 * (resources, content, compression) changes.
 *
 *   npm run bench                       # embedded PostgreSQL in a temp dir
 *   DATABASE_URL=postgres://... npm run bench
 *   BENCH_SPANS=200000 BENCH_CLIENTS=8 npm run bench
 *   BENCH_SPANS=0 npm run bench         # the content-heavy phase only
 *
 * Also: BENCH_WARMUP_SPANS (32768: spans sent before timing), BENCH_GATEWAY_NODE_ARGS (node flags for the
 * gateway, e.g. --perf-basic-prof), BENCH_GATEWAY_LOG (file for the gateway's stdout), BENCH_PERF (file:
 * `perf record -a` during the timed run) with BENCH_PERF_ARGS (default -g), BENCH_CONTENT_SPANS (30000: spans of
 * the content-heavy phase; 0 skips it), BENCH_CONTENT_KEEP=1 (keep its database, <database>_bench_content).
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
import { NODE_COLUMNS, RAW_SPAN_COLUMNS } from '../src/sink/encoder.js';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { encodedRequest, SPANS_PER_RUN } from './genai-spans.js';
import { encodedContentRequest, CONTENT_SPANS_PER_RUN } from './content-spans.js';
import { postmasterPid, serverLine, storageLines, tableBytes, walBytesSince, walLsn } from './storage.js';

const SPANS_PER_REQUEST = 512;
const TOTAL = Number(process.env.BENCH_SPANS ?? 150_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP_SPANS ?? 32_768);
const requests = Math.ceil(TOTAL / SPANS_PER_REQUEST);
const CONTENT_SPANS = Number(process.env.BENCH_CONTENT_SPANS ?? 30_000);
// ~280 KB bodies: content spans are ~3x the default mix's, and exporters batch by span count (512 by default)
// or by bytes; 128 keeps a request well under the gateway's admission share.
const CONTENT_SPANS_PER_REQUEST = 128;

/**
 * The raw span row: the span columns and types as the gateway wrote them up to sql/013 (SPAN_COLUMNS then),
 * with the key and the BRIN index runledger.spans had; fixed here so that the COPY ceiling measures the same
 * work whatever the ledger's storage layout becomes. Its columns are encoder.ts RAW_SPAN_COLUMNS (the span as
 * sent, which runledger.raw_spans returns).
 */
const RAW_SPAN_DDL = `(
  trace_id uuid NOT NULL, span_id text COLLATE "C" NOT NULL, parent_span_id text COLLATE "C", tenant_id text COLLATE "C" NOT NULL,
  name text NOT NULL, kind text NOT NULL, start_time timestamptz NOT NULL, end_time timestamptz NOT NULL,
  status_code text NOT NULL, status_message text, service_name text, scope_name text, attributes jsonb NOT NULL,
  resource jsonb NOT NULL, events jsonb, links jsonb, ingested_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, trace_id, span_id, start_time))`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-bench-'));
  chmodSync(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? null : await startEmbedded({ dataDir: dir, persistent: false, port: 0 });
  const databaseUrl = process.env.DATABASE_URL ?? embedded!.url;
  await migrate(databaseUrl);
  const meter = new pg.Client({ connectionString: databaseUrl });
  await meter.connect();
  postmaster = await postmasterPid(meter);
  databases.add(new URL(databaseUrl).pathname.slice(1) || 'postgres');
  const server = await serverLine(meter);
  // The gateway runs as its own process (as in production); this process only plays the clients.
  const httpPort = await freePort();
  let gw = await startGatewayProcess(databaseUrl, httpPort);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  let contentUrl: string | null = null;
  try {
    // BENCH_SPANS=0: the content-heavy phase only
    if (TOTAL > 0) {
      process.stdout.write(`preparing ${requests} requests × ${SPANS_PER_REQUEST} spans ...\n`);
      const bodies = Array.from({ length: requests }, () => encodedRequest(SPANS_PER_REQUEST / SPANS_PER_RUN));
      const avgSpanBytes = bodies[0]!.length / SPANS_PER_REQUEST;
      const wal0 = await walLsn(meter);

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
      const walBytes = await walBytesSince(meter, wal0);
      const wireBytes = [...warmup, ...bodies].reduce((n, b) => n + b.length, 0);
      const wireSpans = (warmup.length + bodies.length) * SPANS_PER_REQUEST;

      const rss = rssMb(gw.pid!);
      const cpu = cpuSeconds(gw.pid!);
      const counter = new pg.Client({ connectionString: databaseUrl });
      await counter.connect();
      const count = await counter.query('SELECT count(*)::int AS n FROM runledger.spans');
      await counter.end();
      await meter.query('CHECKPOINT');
      const storage = storageLines(await tableBytes(meter), count.rows[0].n, wireBytes, wireSpans, walBytes, server, 'all sent, warm-up included');
      const copy = await copyCeiling(databaseUrl, count.rows[0].n, dir);
      const out = [
        `runledger ingest benchmark (${new Date().toISOString()})`,
        `  requests: ${requests} × ${SPANS_PER_REQUEST} spans, ${CLIENTS} concurrent clients, ~${avgSpanBytes.toFixed(0)} B/span (protobuf)`,
        `  end-to-end OTLP/HTTP protobuf → committed ledger: ${e2e.toFixed(0)} spans/s (${secs.toFixed(2)} s, ${count.rows[0].n} spans stored with the warm-up)`,
        `  COPY ceiling (${copy.how}, best of 2) of the same raw span rows (${copy.source}; the bench's fixed RAW_SPAN_DDL, resource included) into a table of that DDL:`,
        `    text format ${copy.text.spans.toFixed(0)} rows/s, binary ${copy.binary.spans.toFixed(0)} rows/s`,
        `  ratio end-to-end / COPY of the span rows: ${(e2e / copy.text.spans).toFixed(2)} (text), ${(e2e / copy.binary.spans).toFixed(2)} (binary)`,
        `  COPY of the span rows plus their node rows (the raw rows the ledger stores): text ${copy.text.spansAndNodes.toFixed(0)} spans/s, binary ${copy.binary.spansAndNodes.toFixed(0)} spans/s`,
        `  ratio end-to-end / COPY of span and node rows: ${(e2e / copy.text.spansAndNodes).toFixed(2)} (text), ${(e2e / copy.binary.spansAndNodes).toFixed(2)} (binary)`,
        `  CPU during the end-to-end run (cores busy): gateway ${(used.gw / secs).toFixed(2)} (system ${(used.gwSys / secs).toFixed(2)}), PostgreSQL ${(used.pg / secs).toFixed(2)} (system ${(used.pgSys / secs).toFixed(2)}), bench clients ${(used.clients / secs).toFixed(2)}`,
        `  machine (cores): busy ${((machine.busy - machine0.busy) / secs).toFixed(2)}, idle ${((machine.idle - machine0.idle) / secs).toFixed(2)}, iowait ${((machine.iowait - machine0.iowait) / secs).toFixed(2)}, steal ${((machine.steal - machine0.steal) / secs).toFixed(2)}`,
        `  gateway threads (cores busy): ${[...threads].map(([t, c]) => [t, (c - (threads0.get(t) ?? 0)) / secs] as const).filter(([, c]) => c >= 0.01).map(([t, c]) => `${t} ${c.toFixed(2)}`).join(', ')}`,
        `  PostgreSQL processes (cores busy): ${[...roles].map(([r, c]) => [r, (c - (roles0.get(r) ?? 0)) / secs] as const).filter(([, c]) => c >= 0.01).map(([r, c]) => `${r} ${c.toFixed(2)}`).join(', ')}`,
        `  gateway process: RSS ${rss.toFixed(0)} MB after the run, ${cpu.toFixed(1)} s CPU in all`,
        `  CPU per span (timed run): gateway ${(used.gw / spans * 1e6).toFixed(1)} µs, PostgreSQL ${(used.pg / spans * 1e6).toFixed(1)} µs${postmaster === null ? ' (every postgres process on the machine: server pid unknown)' : ' (the server\'s background processes, and its backends of the databases under test)'}`,
        ...storage,
      ].join('\n');
      process.stdout.write(out + '\n');
    }

    if (CONTENT_SPANS > 0) {
      // A second database, so the default mix's rows neither count nor get in the way; its own gateway.
      if (gw.exitCode === null && gw.signalCode === null) {
        gw.kill('SIGTERM');
        await new Promise((r) => gw.once('exit', r));
      }
      const db = new URL(databaseUrl);
      const name = `${db.pathname.slice(1) || 'postgres'}_bench_content`;
      await meter.query(`DROP DATABASE IF EXISTS ${meter.escapeIdentifier(name)}`);
      await meter.query(`CREATE DATABASE ${meter.escapeIdentifier(name)}`);
      db.pathname = '/' + name;
      contentUrl = db.toString();
      databases.add(name);
      await migrate(contentUrl);
      const port2 = await freePort();
      gw = await startGatewayProcess(contentUrl, port2);
      process.stdout.write(await contentPhase(contentUrl, `http://127.0.0.1:${port2}`, gw.pid!) + '\n');
    }
  } finally {
    if (gw.exitCode === null && gw.signalCode === null) {
      gw.kill('SIGTERM');
      await new Promise((r) => gw.once('exit', r));
    }
    if (contentUrl && process.env.BENCH_CONTENT_KEEP !== '1') {
      await meter.query(`DROP DATABASE IF EXISTS ${meter.escapeIdentifier(new URL(contentUrl).pathname.slice(1))} WITH (FORCE)`).catch(() => {});
    }
    await meter.end();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The content-heavy phase: CONTENT_SPANS spans of bench/content-spans.ts from all clients, timed from the first
 * request (no warm-up: the gateway is the second one of the run, cold), then the storage table.
 */
async function contentPhase(url: string, httpUrl: string, gwPid: number): Promise<string> {
  const n = Math.ceil(CONTENT_SPANS / CONTENT_SPANS_PER_REQUEST);
  const bodies = Array.from({ length: n }, () => encodedContentRequest(CONTENT_SPANS_PER_REQUEST / CONTENT_SPANS_PER_RUN));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const wal0 = await walLsn(client);
    const cpu0 = { gw: cpuSeconds(gwPid), pg: postgresCpuSeconds() };
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < bodies.length) await post(httpUrl, bodies[next++]!);
    }));
    const secs = (performance.now() - t0) / 1000;
    const used = { gw: cpuSeconds(gwPid) - cpu0.gw, pg: postgresCpuSeconds() - cpu0.pg };
    const walBytes = await walBytesSince(client, wal0);
    const spans = n * CONTENT_SPANS_PER_REQUEST;
    const stored = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM runledger.spans')).rows[0]!.n;
    await client.query('CHECKPOINT');
    const wire = bodies.reduce((s, b) => s + b.length, 0);
    return [
      `content-heavy mix (bench/content-spans.ts, a second database): ${n} requests × ${CONTENT_SPANS_PER_REQUEST} spans, ${CLIENTS} concurrent clients`,
      `  end-to-end: ${(spans / secs).toFixed(0)} spans/s (${secs.toFixed(2)} s, no warm-up), ${stored} spans stored`,
      `  CPU per span: gateway ${(used.gw / spans * 1e6).toFixed(1)} µs, PostgreSQL ${(used.pg / spans * 1e6).toFixed(1)} µs`,
      ...storageLines(await tableBytes(client), stored, wire, spans, walBytes, await serverLine(client), 'all sent'),
    ].join('\n');
  } finally {
    await client.end();
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

/** The server under test's postmaster (bench/storage.ts postmasterPid), when known. */
let postmaster: number | null = null;
/** The databases under test: a shared server's backends (and autovacuum workers) of other databases are not counted. */
const databases = new Set<string>();

/**
 * The processes of the server under test: its postmaster and that one's children when the postmaster is known
 * (other helpers' embedded servers on a shared machine are postgres processes too), else every postgres process.
 */
function postgresPids(): string[] {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') return false;
      if (postmaster === null) return true;
      const ppid = Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]);
      if (Number(d) !== postmaster && ppid !== postmaster) return false;
      // 'postgres: <user> <database> <host>(<port>) <state>', 'postgres: autovacuum worker <database>'
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().split(/\s+/);
      const db = /\d+\.\d+\.\d+\.\d+\(|\[local\]/.test(cmd[3] ?? '') ? cmd[2] : cmd[1] === 'autovacuum' && cmd[2] === 'worker' ? cmd[3] : undefined;
      return db === undefined || databases.has(db);
    } catch { return false; }
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

interface Ceiling { text: { spans: number; spansAndNodes: number }; binary: { spans: number; spansAndNodes: number }; how: string; source: string }

/**
 * COPY ceilings on the same PostgreSQL for the very rows the run stored: the raw span rows (RAW_SPAN_DDL, from
 * runledger.raw_spans when it exists, else runledger.spans) and runledger.nodes exported to files, then loaded
 * into fresh tables (of RAW_SPAN_DDL; like runledger.nodes), in text and in binary format (the gateway writes
 * binary). Best of 2 each, after a checkpoint.
 */
async function copyCeiling(url: string, spanCount: number, dir: string): Promise<Ceiling> {
  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' }).status === 0;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const fmt = (binary: boolean) => (binary ? ' (FORMAT binary)' : '');
  const file = (t: string, binary: boolean) => join(dir, `${t}.${binary ? 'bin' : 'txt'}`);
  const rawSource = (await client.query("SELECT to_regclass('runledger.raw_spans') IS NOT NULL AS v")).rows[0].v ? 'raw_spans' : 'spans';
  const exportRows = async (t: string, cols: readonly string[], binary: boolean) => {
    const q = `COPY (SELECT ${cols.join(', ')} FROM runledger.${t === 'spans' ? rawSource : t}) TO STDOUT${fmt(binary)}`;
    await pipeline(client.query(copyTo(q)), createWriteStream(file(t, binary)));
  };
  const load = async (t: string, cols: readonly string[], binary: boolean): Promise<number> => {
    const ddl = t === 'spans' ? `${RAW_SPAN_DDL}; CREATE INDEX ON public.bench_spans USING brin (start_time)` : `(LIKE runledger.${t} INCLUDING ALL)`;
    await client.query(`DROP TABLE IF EXISTS public.bench_${t}; CREATE TABLE public.bench_${t} ${ddl}`);
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
      await exportRows('spans', RAW_SPAN_COLUMNS, binary);
      await exportRows('nodes', NODE_COLUMNS, binary);
      const r = binary ? result.binary : result.text;
      for (let round = 0; round < 2; round++) {
        const ts = await load('spans', RAW_SPAN_COLUMNS, binary);
        const tn = await load('nodes', NODE_COLUMNS, binary);
        r.spans = Math.max(r.spans, spanCount / ts);
        r.spansAndNodes = Math.max(r.spansAndNodes, spanCount / (ts + tn));
      }
    }
    return { ...result, how: psql ? 'psql \\copy' : 'COPY FROM STDIN from Node (psql not installed)', source: `runledger.${rawSource}` };
  } finally {
    await client.end();
  }
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : JSON.stringify(e) ?? String(e)) + '\n');
  process.exit(1);
});
