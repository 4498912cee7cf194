/**
 * reprice against real PostgreSQL: a ledger priced with the shipped manifest, repriced with a price file, an
 * upgraded manifest (simulated by another source version) and back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMapper } from '../mapping/index.js';
import { MANIFEST_SOURCE, loadPriceTable } from '../mapping/prices.js';
import type { SpanRecord } from '../otlp/types.js';
import { prepareSpans } from '../sink/prepare.js';
import { writeBatch } from '../sink/writer.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { hex, span } from '../../test/helpers/spans.js';
import { reprice } from './reprice.js';
import { repair } from './repair.js';

let db: TestDb;
let dir: string;
beforeAll(async () => { db = await createTestDb('reprice'); dir = mkdtempSync(join(tmpdir(), 'runledger-prices-')); });
afterAll(async () => { await db?.drop(); rmSync(dir, { recursive: true, force: true }); });

const T0 = (Date.now() - 86_400_000) * 1000;
const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 256, captureContent: false });

/** gpt-4o-mini calls under an ai.generateText aggregate, a gpt-4o call, a reported cost, an unpriced model. */
function run(i: number): SpanRecord[] {
  const traceId = hex(16);
  const [a, b, c, d, e, f, g] = [hex(8), hex(8), hex(8), hex(8), hex(8), hex(8), hex(8)];
  const sp = (spanId: string, parentSpanId: string | null, name: string, attributes: SpanRecord['attributes']) =>
    span({ traceId, spanId, parentSpanId, name, startUs: T0 + i * 1000, endUs: T0 + i * 1000 + 500, attributes });
  const chat = (model: string, input: number, output: number, more = {}) => ({
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': input,
    'gen_ai.usage.output_tokens': output, ...more,
  });
  return [
    sp(a, null, 'invoke_agent', { 'gen_ai.operation.name': 'invoke_agent' }),
    sp(b, a, 'ai.generateText', { 'ai.model.id': 'gpt-4o-mini', 'ai.usage.promptTokens': 3000 + i, 'ai.usage.completionTokens': 700 }),
    sp(c, b, 'ai.generateText.doGenerate', { 'ai.model.id': 'gpt-4o-mini', 'ai.usage.promptTokens': 1000 + i, 'ai.usage.completionTokens': 300, 'ai.usage.cachedInputTokens': 400 }),
    sp(d, b, 'ai.generateText.doGenerate', { 'ai.model.id': 'gpt-4o-mini', 'ai.usage.promptTokens': 2000, 'ai.usage.completionTokens': 400 }),
    sp(e, a, 'chat gpt-4o', chat('gpt-4o', 500, 50 + i)),
    sp(f, a, 'chat gpt-4o-mini reported', chat('gpt-4o-mini', 100, 10, { 'gen_ai.usage.cost': 0.25 })),
    sp(g, a, 'chat local', chat('my-local-model', 1_000_000, 2_000_000)),
  ];
}

/** A price file: gpt-4o-mini at twice the manifest's prices, and a price for my-local-model. */
function customPrices(): string {
  const path = join(dir, 'prices.json');
  writeFileSync(path, JSON.stringify({ models: [
    { match: '^my-local-model$', input: 1, output: 2 },
    { match: '^gpt-4o-mini(?:-|$)', input: 0.3, output: 1.2, cacheRead: 0.15 },
  ] }));
  return path;
}

const nodeDays = async () => Number((await db.pool.query(
  `SELECT count(DISTINCT (start_time AT TIME ZONE 'UTC')::date) AS n FROM runledger.nodes`)).rows[0].n);
const totals = async (from: string) => (await db.pool.query(
  `SELECT sum(total_tokens)::text AS t, sum(total_cost)::text AS c FROM runledger.${from}`)).rows[0];
const nodes = async () => (await db.pool.query(
  `SELECT replace(run_id::text, '-', '') AS run_id, name, input_tokens::int, output_tokens::int, cache_read_tokens::int,
     input_cost::float8, output_cost::float8, total_cost::text, cost_source, price_ref, usage_counted
   FROM runledger.nodes ORDER BY run_id, start_time, name, input_tokens`)).rows;
const runs = async () => (await db.pool.query(
  `SELECT replace(run_id::text, '-', '') AS run_id, total_cost::text, input_tokens::int, output_tokens::int FROM runledger.runs ORDER BY run_id`)).rows;

/** gpt-4o-mini at the manifest's price (USD per 1M: 0.15 in, 0.075 cached in, 0.6 out), times k */
const mini = (input: number, cached: number, output: number, k = 1) => k * ((input - cached) * 0.15 + cached * 0.075 + output * 0.6) / 1e6;

