/**
 * The upgrade path: a ledger as a gateway of migration 013 left it (resources inline, content copied onto nodes,
 * spans stored without a start time or ending before it), migrated to today's schema with the queued repair
 * `runledger migrate` runs, reads in every runledger and compat view as a fresh ingest of the same spans and
 * log records by today's gateway — except the differences docs/schema.md states (see IGNORED); and one whose
 * nodes an earlier mapping made does after `runledger repair --remap`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { chatEvents, logsJson } from './helpers/logs.js';
import { migrate } from '../src/db/migrate.js';
import { createMapper, loadPriceTable, mapSpans } from '../src/mapping/index.js';
import type { SpanRecord } from '../src/otlp/types.js';
import { repair, repairQueued } from '../src/maintenance/repair.js';
import { writeLogs } from '../src/sink/logs-writer.js';
import { DayPartitions } from '../src/sink/partitions.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import { mapped, node, span } from './helpers/spans.js';
import { prepareDecoded } from '../src/worker/prepare.js';
import { prepareLogsBody } from '../src/worker/prepare-logs.js';

const OLD = '013_views';
/** when rows were written, not what they say */
const VOLATILE = ['created_at', 'updated_at', 'ingested_at', 'queued_at', 'refreshed_at'];
/** documented: rows written before sql/015 keep their content copies, so nodes_full shows no reference (docs/schema.md) */
const IGNORED: Record<string, string[]> = { 'runledger.nodes_full': ['input_ref', 'output_ref', 'tool_definitions_ref'] };

const DIR = fileURLToPath(new URL('../testdata/mapping/', import.meta.url));
/** the mapping fixtures, NULs replaced as the OTLP decoders replace them (the writers never see one) */
const fixtures = (): SpanRecord[] => readdirSync(DIR).filter((f) => f.endsWith('.spans.json')).sort()
  .flatMap((f) => (JSON.parse(readFileSync(DIR + f, 'utf8').replaceAll('\\u0000', '\\ufffd')) as { spans: SpanRecord[] }).spans);

/** A run as earlier gateways stored it: a root without a start time (the epoch), a call, a span ending before it starts. */
const BAD_TRACE = '5b8efff798038103d269b633813fc60c';
function badTimes(): SpanRecord[] {
  const t = 1_700_000_000_000_000;
  const base = { kind: 1, statusCode: 0, statusMessage: '', events: [], links: [], resource: { 'service.name': 'chat-api' },
    serviceName: 'chat-api', scopeName: 'test', scopeVersion: null, tenantId: 'default', traceId: BAD_TRACE };
  return [
    { ...base, spanId: '1112131415161718', parentSpanId: null, name: 'no start time', startUs: 0, endUs: 0, attributes: {} },
    { ...base, spanId: 'eee19b7ec3c1b174', parentSpanId: null, name: 'chat gpt-4o', startUs: t, endUs: t + 2_000_000, statusCode: 2,
      statusMessage: 'rate limited', attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o',
        'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1234, 'gen_ai.usage.output_tokens': 56 } },
    { ...base, spanId: '0102030405060708', parentSpanId: 'eee19b7ec3c1b174', name: 'execute_tool lookup', startUs: t + 10,
      endUs: t - 5_000_000, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup' } },
  ];
}

const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 4000, captureContent: true });
const LOG_SPAN = { traceId: '00000000000000010000000000000001', spanId: '0000000000001002' };

/** The dataset in requests: logs before their span, children before parents (late parents), split. */
async function ingest(c: pg.ClientBase, spans: SpanRecord[], normalise: boolean): Promise<void> {
  const logs = prepareLogsBody(Buffer.from(JSON.stringify(logsJson(chatEvents(LOG_SPAN.traceId, LOG_SPAN.spanId,
    BigInt(Date.UTC(2026, 0, 1, 0, 1)) * 1_000_000n)))), 'json', 'default');
  await writeLogs(c, logs.items, logs.rows, new DayPartitions(),
    { captureContent: true, maxContentChars: 4000, retryAfterSeconds: 1 }, logs.resources);
  const reversed = [...spans].reverse();
  for (let i = 0; i < 3; i++) {
    const part = reversed.filter((_, j) => j % 3 === i).map((s) => structuredClone(s));
    // today's gateway normalises times before mapping (prepareDecoded); earlier ones stored them as sent
    const items = normalise ? prepareDecoded({ spans: part, rejected: 0, errors: [] }, mapper).items : prepareSpans(mapSpans(part, mapper)).items;
    await writeBatch(c, items);
  }
}

