/**
 * The database side alone: prepared rows (decoded, mapped and encoded beforehand, in this process) written
 * by one writer in batches, as the gateway's writers do. Prints wall time and the PostgreSQL backend's CPU
 * per span and this process's own CPU per span (the write path of the gateway's main thread), the figures to
 * watch when changing the writer or the schema.
 *
 *   npm run build && node dist/bench/writer.js
 *   BENCH_SPANS=200000 BENCH_BATCH=1024 DATABASE_URL=postgres://... node dist/bench/writer.js
 */
import { mkdtempSync, rmSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbedded } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createMapper, loadPriceTable } from '../src/mapping/index.js';
import { prepareBody } from '../src/worker/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import { DayPartitions } from '../src/sink/partitions.js';
import type { PreparedSpan } from '../src/sink/prepare.js';
import { encodedRequest, SPANS_PER_RUN } from './genai-spans.js';

const TOTAL = Number(process.env.BENCH_SPANS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1024);
const REQUEST = 512;

/** CPU seconds (user + system) of one process */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-bench-writer-'));
  chmodSync(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? null : await startEmbedded({ dataDir: dir, persistent: false, port: 0 });
  const url = process.env.DATABASE_URL ?? embedded!.url;
  try {
    await migrate(url);
    const mapper = createMapper({ prices: loadPriceTable(), captureContent: true, maxContentChars: 16_384 });
    const prepare = (spans: number): PreparedSpan[] => {
      const items: PreparedSpan[] = [];
      for (let n = 0; n < spans; n += REQUEST) items.push(...prepareBody(encodedRequest(REQUEST / SPANS_PER_RUN), 'proto', 'bench', mapper).items);
      return items;
    };
    const warm = prepare(16 * REQUEST);
    const items = prepare(TOTAL);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const c = client as unknown as pg.PoolClient;
    const pid = Number((await client.query('SELECT pg_backend_pid() AS p')).rows[0].p);
    const partitions = new DayPartitions();
    for (let i = 0; i < warm.length; i += BATCH) await writeBatch(c, warm.slice(i, i + BATCH), partitions);
    await client.query('CHECKPOINT');
    const cpu0 = cpuOf(pid);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < items.length; i += BATCH) await writeBatch(c, items.slice(i, i + BATCH), partitions);
    const secs = (performance.now() - t0) / 1000;
    const cpu = cpuOf(pid) - cpu0;
    const self = process.cpuUsage(self0);
    const selfCpu = (self.user + self.system) / 1e6;
    await client.end();
    process.stdout.write([
      `runledger writer benchmark: ${items.length} prepared spans, batches of ${BATCH}, one writer`,
      `  ${(items.length / secs).toFixed(0)} spans/s; per span: ${(secs * 1e6 / items.length).toFixed(1)} µs wall, ` +
        `${(cpu * 1e6 / items.length).toFixed(1)} µs PostgreSQL backend CPU, ` +
        `${(selfCpu * 1e6 / items.length).toFixed(1)} µs writer CPU (this process: the gateway main thread's write path)`,
    ].join('\n') + '\n');
  } finally {
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : String(e)) + '\n');
  process.exit(1);
});