describe('reprice', () => {
  const traces = Array.from({ length: 6 }, (_, i) => run(i));

  beforeAll(async () => {
    const c = await db.pool.connect();
    try {
      for (const t of traces) await writeBatch(c, prepareSpans(t.map(mapper)).items);
    } finally { c.release(); }
  });

  it('recomputes price-table costs and run totals, leaves reported costs, and is idempotent', async () => {
    const nodes0 = await nodes();
    const runs0 = await runs();
    const tabled = nodes0.filter((n) => n.cost_source === 'price_table');
    expect(tabled).toHaveLength(6 * 4);
    for (const n of tabled) expect(n.price_ref).toBe(`${MANIFEST_SOURCE}:openai/${n.name === 'chat gpt-4o' ? 'gpt-4o' : 'gpt-4o-mini'}`);
    // nothing to do with the table the ledger was priced with: only the unpriced nodes are looked at
    expect(await reprice(db.pool, { prices: loadPriceTable(), batch: 4 })).toEqual({ scanned: 6, repriced: 0, runsChanged: 0, rollupDays: 0 });
    expect(await nodes()).toEqual(nodes0);
    // a new price file: the nodes the manifest priced are current (its version did not change) unless forced
    expect(await reprice(db.pool, { prices: loadPriceTable(customPrices()), batch: 4 })).toMatchObject({ scanned: 6, repriced: 6 });
    await reprice(db.pool, { prices: loadPriceTable() });
    expect(await nodes()).toEqual(nodes0);

    const r = await reprice(db.pool, { prices: loadPriceTable(customPrices()), batch: 4, force: true });
    // per run: 3 gpt-4o-mini price-table nodes and the my-local-model node; gpt-4o's costs are unchanged
    expect(r).toEqual({ scanned: 6 * 5, repriced: 6 * 4, runsChanged: 6, rollupDays: await nodeDays() });
    expect(await totals('daily_usage')).toEqual(await totals('runs')); // the rollup has the new costs
    const nodes1 = await nodes();
    for (let k = 0; k < nodes0.length; k++) {
      const was = nodes0[k]!;
      const now = nodes1[k]!;
      if (was.name.startsWith('ai.generateText')) {
        expect(now.cost_source).toBe('price_table');
        expect(now.price_ref).toMatch(/^prices-file@[0-9a-f]{12}:\^gpt-4o-mini/);
        expect(Number(now.total_cost)).toBeCloseTo(2 * Number(was.total_cost), 9);
        expect(Number(now.total_cost)).toBeCloseTo(mini(was.input_tokens, was.cache_read_tokens ?? 0, was.output_tokens, 2), 9);
      } else if (was.name === 'chat local') {
        expect([was.total_cost, was.cost_source]).toEqual([null, null]);
        expect(now).toMatchObject({ total_cost: '5.0000000000', input_cost: 1, output_cost: 4, cost_source: 'price_table' });
        expect(now.price_ref).toMatch(/^prices-file@[0-9a-f]{12}:\^my-local-model\$$/);
      } else {
        expect(now).toEqual(was); // gpt-4o (price table, unchanged price), the reported cost, the agent
      }
    }
    expect(nodes1.filter((n) => n.cost_source === 'reported').map((n) => n.total_cost)).toEqual(Array(6).fill('0.2500000000'));

    // run totals: the counted nodes (two doGenerate, gpt-4o, reported, local); the aggregate is not counted
    const runs1 = await runs();
    for (let i = 0; i < runs1.length; i++) {
      const counted = nodes1.filter((n) => n.run_id === runs1[i]!.run_id && n.usage_counted);
      expect(counted.map((n) => n.name).sort()).toEqual(['ai.generateText.doGenerate', 'ai.generateText.doGenerate', 'chat gpt-4o', 'chat gpt-4o-mini reported', 'chat local']);
      const units = (v: string) => BigInt(v.replace('.', ''));
      expect(units(runs1[i]!.total_cost)).toBe(counted.reduce((a, n) => a + units(n.total_cost), 0n));
      const before = nodes0.filter((n) => n.run_id === runs1[i]!.run_id && n.name === 'ai.generateText.doGenerate');
      const delta = before.reduce((a, n) => a + mini(n.input_tokens, n.cache_read_tokens ?? 0, n.output_tokens), 0) + 5;
      expect(Number(runs1[i]!.total_cost)).toBeCloseTo(Number(runs0[i]!.total_cost) + delta, 9);
      expect(runs1[i]).toMatchObject({ input_tokens: runs0[i]!.input_tokens, output_tokens: runs0[i]!.output_tokens });
    }

    // a second time changes nothing, forced or not; the rollups agree with repair
    expect(await reprice(db.pool, { prices: loadPriceTable(customPrices()), force: true })).toEqual({ scanned: 30, repriced: 0, runsChanged: 0, rollupDays: 0 });
    expect(await reprice(db.pool, { prices: loadPriceTable(customPrices()) })).toEqual({ scanned: 0, repriced: 0, runsChanged: 0, rollupDays: 0 });
    expect(await nodes()).toEqual(nodes1);
    expect(await runs()).toEqual(runs1);
    expect((await repair(db.pool)).changed).toBe(0);

    // back to the shipped manifest (the file is no longer in force): the ledger as it was first priced,
    // except the local model keeps no price
    expect(await reprice(db.pool, { prices: loadPriceTable() })).toMatchObject({ repriced: 24, runsChanged: 6 });
    expect(await nodes()).toEqual(nodes0);
    expect(await runs()).toEqual(runs0);
  });

  it('re-prices when the manifest version changed (and only then), and nodes priced before price references', async () => {
    const nodes0 = await nodes();
    const upgraded = loadPriceTable(null, { manifestSource: 'genai-prices@999.0.0' });
    // every manifest-priced node (3 gpt-4o-mini and 1 gpt-4o per run) and the unpriced ones are looked at
    expect(await reprice(db.pool, { prices: upgraded, batch: 7 })).toEqual({ scanned: 30, repriced: 24, runsChanged: 0, rollupDays: await nodeDays() });
    expect((await nodes()).map((n) => n.price_ref?.replace('genai-prices@999.0.0', MANIFEST_SOURCE) ?? null)).toEqual(nodes0.map((n) => n.price_ref));
    expect(await reprice(db.pool, { prices: upgraded })).toEqual({ scanned: 6, repriced: 0, runsChanged: 0, rollupDays: 0 });
    // a node priced by the earlier hand-kept table has a cost but no reference
    await db.pool.query(`UPDATE runledger.nodes SET price_ref = NULL WHERE cost_source = 'price_table'`);
    expect(await reprice(db.pool, { prices: loadPriceTable() })).toMatchObject({ scanned: 30, repriced: 24, runsChanged: 0 });
    expect(await nodes()).toEqual(nodes0);
  });

  it('--since limits repricing to recent nodes', async () => {
    const r = await reprice(db.pool, { prices: loadPriceTable(customPrices()), since: new Date(T0 / 1000 + 3), force: true });
    expect(r).toEqual({ scanned: 3 * 5, repriced: 3 * 4, runsChanged: 3, rollupDays: await nodeDays() });
    await reprice(db.pool, { prices: loadPriceTable() });
  });

  // Last: it adds a run the counts above do not expect.
  it('keeps fallback-priced nodes while the manifest version stands, resolves them again after an upgrade, and lets the price file win', async () => {
    const model = 'accounts/fireworks/models/llama-v3p3-70b-instruct';
    const c = await db.pool.connect();
    try {
      await writeBatch(c, prepareSpans([span({
        traceId: hex(16), spanId: hex(8), parentSpanId: null, name: 'chat llama', startUs: T0 + 99_000, endUs: T0 + 99_500,
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'fireworks', 'gen_ai.request.model': model,
          'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 1000 },
      })].map(mapper)).items);
    } finally { c.release(); }
    const llama = async () => (await db.pool.query(
      `SELECT n.total_cost::text AS node_cost, n.cost_source, n.price_ref, r.total_cost::text AS run_cost
       FROM runledger.nodes n JOIN runledger.runs r USING (tenant_id, run_id) WHERE n.name = 'chat llama'`)).rows;
    const shipped = loadPriceTable();
    const atFallback = (t: typeof shipped) => [{ node_cost: '0.0018000000', cost_source: 'price_table', price_ref: `${t.fallback!.source}:^llama-v3p3-70b-instruct$`, run_cost: '0.0018000000' }];
    expect(await llama()).toEqual(atFallback(shipped));
    // its source is in force: only the 6 unpriced nodes are looked at
    expect(await reprice(db.pool, { prices: shipped })).toEqual({ scanned: 6, repriced: 0, runsChanged: 0, rollupDays: 0 });
    // an upgraded manifest might list the model: the node is resolved again with the manifest's nodes (24 + 1)
    const upgraded = loadPriceTable(null, { manifestSource: 'genai-prices@999.0.0' });
    expect(await reprice(db.pool, { prices: upgraded })).toMatchObject({ scanned: 31, repriced: 25, runsChanged: 0 });
    expect(await llama()).toEqual(atFallback(upgraded));
    // a price file entry wins over the fallback list (and the shipped manifest is back in force)
    const path = join(dir, 'llama.json');
    writeFileSync(path, JSON.stringify([{ match: '^llama-v3p3-70b-instruct$', input: 0.5, output: 0.5 }]));
    const withFile = loadPriceTable(path);
    expect(await reprice(db.pool, { prices: withFile })).toMatchObject({ scanned: 31, repriced: 25, runsChanged: 1 });
    expect(await llama()).toEqual([{ node_cost: '0.0010000000', cost_source: 'price_table', price_ref: `${withFile.file!.source}:^llama-v3p3-70b-instruct$`, run_cost: '0.0010000000' }]);
    // the file gone: the fallback prices it again; a second run changes nothing
    expect(await reprice(db.pool, { prices: shipped })).toMatchObject({ scanned: 7, repriced: 1, runsChanged: 1 });
    expect(await llama()).toEqual(atFallback(shipped));
    expect(await reprice(db.pool, { prices: shipped })).toEqual({ scanned: 6, repriced: 0, runsChanged: 0, rollupDays: 0 });
  });
});