async function columns(db: TestDb, table: string): Promise<string[]> {
  const { rows } = await db.pool.query(`SELECT a.attname FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0
    AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`, [`runledger.${table}`]);
  return rows.map((r) => r.attname);
}

/** Copy rows of `from` (a view of today's schema giving the rows in their pre-014/015 form) into the old ledger's table. */
async function copy(src: TestDb, dst: TestDb, from: string, table: string, where = 'true'): Promise<void> {
  const cols = (await columns(dst, table)).map((c) => `"${c}"`).join(', ');
  const { rows } = await src.pool.query(`SELECT coalesce(jsonb_agg(to_jsonb(v)), '[]') AS j FROM runledger.${from} v WHERE ${where}`);
  await dst.pool.query(`INSERT INTO runledger.${table} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::runledger.${table}, $1::jsonb)`,
    [JSON.stringify(rows[0].j)]);
}

/** Every view's rows as sorted canonical JSON: volatile and documented columns left out, floats to 12 digits (sums in any order). */
async function snapshot(db: TestDb): Promise<Record<string, string[]>> {
  await db.pool.query(`SELECT runledger.refresh_daily_usage('2000-01-01', '2100-01-01')`);
  const views = (await db.pool.query(`SELECT table_schema || '.' || table_name AS v FROM information_schema.views
    WHERE table_schema IN ('runledger', 'compat') ORDER BY 1`)).rows.map((r) => r.v as string);
  const out: Record<string, string[]> = {};
  const q = async (name: string, sql: string) => {
    const strip = [...VOLATILE, ...(IGNORED[name] ?? [])].map((k) => ` - '${k}'`).join('');
    const { rows } = await db.pool.query(`SELECT (to_jsonb(v)${strip})::text AS j FROM (${sql}) v`);
    out[name] = rows.map((r) => JSON.stringify(JSON.parse(r.j, (_k, x) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(12)) : x)))).sort();
  };
  for (const v of views) await q(v, `SELECT * FROM ${v}`);
  await q('runledger.node_tree()', `SELECT r.tenant_id AS run_tenant, r.run_id AS run, t.* FROM runledger.runs r
    CROSS JOIN LATERAL runledger.node_tree(r.run_id, r.tenant_id) t`);
  return out;
}

/**
 * What the mapping of an earlier release made of the same spans, as the gateway of 2026-11-25 (a5d0520) did:
 * nodes it did not recognise, provider ids not normalised, usage not normalised, content_source unknown, a
 * pipeline from a source ranked differently.
 */
async function earlierMapping(db: TestDb): Promise<void> {
  await db.pool.query(`DELETE FROM runledger.nodes WHERE node_type IN ('RERANKER', 'EMBEDDING', 'TOOL')`);
  await db.pool.query(`UPDATE runledger.nodes SET provider = provider || '.chat' WHERE provider = 'openai'`);
  await db.pool.query(`UPDATE runledger.nodes SET input_tokens = input_tokens - cache_read_tokens, usage_normalized = false
    WHERE usage_normalized AND cache_read_tokens > 0`);
  await db.pool.query(`UPDATE runledger.nodes SET content_source = NULL`);
  await db.pool.query(`UPDATE runledger.runs SET pipeline = name, pipeline_rank = 4 WHERE name IS NOT NULL AND pipeline <> name`);
}

let fresh: TestDb;
/** the fresh ingest's views, read once */
let freshViews: Promise<Record<string, string[]>> | null = null;
const freshSnapshot = () => (freshViews ??= snapshot(fresh));
let scratch: TestDb;
let old: TestDb;
let older: TestDb;
beforeAll(async () => {
  [fresh, scratch, old, older] = await Promise.all([createTestDb('upg_fresh'), createTestDb('upg_scratch'),
    createTestDb('upg_old', OLD), createTestDb('upg_older', OLD)]);
  const spans = [...fixtures(), ...badTimes()];
  for (const [db, normalise] of [[fresh, true], [scratch, false]] as const) {
    const c = await db.pool.connect();
    try { await ingest(c, spans, normalise); } finally { c.release(); }
  }
  // the old ledgers: the rows an earlier gateway wrote, in the form of migration 013 (no resources table, no references)
  for (const db of [old, older]) {
    for (const [from, table] of [['raw_spans', 'spans'], ['nodes_full', 'nodes'], ['runs', 'runs'], ['usage_frontier', 'usage_frontier'],
      ['raw_logs', 'logs'], ['pending_content', 'pending_content']] as const) await copy(scratch, db, from, table);
  }
  await earlierMapping(older);
}, 60_000);
afterAll(async () => { await Promise.all([fresh?.drop(), scratch?.drop(), old?.drop(), older?.drop()]); });

