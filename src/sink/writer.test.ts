/** writeBatch against real PostgreSQL: idempotency, arrival order, usage counted once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { writeBatch } from './writer.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { chunks, hex, mapped, node, rng, shuffle, span, writeAll } from '../../test/helpers/spans.js';
import type { PreparedSpan } from './prepare.js';
import { dayOfUs, upsertResources } from './resources.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('writer'); });
afterAll(async () => { await db?.drop(); });

const T0 = 1_700_000_000_000_000;

/** An agent trace: an ai.generateText aggregate over two doGenerate calls (one behind an HTTP span). */
function agentTrace(traceId = hex(16)): PreparedSpan[] {
  const id = { a: hex(8), b: hex(8), c: hex(8), h: hex(8), d: hex(8), t: hex(8), e: hex(8), s: hex(8), h2: hex(8), g: hex(8) };
  const s = (spanId: string, parentSpanId: string | null, name: string, start: number, end: number, extra = {}) =>
    span({ traceId, spanId, parentSpanId, name, startUs: T0 + start, endUs: T0 + end, ...extra });
  return [
    mapped(s(id.a, null, 'invoke_agent planner', 0, 9_000_000), node({ nodeType: 'AGENT', agentName: 'planner' }), { rank: 3, value: 'planner' }),
    mapped(s(id.b, id.a, 'ai.generateText', 100, 5_000_000), node({
      nodeType: 'CHAIN', modelName: 'gpt-4o-mini', inputTokens: 30, outputTokens: 60, totalTokens: 90, totalCost: 0.0009, costSource: 'price_table',
    }), { rank: 2, value: 'my-fn' }),
    mapped(s(id.c, id.b, 'ai.generateText.doGenerate', 200, 2_000_000), node({
      nodeType: 'LLM', modelName: 'gpt-4o-mini', provider: 'openai', inputTokens: 10, outputTokens: 20, totalTokens: 30,
      totalCost: 0.0003, costSource: 'price_table', sessionId: 's1', userId: 'u1',
    })),
    mapped(s(id.h, id.b, 'POST /v1/chat/completions', 2_100_000, 4_900_000, { kind: 3 })),
    mapped(s(id.d, id.h, 'ai.generateText.doGenerate', 2_200_000, 4_800_000), node({
      nodeType: 'LLM', modelName: 'gpt-4o-mini', provider: 'openai', inputTokens: 20, outputTokens: 40, totalTokens: 60,
      cacheReadTokens: 8, totalCost: 0.0006, costSource: 'price_table',
    })),
    mapped(s(id.t, id.a, 'ai.toolCall', 5_100_000, 6_000_000, { statusCode: 2, statusMessage: 'boom' }), node({ nodeType: 'TOOL', toolName: 'search' })),
    mapped(s(id.e, id.a, 'ai.embed', 6_100_000, 8_500_000), node({
      nodeType: 'EMBEDDING', modelName: 'text-embedding-3-small', inputTokens: 5, totalTokens: 5, totalCost: 0.0000001,
    })),
    // an aggregate whose only usage-carrying descendant sits behind a plain (non-node) span
    mapped(s(id.s, id.a, 'ai.streamText', 8_600_000, 8_900_000), node({
      nodeType: 'CHAIN', modelName: 'gpt-4o-mini', inputTokens: 7, outputTokens: 3, totalTokens: 10, totalCost: 0.0001,
    })),
    mapped(s(id.h2, id.s, 'POST /v1/chat/completions', 8_610_000, 8_890_000, { kind: 3 })),
    mapped(s(id.g, id.h2, 'ai.streamText.doStream', 8_620_000, 8_880_000), node({
      nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 7, outputTokens: 3, totalTokens: 10, totalCost: 0.0001,
    })),
  ];
}

/** Write a batch (retrying the spans of runs another writer holds, as the batcher does). */
async function write(items: PreparedSpan[], client?: pg.PoolClient) {
  const c = client ?? (await db.pool.connect());
  try { return await writeAll((x) => writeBatch(c, x), items); } finally { if (!client) c.release(); }
}

/** The ledger rows of one run, with the run id blanked so runs of different traces compare. */
async function snapshot(runId: string) {
  const run = await db.pool.query(
    `SELECT pipeline, service_name, name, status, start_time, end_time, duration_ms, span_count, total_nodes,
            llm_calls, tool_calls, error_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
            reasoning_tokens, total_tokens, total_cost::text, models, session_id, user_id, error_message
     FROM runledger.runs WHERE run_id = $1`, [runId]);
  const nodes = await db.pool.query(
    `SELECT name, node_type, input_tokens, output_tokens, total_cost::text, usage_counted, start_time
     FROM runledger.nodes WHERE run_id = $1 ORDER BY start_time`, [runId]);
  const spans = await db.pool.query(`SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1`, [runId]);
  return { run: run.rows, nodes: nodes.rows, spans: spans.rows[0].n };
}

