/**
 * End-to-end ingest benchmark: OTLP/HTTP protobuf, 512-span requests of ~1 KB GenAI spans,
 * N concurrent clients against a running gateway; then the COPY ceiling of the same span rows
 * (psql \copy when psql is installed, else COPY FROM STDIN from Node) on the same PostgreSQL.
 *
 *   npm run bench                       # embedded PostgreSQL in a temp dir
 *   DATABASE_URL=postgres://... npm run bench
 *   BENCH_SPANS=200000 BENCH_CLIENTS=8 npm run bench
 */
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
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
import { decodeTraceRequestProto } from '../src/otlp/decode-proto.js';
import { NODE_COLUMNS, SPAN_COLUMNS } from '../src/sink/encoder.js';
import { prepareSpan } from '../src/sink/prepare.js';
import { createMapper } from '../src/mapping/index.js';
import { loadPriceTable } from '../src/mapping/prices.js';
import { from as copyFrom } from 'pg-copy-streams';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { encodedRequest, SPANS_PER_RUN } from './genai-spans.js';

const SPANS_PER_REQUEST = 512;
const TOTAL = Number(process.env.BENCH_SPANS ?? 150_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
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

    // Warm-up (JIT, connections), not counted.
    await post(httpUrl, encodedRequest(8));

    let next = 0;
    const cpu0 = { gw: cpuSeconds(gw.pid!), pg: postgresCpuSeconds(), self: process.cpuUsage() };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < bodies.length) await post(httpUrl, bodies[next++]!);
    }));
    const secs = (performance.now() - t0) / 1000;
    const selfCpu = process.cpuUsage(cpu0.self);
    const used = {
      gw: cpuSeconds(gw.pid!) - cpu0.gw,
      pg: postgresCpuSeconds() - cpu0.pg,
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
    const copy = await copyCeiling(databaseUrl, bodies, dir);
    const out = [
      `runledger ingest benchmark (${new Date().toISOString()})`,
      `  requests: ${requests} × ${SPANS_PER_REQUEST} spans, ${CLIENTS} concurrent clients, ~${avgSpanBytes.toFixed(0)} B/span (protobuf)`,
      `  end-to-end OTLP/HTTP protobuf → committed ledger: ${e2e.toFixed(0)} spans/s (${secs.toFixed(2)} s, ${count.rows[0].n} spans stored)`,
      `  COPY ceiling (${copy.how}), same span rows into a table like runledger.spans: ${copy.spans.toFixed(0)} rows/s`,
      `  ratio end-to-end / COPY of the span rows: ${(e2e / copy.spans).toFixed(2)}`,
      `  COPY of the span rows and their node rows (the raw rows the ledger stores): ${copy.spansAndNodes.toFixed(0)} spans/s`,
      `  ratio end-to-end / COPY of span and node rows: ${(e2e / copy.spansAndNodes).toFixed(2)}`,
      `  CPU during the end-to-end run (cores busy): gateway ${(used.gw / secs).toFixed(2)}, PostgreSQL ${(used.pg / secs).toFixed(2)}, bench clients ${(used.clients / secs).toFixed(2)}`,
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
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(child); });
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks
}

/** CPU seconds used so far by every process named postgres (the server and its backends). */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const f = stat.split(') ')[1]!.split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100;
    } catch { /* exited */ }
  }
  return total;
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

interface Ceiling { spans: number; spansAndNodes: number; how: string }

/**
 * COPY ceilings on the same PostgreSQL: the same span rows (as the gateway encodes them) into a fresh
 * table like runledger.spans; and the spans plus their node rows (the raw rows the ledger writes).
 */
async function copyCeiling(url: string, bodies: Uint8Array[], dir: string): Promise<Ceiling> {
  const mapper = createMapper({ maxContentChars: 16_384, captureContent: true, prices: loadPriceTable() });
  const prepared = bodies.flatMap((b) => decodeTraceRequestProto(b, 'default').spans.map((s) => prepareSpan(mapper(s))));
  const spanFile = join(dir, 'spans.copy');
  const nodeFile = join(dir, 'nodes.copy');
  writeFileSync(spanFile, prepared.map((p) => p.spanRow).join(''));
  writeFileSync(nodeFile, prepared.filter((p) => p.nodeRow !== null).map((p) => p.nodeRow + 't\n').join(''));
  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' }).status === 0;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const copy = async (table: string, columns: readonly string[], file: string): Promise<number> => {
    await client.query(`DROP TABLE IF EXISTS public.${table}; CREATE TABLE public.${table} (LIKE runledger.${table.replace('bench_', '')} INCLUDING ALL)`);
    await client.query('CHECKPOINT');
    const t0 = performance.now();
    const cols = columns.join(', ');
    if (psql) {
      execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy public.${table} (${cols}) FROM '${file}'`], { stdio: 'pipe' });
    } else {
      await pipeline(createReadStream(file), client.query(copyFrom(`COPY public.${table} (${cols}) FROM STDIN`)));
    }
    const secs = (performance.now() - t0) / 1000;
    await client.query(`DROP TABLE public.${table}`);
    return secs;
  };
  try {
    let spans = 0;
    let spansAndNodes = 0;
    for (let round = 0; round < 2; round++) { // best of 2
      const ts = await copy('bench_spans', SPAN_COLUMNS, spanFile);
      const tn = await copy('bench_nodes', NODE_COLUMNS, nodeFile);
      spans = Math.max(spans, prepared.length / ts);
      spansAndNodes = Math.max(spansAndNodes, prepared.length / (ts + tn));
    }
    return { spans, spansAndNodes, how: psql ? 'psql \\copy, best of 2' : 'COPY FROM STDIN of the same file from Node (psql not installed), best of 2' };
  } finally {
    await client.end();
  }
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : JSON.stringify(e) ?? String(e)) + '\n');
  process.exit(1);
});