function expectSame(x: Record<string, string[]>, y: Record<string, string[]>): void {
  expect(Object.keys(x)).toEqual(Object.keys(y));
  for (const v of Object.keys(y)) {
    expect(y[v]!.length, v).toBeGreaterThan(0);
    expect(x[v], v).toEqual(y[v]);
  }
}

describe('upgrading a ledger of migration 013', () => {
  it('the old ledger holds what earlier gateways stored', async () => {
    const { rows } = await old.pool.query(`SELECT count(*) FILTER (WHERE start_time = 'epoch')::int AS no_start,
      count(*) FILTER (WHERE end_time < start_time)::int AS ends_before, count(*)::int AS spans FROM runledger.spans`);
    expect(rows[0]).toMatchObject({ no_start: 1, ends_before: 1 });
    expect(rows[0].spans).toBeGreaterThan(150);
  });

  it('after the migrations and the repair they queue, every view reads as a fresh ingest', async () => {
    await migrate(old.url);
    await repairQueued(old.pool);
    const [x, y] = await Promise.all([snapshot(old), freshSnapshot()]);
    expectSame(x, y);
  });
});

describe('upgrading a ledger an earlier mapping wrote', () => {
  it('reads as a fresh ingest after repair --remap, and a second one changes nothing', async () => {
    await migrate(older.url);
    await repairQueued(older.pool);
    await repair(older.pool);
    // a gateway of the earlier release still running during a rolling upgrade stores the run with bad times
    // again after sql/024 normalised it (as it stores it: resource inline, content copied)
    const isBad = (col: string) => `replace(${col}::text, '-', '') = '${BAD_TRACE}'`;
    for (const t of ['nodes', 'spans', 'runs']) {
      await older.pool.query(`DELETE FROM runledger.${t} WHERE ${t === 'spans' ? 'trace_id' : 'run_id'} = $1::uuid`, [BAD_TRACE]);
    }
    for (const [from, table, col] of [['raw_spans', 'spans', 'trace_id'], ['nodes_full', 'nodes', 'run_id'], ['runs', 'runs', 'run_id']] as const) {
      await copy(scratch, older, from, table, isBad(col));
    }
    expect((await older.pool.query(`SELECT count(*)::int AS n FROM runledger.spans WHERE start_time = 'epoch' OR end_time < start_time`)).rows[0].n).toBe(2);
    const y = await freshSnapshot();
    const before = await snapshot(older);
    // the earlier mapping shows (a plain repair keeps nodes as mapped)
    expect(Object.keys(y).filter((v) => JSON.stringify(before[v]) !== JSON.stringify(y[v])).length).toBeGreaterThan(10);
    const remap = { mapper, logContentChars: 4000 };
    const r = await repair(older.pool, { remap });
    expect(r.scanned).toBe(y['runledger.run_summary']!.length);
    expectSame(await snapshot(older), y);
    await repair(older.pool, { remap });
    expectSame(await snapshot(older), y);
  });
});

describe('run_summary', () => {
  it('gives the same llm_time_ms for the same calls stored in another order', async () => {
    // 0.1 + 0.2 + 0.3 ms as doubles: 0.6000000000000001 summed in this order, 0.6 in the other
    const t = 1_700_000_000_000_000;
    const run = (traceId: string, lengths: number[]) => lengths.map((us, i) => mapped(span({ traceId, spanId: `00000000000000a${i}`,
      parentSpanId: null, name: 'chat', startUs: t + i * 1000, endUs: t + i * 1000 + us }), node({ nodeType: 'LLM', inputTokens: 1, outputTokens: 1 })));
    const a = 'aa'.repeat(16);
    const b = 'bb'.repeat(16);
    const c = await scratch.pool.connect();
    try {
      await writeBatch(c, run(a, [100, 200, 300]));
      await writeBatch(c, run(b, [300, 200, 100]));
    } finally { c.release(); }
    const { rows } = await scratch.pool.query(`SELECT llm_time_ms FROM runledger.run_summary WHERE run_id IN ($1::uuid, $2::uuid)`, [a, b]);
    expect(rows.map((r) => r.llm_time_ms)).toEqual([0.6, 0.6]);
  });
});
