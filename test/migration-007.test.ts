/**
 * Migration 007 on a ledger written before it: a trace that two tenants shared had one runs row mixing their
 * values and usage flags set across tenants. After the migration and the repair it queues (which the gateway
 * and `runledger migrate` run), each tenant has its own run, equal to what the new write path gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, span, writeOnPool } from './helpers/spans.js';
import { migrate } from '../src/db/migrate.js';
import { createMapper } from '../src/mapping/index.js';
import { loadPriceTable } from '../src/mapping/prices.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { repairQueued } from '../src/maintenance/repair.js';
import type { SpanRecord } from '../src/otlp/types.js';

let old: TestDb;
let ref: TestDb;
beforeAll(async () => { [old, ref] = await Promise.all([createTestDb('m007old', '006_analyst_identity'), createTestDb('m007ref')]); });
afterAll(async () => { await Promise.all([old?.drop(), ref?.drop()]); });

const T0 = (Date.now() - 86_400_000) * 1000;
const traceId = hex(16);
const ids = { aRoot: hex(8), aLlm: hex(8), bRoot: hex(8), bLlm: hex(8) };
const sp = (tenantId: string, spanId: string, parentSpanId: string | null, name: string, start: number, attributes: SpanRecord['attributes'], err = false) =>
  span({ traceId, spanId, parentSpanId, name, tenantId, startUs: T0 + start, endUs: T0 + start + 1_000_000, attributes,
    ...(err ? { statusCode: 2, statusMessage: 'pwned' } : {}) });
const spans: SpanRecord[] = [
  sp('acme', ids.aRoot, null, 'agent', 100, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.workflow.name': 'acme-flow' }),
  sp('acme', ids.aLlm, ids.aRoot, 'chat', 200, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100, 'user.id': 'alice' }),
  sp('globex', ids.bRoot, null, 'evil', 1, { 'gen_ai.workflow.name': 'evil-flow' }, true),
  sp('globex', ids.bLlm, ids.aLlm, 'chat tiny', 300, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1 }),
];
const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 1000, captureContent: true });

async function rows(db: TestDb) {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    runs: await q(`SELECT to_jsonb(r) - 'created_at' - 'updated_at' AS r FROM runledger.runs r ORDER BY tenant_id`),
    // price_ref (sql/008) is unknown for nodes priced before it existed: repair keeps their prices
    nodes: await q(`SELECT to_jsonb(n) - 'price_ref' AS n FROM runledger.nodes n ORDER BY tenant_id, node_id`),
    frontier: await q(`SELECT * FROM runledger.usage_frontier ORDER BY tenant_id, span_id`),
  };
}

describe('migration 007 on a trace two tenants shared', () => {
  beforeAll(async () => {
    // the reference: each tenant's spans written by today's write path
    await writeOnPool(ref.pool, prepareSpans(spans.map(mapper)).items);
    // the old ledger: the same span and node rows, one runs row for the trace (the first tenant's, with the other's
    // earlier failed root), and the other tenant's child un-counting the first tenant's LLM node, as 006 left them
    const copy = async (table: string) => {
      // the rows as the old schema held them: the resource inline (raw_spans, sql/014), node content resolved (nodes_full, sql/015)
      const source = table === 'spans' ? 'raw_spans' : table === 'nodes' ? 'nodes_full' : table;
      const r = await ref.pool.query(`SELECT coalesce(json_agg(t), '[]') AS j FROM runledger.${source} t`);
      await old.pool.query(`INSERT INTO runledger.${table} SELECT * FROM json_populate_recordset(null::runledger.${table}, $1)`, [JSON.stringify(r.rows[0].j)]);
    };
    await copy('spans');
    await copy('nodes');
    await old.pool.query(`UPDATE runledger.nodes SET usage_counted = false WHERE node_id = $1`, [ids.aLlm]);
    const run = (await ref.pool.query(`SELECT to_jsonb(r) AS r FROM runledger.runs r WHERE tenant_id = 'acme'`)).rows[0].r;
    await old.pool.query(`INSERT INTO runledger.runs SELECT * FROM jsonb_populate_record(null::runledger.runs, $1)`, [JSON.stringify({
      ...run, status: 'FAILED', name: 'evil', error_message: 'pwned', root_span_id: ids.bRoot, input_tokens: 1, pipeline: 'evil-flow',
    })]);
    expect((await migrate(old.url)).at(0)).toBe('007_tenant_runs');
  });

  it('queues each tenant\'s run for repair and drops the mixed row', async () => {
    const queued = await old.pool.query(`SELECT tenant_id, replace(run_id::text, '-', '') AS run_id FROM runledger.repair_queue ORDER BY 1`);
    expect(queued.rows).toEqual([{ tenant_id: 'acme', run_id: traceId }, { tenant_id: 'globex', run_id: traceId }]);
    expect((await old.pool.query('SELECT count(*)::int AS n FROM runledger.runs')).rows[0].n).toBe(0);
  });

  it('repairs them into exactly what the new write path gives, then empties the queue', async () => {
    const r = await repairQueued(old.pool as pg.Pool);
    expect(r).toMatchObject({ scanned: 2, recreated: 2 });
    expect(await rows(old)).toEqual(await rows(ref));
    const acme = (await old.pool.query(`SELECT status, name, pipeline, input_tokens::int, user_id FROM runledger.runs WHERE tenant_id = 'acme'`)).rows;
    expect(acme).toEqual([{ status: 'COMPLETED', name: 'agent', pipeline: 'acme-flow', input_tokens: 1000, user_id: 'alice' }]);
    expect((await old.pool.query('SELECT count(*)::int AS n FROM runledger.repair_queue')).rows[0].n).toBe(0);
    expect(await repairQueued(old.pool as pg.Pool)).toBeNull();
  });
});
