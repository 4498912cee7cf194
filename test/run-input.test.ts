/**
 * The run's stored input (sql/029, runs.run_input) on real PostgreSQL through the real path (mapper → prepare →
 * writeBatch): for any arrival order, split and re-send it equals what compat resolved per query before
 * (test/helpers/run-input.ts: the root node's input when the root span is a node, else the first input
 * node's), including a root replaced by an earlier parentless span that is not a node; `repair` recomputes it;
 * migration 029 fills it for runs stored before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMapper, loadPriceTable } from '../src/mapping/index.js';
import type { SpanRecord } from '../src/otlp/types.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import { repair } from '../src/maintenance/repair.js';
import { migrate } from '../src/db/migrate.js';
import { chunks, rng, shuffle, writeAll } from './helpers/spans.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { STALE_RUN_INPUTS_SQL, writeBefore029 } from './helpers/run-input.js';

const mapper = createMapper({ prices: loadPriceTable(), captureContent: true, maxContentChars: 16_384 });
const T0 = 1_767_226_500_000_000;
const TRACE_1 = '00000000000000290000000000000001';
const TRACE_2 = '00000000000000290000000000000002';

const msgs = (text: string) => [{ role: 'user', parts: [{ type: 'text', content: text }] }];
function rec(traceId: string, spanId: string, parentSpanId: string | null, startMs: number, attributes: Record<string, unknown>,
  name = 'span'): SpanRecord {
  return {
    traceId, spanId, parentSpanId, name, kind: 1, startUs: T0 + startMs * 1000, endUs: T0 + startMs * 1000 + 500,
    statusCode: 0, statusMessage: '', attributes, events: [], links: [], resource: { 'service.name': 'svc' },
    serviceName: 'svc', scopeName: 'test', scopeVersion: '1',
  } as unknown as SpanRecord;
}
const chat = (text: string) => ({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.input.messages': msgs(text) });

/**
 * Trace 1: the root is the plain HTTP span P (earliest parentless, not a node), so the run's input is the first
 * node with input (B, which starts before R and A). Before P arrives the root is the chat node R: the stored
 * input is R's then, and must turn into B's when P comes, whatever was stored in between.
 * Trace 2: the root is an agent node without input: the run's input is NULL (its root node's), though C has input.
 */
function spans(tenantId: string): SpanRecord[] {
  const one = [
    rec(TRACE_1, '0000000000000a01', null, 0, { 'http.request.method': 'GET' }, 'GET /ask'),
    rec(TRACE_1, '0000000000000a02', null, 10, chat('from R'), 'chat gpt-4o-mini'),
    rec(TRACE_1, '0000000000000a03', '0000000000000a02', 20, chat('from A'), 'chat gpt-4o-mini'),
    rec(TRACE_1, '0000000000000a04', '0000000000000a02', 5, chat('from B'), 'chat gpt-4o-mini'),
    rec(TRACE_1, '0000000000000a05', '0000000000000a03', 30, { 'db.system': 'postgresql' }, 'SELECT'),
  ];
  const two = [
    rec(TRACE_2, '0000000000000b01', null, 0, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' }, 'invoke_agent planner'),
    rec(TRACE_2, '0000000000000b02', '0000000000000b01', 10, chat('from C'), 'chat gpt-4o-mini'),
  ];
  return [...one, ...two].map((s) => ({ ...s, tenantId }));
}

let db: TestDb;
beforeAll(async () => { db = await createTestDb('run_input'); });
afterAll(async () => { await db?.drop(); });

async function write(records: SpanRecord[], on: TestDb = db): Promise<void> {
  const c = await on.pool.connect();
  try {
    await writeAll((x) => writeBatch(c, x), prepareSpans(records.map((r) => mapper(r))).items);
  } finally { c.release(); }
}

const STALE = STALE_RUN_INPUTS_SQL;
async function inputs(tenant: string, on: TestDb = db): Promise<Record<string, unknown>> {
  const rows = (await on.pool.query(`SELECT replace(run_id::text, '-', '') AS id, run_input FROM runledger.runs WHERE tenant_id = $1`, [tenant])).rows;
  expect((await on.pool.query(STALE, [tenant])).rows[0].n, `stale inputs of ${tenant}`).toBe(0);
  return Object.fromEntries(rows.map((r) => [r.id, r.run_input]));
}
const WANT = { [TRACE_1]: msgs('from B'), [TRACE_2]: null };

describe('runs.run_input (sql/029)', () => {
  it('is the resolved input for every arrival order, split and re-send, also when the root changes', async () => {
    await write(spans('in-order'));
    expect(await inputs('in-order')).toEqual(WANT);
    // the chat root first: its input, until the plain root arrives
    await write(spans('root-later').filter((s) => s.spanId !== '0000000000000a01'));
    expect((await inputs('root-later'))[TRACE_1]).toEqual(msgs('from R'));
    await write(spans('root-later').filter((s) => s.spanId === '0000000000000a01'));
    expect(await inputs('root-later')).toEqual(WANT);
    for (let seed = 1; seed <= 24; seed++) {
      const rand = rng(seed);
      const tenant = `seed-${seed}`;
      const batches = chunks(shuffle(spans(tenant), rand), 3, rand);
      for (let i = 0; i < batches.length; i++) {
        await write(batches[i]!);
        expect((await db.pool.query(STALE, [tenant])).rows[0].n, `seed ${seed} after batch ${i}`).toBe(0);
        if (rand() < 0.4) await write(batches[Math.floor(rand() * (i + 1))]!); // an exporter's retry
      }
      expect(await inputs(tenant), `seed ${seed}`).toEqual(WANT);
    }
  });

  it('is recomputed from the stored rows when a batch\'s chosen node did not carry its input', async () => {
    const c = await db.pool.connect();
    try {
      const items = prepareSpans(spans('uncarried').map((r) => mapper(r))).items;
      for (const m of items) if (m.node) m.node.inputForRun = null;
      await writeAll((x) => writeBatch(c, x), items);
    } finally { c.release(); }
    expect(await inputs('uncarried')).toEqual(WANT);
  });

  it('is recomputed by repair', async () => {
    await write(spans('repaired'));
    await db.pool.query(`UPDATE runledger.runs SET run_input = '"stale"' WHERE tenant_id = 'repaired'`);
    const out = await repair(db.pool, {});
    expect(out.changed).toBe(2);
    expect(await inputs('repaired')).toEqual(WANT);
    expect((await repair(db.pool, {})).changed).toBe(0);
  });

  it('is filled by migration 029 for runs stored before it', async () => {
    const old = await createTestDb('run_input_m', '028_tenant_id_form');
    try {
      await writeBefore029(old.pool, () => write(spans('before-029'), old));
      expect((await old.pool.query(`SELECT count(*)::int AS n FROM compat.olo_run WHERE input_json IS NOT NULL`)).rows[0].n).toBe(1);
      await migrate(old.url);
      expect(await inputs('before-029', old)).toEqual(WANT);
    } finally { await old.drop(); }
  });
});
