/**
 * Mapping results in the ledger (real PostgreSQL), from mapping fixtures written by the real path (mapper →
 * prepare → writeBatch):
 * - run hints: the run-hints fixture (session / user on non-GenAI spans, OpenLLMetry's workflow-name stamping)
 *   written in any order and batch split, then the runs rows deleted and recreated by `runledger repair`: the
 *   runs' pipeline, session_id and user_id are the same every time;
 * - the node columns of migration 009 (usage_normalized, tool_definitions) next to usage_counted;
 * - the run totals of current clients' keys (client-keys fixture: Strands, Google ADK 1.x, Spring AI).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMapper, loadPriceTable } from '../src/mapping/index.js';
import type { SpanRecord } from '../src/otlp/types.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import { repair } from '../src/maintenance/repair.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { chunks, rng, shuffle } from './helpers/spans.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('hints'); });
afterAll(async () => { await db?.drop(); });

const fixture = (name: string) => (JSON.parse(readFileSync(
  fileURLToPath(new URL(`../testdata/mapping/${name}.spans.json`, import.meta.url)), 'utf8')) as { spans: SpanRecord[] }).spans;
const spans = fixture('run-hints');
const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 256, captureContent: false });
const runIds = [...new Set(spans.map((s) => s.traceId))];

const EXPECTED = [
  { pipeline: 'POST /chat', session_id: 'sess-9', user_id: 'u-42' },
  { pipeline: 'handle_message', session_id: 'conv-7', user_id: null },
  { pipeline: 'joke_generator', session_id: null, user_id: null },
  { pipeline: 'helper', session_id: null, user_id: null },
  { pipeline: 'outer', session_id: null, user_id: null },
];

async function runs() {
  const rows = (await db.pool.query(`SELECT replace(run_id::text, '-', '') AS run_id, pipeline, session_id, user_id
    FROM runledger.runs WHERE run_id = ANY($1::uuid[])`, [runIds])).rows;
  return runIds.map((id) => {
    const { run_id: _, ...rest } = rows.find((r) => r.run_id === id) ?? { run_id: id };
    return rest;
  });
}

async function clear(): Promise<void> {
  for (const t of ['runs', 'spans', 'nodes', 'usage_frontier']) {
    await db.pool.query(`DELETE FROM runledger.${t} WHERE ${t === 'runs' || t === 'nodes' ? 'run_id' : 'trace_id'} = ANY($1::uuid[])`, [runIds]);
  }
}

describe('run hints in runs', () => {
  it('are the same for any arrival order and batch split, with re-sends', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const rand = rng(seed);
      const batches = chunks(shuffle(prepareSpans(spans.map(mapper)).items, rand), 4, rand);
      const c = await db.pool.connect();
      try {
        for (let i = 0; i < batches.length; i++) {
          await writeBatch(c, batches[i]!);
          if (rand() < 0.3) await writeBatch(c, batches[Math.floor(rand() * (i + 1))]!);
        }
      } finally { c.release(); }
      expect(await runs(), `seed ${seed}`).toEqual(EXPECTED);
      if (seed < 6) await clear();
    }
  });

  it('are recreated by repair when the runs rows are lost', async () => {
    await db.pool.query(`DELETE FROM runledger.runs WHERE run_id = ANY($1::uuid[])`, [runIds]);
    const r = await repair(db.pool, { runIds });
    expect(r).toMatchObject({ scanned: runIds.length, recreated: runIds.length });
    expect(await runs()).toEqual(EXPECTED);
  });
});

describe('node columns of migration 009', () => {
  it('stores usage_normalized and tool_definitions, and usage_counted stays the row\'s own', async () => {
    const mapperOn = createMapper({ prices: loadPriceTable(), maxContentChars: 4000, captureContent: true });
    const items = prepareSpans([...fixture('usage-keys'), ...fixture('otel-genai-content')].map(mapperOn)).items;
    const c = await db.pool.connect();
    try { await writeBatch(c, items); } finally { c.release(); }
    const q = async (name: string) => (await db.pool.query(`SELECT input_tokens::int, total_tokens::int, total_cost::text,
      usage_normalized, usage_counted, tool_definitions FROM runledger.nodes_full WHERE name = $1`, [name])).rows[0];
    expect(await q('anthropic.chat raw input')).toEqual({ input_tokens: 1242, total_tokens: 1312, total_cost: '0.0022500000',
      usage_normalized: true, usage_counted: true, tool_definitions: null });
    expect(await q('input includes cache')).toMatchObject({ input_tokens: 1000, usage_normalized: false, usage_counted: true });
    const structured = await q('chat structured');
    expect(structured).toMatchObject({ usage_normalized: false, usage_counted: false });
    expect(structured.tool_definitions).toEqual(fixture('otel-genai-content')[0]!.attributes['gen_ai.tool.definitions']);
  });
});

describe('current clients\' keys in the run totals', () => {
  it('counts Strands cache writes, Google ADK 1.x thoughts and Spring AI embeddings as the clients meant them', async () => {
    const items = prepareSpans(fixture('client-keys').map(mapper)).items;
    const c = await db.pool.connect();
    try { await writeBatch(c, items); } finally { c.release(); }
    const run = async (trace: number) => (await db.pool.query(`SELECT input_tokens::int, output_tokens::int,
      cache_write_tokens::int, reasoning_tokens::int, llm_calls::int, total_nodes::int FROM runledger.runs
      WHERE run_id = $1::uuid`, [`0000000000000011000000000000000${trace}`])).rows[0];
    // Strands: the agent span's accumulated usage is an aggregate of its one call: counted once, cache writes in
    expect(await run(1)).toEqual({ input_tokens: 2639, output_tokens: 264, cache_write_tokens: 2625, reasoning_tokens: 0,
      llm_calls: 1, total_nodes: 2 });
    // ADK 1.x: the thoughts (900 + 120) are output tokens
    expect(await run(2)).toEqual({ input_tokens: 2700, output_tokens: 1600, cache_write_tokens: 0, reasoning_tokens: 1020,
      llm_calls: 2, total_nodes: 3 });
    // Spring AI: one chat call and one embedding, not two LLM calls
    expect(await run(3)).toEqual({ input_tokens: 28, output_tokens: 5, cache_write_tokens: 0, reasoning_tokens: 0,
      llm_calls: 1, total_nodes: 2 });
  });
});