describe('writeBatch', () => {
  it('stores one in-order delivery with usage counted once', async () => {
    const trace = agentTrace();
    const out = await write(trace);
    expect(out).toEqual({ inserted: 10, duplicates: 0 });
    const snap = await snapshot(trace[0]!.span.traceId);
    expect(snap.spans).toBe(10);
    expect(snap.run).toHaveLength(1);
    const r = snap.run[0];
    expect(r).toMatchObject({
      pipeline: 'my-fn', name: 'invoke_agent planner', status: 'COMPLETED', span_count: '10', total_nodes: '8',
      llm_calls: '3', tool_calls: '1', error_count: '1', input_tokens: '42', output_tokens: '63', total_tokens: '105',
      cache_read_tokens: '8', total_cost: '0.0010001000', models: ['gpt-4o-mini', 'text-embedding-3-small'],
      session_id: 's1', user_id: 'u1', duration_ms: 9000,
    });
    const agg = snap.nodes.find((n) => n.name === 'ai.generateText');
    expect(agg.usage_counted).toBe(false); // aggregate: its usage is its children's
    expect(snap.nodes.filter((n) => n.usage_counted).map((n) => n.name).sort())
      .toEqual(['ai.embed', 'ai.generateText.doGenerate', 'ai.generateText.doGenerate', 'ai.streamText.doStream']);
  });

  it('re-sending a batch changes nothing', async () => {
    const trace = agentTrace();
    await write(trace);
    const before = await snapshot(trace[0]!.span.traceId);
    expect(await write(trace)).toEqual({ inserted: 0, duplicates: 10 });
    expect(await write([...trace.slice(2), ...trace.slice(0, 3)])).toEqual({ inserted: 0, duplicates: 11 });
    expect(await snapshot(trace[0]!.span.traceId)).toEqual(before);
  });

  it('duplicates inside one batch are stored once', async () => {
    const trace = agentTrace();
    const out = await write([...trace, trace[2]!, trace[0]!]);
    expect(out).toEqual({ inserted: 10, duplicates: 2 });
    const reference = agentTrace();
    await write(reference);
    expect(await snapshot(trace[0]!.span.traceId)).toEqual(await snapshot(reference[0]!.span.traceId));
  });

  it('any arrival order, batch split and re-send gives the same ledger', async () => {
    const reference = agentTrace();
    await write(reference);
    const expected = await snapshot(reference[0]!.span.traceId);
    expect(expected.run[0]).toMatchObject({ input_tokens: '42', output_tokens: '63', total_cost: '0.0010001000' });
    for (let seed = 1; seed <= 40; seed++) {
      const rand = rng(seed);
      const trace = agentTrace();
      const batches = chunks(shuffle(trace, rand), 3, rand);
      for (let i = 0; i < batches.length; i++) {
        await write(batches[i]!);
        if (rand() < 0.4) await write(batches[Math.floor(rand() * (i + 1))]!); // OTLP retry of an earlier batch
      }
      expect(await snapshot(trace[0]!.span.traceId), `seed ${seed}`).toEqual(expected);
    }
  });

  it('concurrent writers on the same runs give the same ledger', async () => {
    const reference = agentTrace();
    await write(reference);
    const expected = await snapshot(reference[0]!.span.traceId);
    for (let seed = 100; seed < 110; seed++) {
      const rand = rng(seed);
      const trace = agentTrace();
      const batches = chunks(shuffle([...trace, ...trace], rand), 2, rand);
      const clients = await Promise.all([db.pool.connect(), db.pool.connect(), db.pool.connect()]);
      try {
        let next = 0;
        await Promise.all(clients.map(async (c) => {
          while (next < batches.length) await write(batches[next++]!, c);
        }));
      } finally {
        clients.forEach((c) => c.release());
      }
      expect(await snapshot(trace[0]!.span.traceId), `seed ${seed}`).toEqual(expected);
    }
  });

  it('does not deadlock with another writer creating the same run and storing the same resource', async () => {
    // The other writer (a logs writer, or a re-send) has created the run's row, uncommitted. This writer held
    // the resource row it had upserted inside its transaction while it waited for that run; the other then
    // upserted the same resource (a later day) and waited for this one: 40P01.
    const service = `svc-${hex(4)}`;
    const runId = hex(16);
    const trace = [mapped(span({ traceId: runId, spanId: hex(8), startUs: T0, endUs: T0 + 1000, resource: { 'service.name': service } }), node({ nodeType: 'LLM', inputTokens: 5 }))];
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT * FROM runledger.create_runs($1::text[], $2::uuid[])`, [['default'], [runId]]);
      const writing = write(trace);
      const waiting = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rows[0].n;
      for (let i = 0; i < 100 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await waiting()).toBe(1);
      const ref = trace[0]!.resource;
      await upsertResources(other, [{ tenantId: 'default', hash: ref.hash, json: ref.json, day: dayOfUs(T0) + 1 }]);
      await other.query('COMMIT');
      await writing;
    } finally {
      await other.query('ROLLBACK').catch(() => {});
      other.release();
    }
    const run = (await db.pool.query(`SELECT span_count::int, status FROM runledger.runs WHERE run_id = $1`, [runId])).rows;
    expect(run).toEqual([{ span_count: 1, status: 'COMPLETED' }]);
  });

  it('a run without its root stays RUNNING; the root completes or fails it', async () => {
    const trace = agentTrace();
    const runId = trace[0]!.span.traceId;
    await write(trace.slice(1));
    expect((await snapshot(runId)).run[0]).toMatchObject({ status: 'RUNNING', name: null });
    const failedRoot = { ...trace[0]!, span: { ...trace[0]!.span, statusCode: 2, statusMessage: 'agent crashed' } };
    await write([failedRoot]);
    expect((await snapshot(runId)).run[0]).toMatchObject({ status: 'FAILED', name: 'invoke_agent planner', error_message: 'agent crashed', error_count: '2' });
  });
});

describe('writeBatch after a failed transaction', () => {
  it('keeps the connection usable for re-sends (staging table survives rollbacks)', async () => {
    const client = new pg.Client({ connectionString: db.url }); // a fresh session: no staging table yet
    await client.connect();
    const c = client as unknown as pg.PoolClient;
    try {
      const traceId = hex(16);
      const a = mapped(span({ traceId, spanId: hex(8), name: 'a' }), node({ nodeType: 'LLM', inputTokens: 1 }));
      const bad = mapped(span({ traceId, spanId: hex(8), name: 'bad' }), node({ nodeType: 'LLM', inputTokens: 1e20 }));
      expect(await writeBatch(c, [a])).toEqual({ inserted: 1, duplicates: 0 });
      await expect(writeBatch(c, [a, bad])).rejects.toMatchObject({ code: '22003' }); // bigint out of range
      expect(await writeBatch(c, [a])).toEqual({ inserted: 0, duplicates: 1 });
    } finally {
      await client.end();
    }
  });
});

describe('writeBatch with an id no decoder lets through', () => {
  it('fails as a data error (the batcher then isolates the span) and leaves the session usable', async () => {
    const odd = mapped(span({ traceId: 'z'.repeat(32), spanId: hex(8), name: 'odd' }));
    await expect(write([odd])).rejects.toMatchObject({ code: '22P02' });
    const upper = agentTrace(hex(16).toUpperCase());
    expect(await write(upper)).toEqual({ inserted: 10, duplicates: 0 });
  });
});

describe('staging tables', () => {
  it('are empty after every batch, committed or rolled back, and stay small over many batches', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const c = client as unknown as pg.PoolClient;
    const staged = async () => (await client.query(
      `SELECT (SELECT count(*) FROM pg_temp.runledger_stage_spans)::int AS spans,
              (SELECT count(*) FROM pg_temp.runledger_stage_run_deltas)::int AS deltas`)).rows[0];
    try {
      const trace = agentTrace();
      await writeBatch(c, trace);
      expect(await staged()).toMatchObject({ spans: 0, deltas: 0 });
      await writeBatch(c, trace); // re-sent: the slow path stages the spans
      expect(await staged()).toMatchObject({ spans: 0, deltas: 0 });
      const bad = mapped(span({ traceId: hex(16), spanId: hex(8), name: 'bad' }), node({ nodeType: 'LLM', inputTokens: 1e20 }));
      await expect(writeBatch(c, [...agentTrace(), bad])).rejects.toMatchObject({ code: '22003' });
      expect(await staged()).toMatchObject({ spans: 0, deltas: 0 });
      // The deleted rows are dead rows until a TRUNCATE outside any transaction (a new file) clears them,
      // every 64 batches: 150 batches see at least two.
      const filenode = async () => (await client.query(`SELECT pg_relation_filenode('pg_temp.runledger_stage_run_deltas') AS f`)).rows[0].f;
      const files = new Set([await filenode()]);
      for (let i = 0; i < 150; i++) {
        await writeBatch(c, agentTrace());
        files.add(await filenode());
      }
      expect(files.size).toBeGreaterThanOrEqual(3);
      expect(await staged()).toMatchObject({ spans: 0, deltas: 0 });
    } finally {
      await client.end();
    }
  });
});
