/**
 * Calls counted once by the tree rule (issue 10), against real PostgreSQL: an LLM node over an LLM node is one
 * call instrumented twice (OpenLLMetry's span over the Anthropic SDK's own), a tool node over a tool node one
 * tool call, even with plain spans between them and with the outer node carrying no usage. Any arrival order,
 * batch split and re-send gives the same counts; repair agrees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repair } from '../maintenance/repair.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { chunks, hex, mapped, node, rng, shuffle, span, writeOnPool } from '../../test/helpers/spans.js';
import type { PreparedSpan } from '../sink/prepare.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('calls'); });
afterAll(async () => { await db?.drop(); });

const T0 = 1_700_000_000_000_000;

/** An agent with 3 LLM calls (two instrumented twice), 2 tool calls (one twice) and a failed call without usage. */
function run(): PreparedSpan[] {
  const traceId = hex(16);
  const id = () => hex(8);
  const [ag, o1, s1, o2, h, s2, o3, t1, t1in, t2, f1, f1in] = Array.from({ length: 12 }, id);
  const s = (spanId: string, parentSpanId: string | null, name: string, at: number) =>
    span({ traceId, spanId, parentSpanId, name, startUs: T0 + at * 1000, endUs: T0 + at * 1000 + 500 });
  const llm = (input: number | null, cache = 0) => node({
    nodeType: 'LLM', modelName: 'claude-sonnet-4-5', inputTokens: input, outputTokens: input === null ? null : 25,
    cacheReadTokens: cache || null, totalTokens: input === null ? null : input + 25,
  });
  return [
    mapped(s(ag, null, 'invoke_agent planner', 0), node({ nodeType: 'AGENT' })),
    // OpenLLMetry's span (cache excluded from input: normalised by the mapping, not here) over the SDK's own
    mapped(s(o1, ag, 'anthropic.chat', 10), llm(70, 300)),
    mapped(s(s1, o1, 'anthropic.messages.create', 11), llm(414, 300)),
    // the same, with an HTTP span between the two
    mapped(s(o2, ag, 'anthropic.chat', 20), llm(70, 300)),
    mapped(s(h, o2, 'POST /v1/messages', 21)),
    mapped(s(s2, h, 'anthropic.messages.create', 22), llm(414, 300)),
    // a call instrumented once
    mapped(s(o3, ag, 'chat gpt-4o', 30), llm(100)),
    // a tool call instrumented twice, and one once
    mapped(s(t1, ag, 'execute_tool search', 40), node({ nodeType: 'TOOL', toolName: 'search' })),
    mapped(s(t1in, t1, 'search', 41), node({ nodeType: 'TOOL', toolName: 'search' })),
    mapped(s(t2, ag, 'execute_tool lookup', 50), node({ nodeType: 'TOOL', toolName: 'lookup' })),
    // a failed call (no usage) instrumented twice
    mapped(s(f1, ag, 'chat gpt-4o', 60), llm(null)),
    mapped(s(f1in, f1, 'openai.chat', 61), llm(null)),
  ];
}

const write = (items: PreparedSpan[]) => writeOnPool(db.pool, items);

async function counts(traceId: string) {
  const r = await db.pool.query(`SELECT llm_calls::int, tool_calls::int, total_nodes::int, input_tokens::int FROM runledger.runs WHERE run_id = $1`, [traceId]);
  const n = await db.pool.query(`SELECT name, call_counted, usage_counted FROM runledger.nodes WHERE run_id = $1 ORDER BY start_time`, [traceId]);
  return { run: r.rows, nodes: n.rows.map((x) => `${x.name}:${x.call_counted ? 'call' : '-'}:${x.usage_counted ? 'usage' : '-'}`) };
}

describe('llm_calls and tool_calls by the tree rule', () => {
  it('counts each call once: the innermost of a call instrumented twice', async () => {
    const r = run();
    await write(r);
    expect(await counts(r[0]!.span.traceId)).toEqual({
      run: [{ llm_calls: 4, tool_calls: 2, total_nodes: 11, input_tokens: 414 + 414 + 100 }],
      nodes: [
        'invoke_agent planner:-:-', 'anthropic.chat:-:-', 'anthropic.messages.create:call:usage', 'anthropic.chat:-:-',
        'anthropic.messages.create:call:usage', 'chat gpt-4o:call:usage', 'execute_tool search:-:-', 'search:call:-',
        'execute_tool lookup:call:-', 'chat gpt-4o:-:-', 'openai.chat:call:-',
      ],
    });
  });

  it('gives the same counts for any arrival order, batch split and re-send, and repair agrees', async () => {
    const reference = run();
    await write(reference);
    const expected = await counts(reference[0]!.span.traceId);
    for (let seed = 1; seed <= 30; seed++) {
      const rand = rng(seed);
      const r = run();
      const batches = chunks(shuffle(r, rand), 4, rand);
      for (let i = 0; i < batches.length; i++) {
        await write(batches[i]!);
        if (rand() < 0.3) await write(batches[Math.floor(rand() * (i + 1))]!);
      }
      expect(await counts(r[0]!.span.traceId), `seed ${seed}`).toEqual(expected);
    }
    expect((await repair(db.pool)).changed).toBe(0);
    // and repair puts them back when they are wrong
    await db.pool.query(`UPDATE runledger.nodes SET call_counted = node_type IN ('LLM', 'TOOL')`);
    await db.pool.query(`UPDATE runledger.runs SET llm_calls = 6, tool_calls = 3`);
    expect((await repair(db.pool)).changed).toBe(32);
    expect(await counts(reference[0]!.span.traceId)).toEqual(expected);
  });
});
