/**
 * Bytes per stored log record: GenAI content sent as OTLP log records (instrumentation-openai's chat events:
 * system, user, choice: 3 records per call), each request with the 31-attribute SDK resource of
 * bench/genai-spans.ts (BENCH_RESOURCE=sdk), through an in-process gateway. Prints every table's bytes per record.
 *
 *   npm run build && DATABASE_URL=postgres://... BENCH_LOG_CALLS=3000 node dist/bench/logs-storage.js
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { startGateway } from '../src/gateway.js';
import { defaults, validate } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { tableBytes } from './storage.js';
import { SDK_RESOURCE } from './genai-spans.js';

const CALLS = Number(process.env.BENCH_LOG_CALLS ?? 3000);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL (an empty database: the bench migrates it)');

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const kv = (o: Record<string, unknown>): unknown => ({ kvlistValue: { values: Object.entries(o).map(([key, v]) =>
  ({ key, value: typeof v === 'string' ? { stringValue: v } : typeof v === 'number' ? { intValue: String(v) } : kv(v as Record<string, unknown>) })) } });

const gw = await startGateway(validate({ ...defaults, databaseUrl: url, httpPort: 0, grpcPort: 0 }), silentLogger);
await gw.startup;
const t0 = BigInt(Date.now() - 3_600_000) * 1_000_000n;
let wire = 0;
for (let i = 0; i < CALLS; i++) {
  const [traceId, spanId] = [randomBytes(16).toString('hex'), randomBytes(8).toString('hex')];
  const t = t0 + BigInt(i) * 1_000_000n;
  const rec = (dt: bigint, event: string, body: unknown) => ({ timeUnixNano: String(t + dt), observedTimeUnixNano: String(t + dt),
    severityNumber: 9, traceId, spanId, attributes: [str('event.name', event), str('gen_ai.system', 'openai')], body });
  const body = Buffer.from(JSON.stringify({ resourceLogs: [{ resource: { attributes: SDK_RESOURCE },
    scopeLogs: [{ scope: { name: '@opentelemetry/instrumentation-openai', version: '0.21.0' }, logRecords: [
      rec(0n, 'gen_ai.system.message', kv({ content: `You are a terse assistant for request ${i}.` })),
      rec(1000n, 'gen_ai.user.message', kv({ content: `What is the weather in Paris on day ${i}?` })),
      rec(900_000n, 'gen_ai.choice', kv({ index: 0, finish_reason: 'stop', message: { content: 'Sunny, 21 degrees.' } })),
    ] }] }] }));
  wire += body.length;
  const r = await gw.pipeline.exportLogsBody(body, 'json', 'default');
  if (r.rejected) throw new Error(r.message);
}
const c = new pg.Client({ connectionString: url });
await c.connect();
await c.query('CHECKPOINT');
const records = Number((await c.query('SELECT count(*) AS n FROM runledger.logs')).rows[0].n);
const inline = (await c.query('SELECT avg(pg_column_size(resource))::int AS b FROM runledger.logs')).rows[0].b;
console.log(`logs-storage: ${records} log records (${CALLS} calls × 3), ${(wire / records).toFixed(0)} B/record of OTLP/JSON; ` +
  `resource inline in the record rows: ${inline === null ? 'none' : `${inline} B each`}`);
for (const t of await tableBytes(c)) {
  if (t.total > 0) console.log(`  ${t.table.padEnd(16)} ${(t.total / records).toFixed(1).padStart(8)} B/record (heap ${(t.heap / records).toFixed(0)}, TOAST ${(t.toast / records).toFixed(0)}, indexes ${(t.index / records).toFixed(0)})`);
}
await c.end();
await gw.stop();
