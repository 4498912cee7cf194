/**
 * repair against real PostgreSQL: ledgers written by the real write path (mapper → prepare → writeBatch,
 * any arrival order, batches mixing runs, retries), corrupted, then repaired back to exactly what the
 * incremental path had written; an intact ledger is left unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createMapper } from '../mapping/index.js';
import { loadPriceTable } from '../mapping/prices.js';
import type { SpanRecord } from '../otlp/types.js';
import { prepareSpans, type PreparedSpan } from '../sink/prepare.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { chunks, hex, rng, shuffle, span, writeOnPool } from '../../test/helpers/spans.js';
import { repair } from './repair.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('repair'); });
afterAll(async () => { await db?.drop(); });

const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 256, captureContent: false });
const T0 = (Date.now() - 2 * 86_400_000) * 1000;

type Opts = { root?: boolean; rootError?: boolean; dropHttp?: boolean; extraRoot?: 'ok' | 'error' | null; tenant?: string };

/** One agent run in Vercel AI SDK / OTel GenAI conventions (see writer.test.ts agentTrace). */
function agentRun(rand: () => number, o: Opts = {}): SpanRecord[] {
  const traceId = hex(16);
  const id = () => hex(8);
  const [a, b, c, h, d, t, e, s, h2, g, r] = [id(), id(), id(), id(), id(), id(), id(), id(), id(), id(), id()];
  const tok = () => 1 + Math.floor(rand() * 500);
  const [in1, out1, in2, out2, in3, out3] = [tok(), tok(), tok(), tok(), tok(), tok()];
  const env = rand() < 0.5 ? 'prod' : 'staging';
  const sp = (spanId: string, parentSpanId: string | null, name: string, start: number, end: number, attributes: SpanRecord['attributes'] = {}, extra: Partial<SpanRecord> = {}) =>
    span({ traceId, spanId, parentSpanId, name, startUs: T0 + start, endUs: T0 + end, attributes, tenantId: o.tenant ?? 'default',
      resource: { 'service.name': 'svc', 'deployment.environment.name': env }, ...extra });
  const vercel = (model: string, i: number, out: number, more = {}) => ({
    'ai.model.id': model, 'ai.usage.promptTokens': i, 'ai.usage.completionTokens': out, 'ai.telemetry.functionId': 'my-fn', ...more,
  });
  const spans = [
    sp(b, a, 'ai.generateText', 100, 5_000_000, vercel('gpt-4o-mini', in1 + in2, out1 + out2)),
    sp(c, b, 'ai.generateText.doGenerate', 200, 2_000_000, vercel('gpt-4o-mini', in1, out1, { 'ai.telemetry.metadata.sessionId': 's-' + (in1 % 3) })),
    sp(d, h, 'ai.generateText.doGenerate', 2_200_000, 4_800_000, vercel('gpt-4o-mini', in2, out2, { 'ai.usage.cachedInputTokens': Math.min(8, in2) })),
    sp(t, a, 'ai.toolCall', 5_100_000, 6_000_000, { 'ai.toolCall.name': 'search' }, rand() < 0.5 ? { statusCode: 2, statusMessage: 'tool failed' } : {}),
    sp(e, a, 'ai.embed', 6_100_000, 8_500_000, { 'ai.model.id': 'text-embedding-3-small', 'ai.usage.tokens': 5, 'user.id': 'u' + (in3 % 2) }),
    sp(s, a, 'ai.streamText', 8_600_000, 8_900_000, vercel('gpt-4o', in3, out3)),
    sp(h2, s, 'POST /v1/chat/completions', 8_610_000, 8_890_000, {}, { kind: 3 }),
    sp(g, h2, 'chat gpt-4o', 8_620_000, 8_880_000, {
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': in3,
      'gen_ai.usage.output_tokens': out3, 'gen_ai.usage.cost': 0.5, // a reported cost
    }),
  ];
  if (!o.dropHttp) spans.push(sp(h, b, 'POST /v1/chat/completions', 2_100_000, 4_900_000, {}, { kind: 3 }));
  if (o.root !== false) {
    spans.push(sp(a, null, 'invoke_agent planner', 0, 9_000_000, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' },
      o.rootError ? { statusCode: 2, statusMessage: 'agent gave up' } : {}));
  }
  if (o.extraRoot) {
    spans.push(sp(r, null, 'late root', 9_500_000, 9_600_000, {}, o.extraRoot === 'error' ? { statusCode: 2, statusMessage: 'late failure' } : {}));
  }
  return spans;
}

const prepare = (spans: SpanRecord[]) => prepareSpans(spans.map(mapper)).items;

async function write(items: PreparedSpan[]): Promise<void> {
  await writeOnPool(db.pool, items);
}

/** Shuffled, split into batches that mix runs, with OTLP-style retries of earlier batches. */
async function ingest(spans: SpanRecord[], seed: number): Promise<void> {
  const rand = rng(seed);
  const batches = chunks(shuffle(prepare(spans), rand), 7, rand);
  for (let i = 0; i < batches.length; i++) {
    await write(batches[i]!);
    if (rand() < 0.2) await write(batches[Math.floor(rand() * (i + 1))]!);
  }
}

async function snapshot(pool: pg.Pool) {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    runs: await q(`SELECT to_jsonb(r) - 'updated_at' AS r FROM runledger.runs r ORDER BY run_id`),
    nodes: await q(`SELECT to_jsonb(n) AS n FROM runledger.nodes n ORDER BY run_id, node_id`),
    frontier: await q(`SELECT * FROM runledger.usage_frontier ORDER BY trace_id, span_id`),
  };
}

const runId = (spans: SpanRecord[]) => spans[0]!.traceId;

describe('repair', () => {
  const runs: SpanRecord[][] = [];

  beforeAll(async () => {
    const rand = rng(7);
    for (let i = 0; i < 24; i++) {
      runs.push(agentRun(rand, {
        root: i % 6 !== 5, rootError: i % 4 === 1, dropHttp: i % 5 === 2, tenant: i % 3 === 0 ? 'acme' : 'default',
        extraRoot: i % 7 === 3 ? 'error' : i % 7 === 4 ? 'ok' : null,
      }));
    }
    await ingest(runs.flat(), 11);
    // A failed parentless span written before the (earlier, OK) root: the writer's FAILED sticks.
    const sticky = agentRun(rand, { extraRoot: 'error' });
    const late = sticky.find((s) => s.name === 'late root')!;
    await write(prepare([late]));
    await write(prepare(sticky.filter((s) => s !== late)));
    runs.push(sticky);
  });

  it('changes nothing on a ledger the gateway wrote', async () => {
    const before = await snapshot(db.pool);
    const r = await repair(db.pool, { batch: 5 });
    expect(r).toEqual({ scanned: runs.length, changed: 0, recreated: 0, nodesFixed: 0, treeFixed: 0, frontierFixed: 0, withoutSpans: 0, rollupDays: 0 });
    expect(await snapshot(db.pool)).toEqual(before);
    // the scenarios are all there
    const kinds = (await db.pool.query(`SELECT status, count(*)::int AS n FROM runledger.runs GROUP BY 1 ORDER BY 1`)).rows;
    expect(kinds.map((k) => k.status)).toEqual(['COMPLETED', 'FAILED', 'RUNNING']);
    const sticky = (await db.pool.query(`SELECT status, error_message, name FROM runledger.runs WHERE run_id = $1`, [runId(runs.at(-1)!)])).rows[0];
    expect(sticky).toEqual({ status: 'FAILED', error_message: 'late failure', name: 'invoke_agent planner' });
    expect(before.frontier.length).toBeGreaterThan(0);
    expect(before.nodes.filter((n) => n.n.usage_counted === false && n.n.input_tokens > 0).length).toBeGreaterThan(0);
  });

  it('agrees with the write path for any arrival order and batch split (20 seeds)', async () => {
    for (let seed = 100; seed < 120; seed++) {
      const rand = rng(seed);
      const some = Array.from({ length: 3 }, (_, i) => agentRun(rand, {
        root: rand() < 0.8, rootError: rand() < 0.3, dropHttp: rand() < 0.3, extraRoot: i === 0 ? (rand() < 0.5 ? 'error' : 'ok') : null,
      }));
      await ingest(some.flat(), seed);
      const r = await repair(db.pool, { runIds: some.map(runId), batch: 2 });
      expect(r, `seed ${seed}`).toMatchObject({ scanned: 3, changed: 0, treeFixed: 0 });
      await db.pool.query(`DELETE FROM runledger.runs WHERE run_id = ANY($1::uuid[])`, [some.map(runId)]);
      await db.pool.query(`DELETE FROM runledger.spans WHERE trace_id = ANY($1::uuid[])`, [some.map(runId)]);
      await db.pool.query(`DELETE FROM runledger.nodes WHERE run_id = ANY($1::uuid[])`, [some.map(runId)]);
      await db.pool.query(`DELETE FROM runledger.usage_frontier WHERE trace_id = ANY($1::uuid[])`, [some.map(runId)]);
    }
  });

  it('restores corrupted rollups, usage_counted, frontier rows and deleted runs rows exactly', async () => {
    const before = await snapshot(db.pool);
    const ids = runs.map(runId);
    const q = (sql: string, p: unknown[] = []) => db.pool.query(sql, p);
    await q(`UPDATE runledger.runs SET total_cost = 999, input_tokens = -5, output_tokens = 0, span_count = 0 WHERE run_id = $1`, [ids[0]]);
    await q(`UPDATE runledger.runs SET status = 'RUNNING', error_message = NULL WHERE run_id = $1`, [ids[1]]); // was FAILED
    await q(`UPDATE runledger.runs SET status = 'COMPLETED', error_message = NULL WHERE run_id = $1`, [ids.at(-1)]); // sticky FAILED
    await q(`UPDATE runledger.runs SET models = '{bogus}', name = 'x', root_span_id = NULL, root_start_time = NULL,
      start_time = now(), duration_ms = 1, llm_calls = 99, tool_calls = 0, total_nodes = 1, error_count = 7,
      last_start_time = NULL, failed_nodes = 5, agent_name = 'x', agent_node_id = NULL, input_node_id = 'y', output_end_time = NULL
      WHERE run_id = $1`, [ids[2]]);
    await q(`UPDATE runledger.runs SET status = 'COMPLETED', name = 'root', service_name = 'zzz' WHERE run_id = $1`, [ids[5]]); // RUNNING
    await q(`UPDATE runledger.nodes SET usage_counted = NOT usage_counted WHERE run_id = ANY($1::uuid[]) AND name LIKE 'ai.generateText%'`, [[ids[3], ids[4]]]);
    await q(`DELETE FROM runledger.runs WHERE run_id = ANY($1::uuid[])`, [[ids[6], ids[9]]]);
    const waiting = (await q(`DELETE FROM runledger.usage_frontier WHERE trace_id = $1`, [ids[11]])).rowCount!;
    expect(waiting).toBe(4); // its usage-carrying spans and its tool call wait for the missing root (usage and call marks)
    await q(`INSERT INTO runledger.usage_frontier (tenant_id, trace_id, span_id, parent_span_id, mask)
      SELECT tenant_id, run_id, 'deadbeefdeadbeef', 'feedfacefeedface', 1 FROM runledger.runs WHERE run_id = $1`, [ids[12]]);
    // the stored tree (sql/012) of run 7's nodes
    const trees = (await q(`UPDATE runledger.nodes SET parent_node_id = 'x', parent_missing = NOT parent_missing, depth = 99,
      step_order = step_order + 1, attempt = NULL, tree_path = '{7}' WHERE run_id = $1`, [ids[7]])).rowCount!;
    expect(trees).toBeGreaterThan(1);
    expect(await snapshot(db.pool)).not.toEqual(before);

    const r = await repair(db.pool, { batch: 4 });
    // 11 runs touched; 3 + 3 nodes flipped; run 11's 4 frontier rows back, the bogus one gone
    // and the daily usage rollup is rewritten over the days of the changed runs: it agrees with runs again
    const nodeDays = Number((await q(`SELECT count(DISTINCT (start_time AT TIME ZONE 'UTC')::date) AS n FROM runledger.nodes`)).rows[0].n);
    expect(r).toEqual({ scanned: runs.length, changed: 11, recreated: 2, nodesFixed: 6, treeFixed: trees, frontierFixed: waiting + 1, withoutSpans: 0, rollupDays: nodeDays });
    expect(await snapshot(db.pool)).toEqual(before);
    const totals = async (from: string) => (await q(`SELECT sum(total_tokens)::text AS t, sum(total_cost)::text AS c FROM runledger.${from}`)).rows[0];
    expect(await totals('daily_usage')).toEqual(await totals('runs'));
    expect((await repair(db.pool)).changed).toBe(0);
  });

  it('repairs only the runs asked for (--run) or recent ones (--since)', async () => {
    const ids = runs.map(runId);
    await db.pool.query(`UPDATE runledger.runs SET total_tokens = 0 WHERE run_id = ANY($1::uuid[])`, [[ids[0], ids[1]]]);
    expect(await repair(db.pool, { runIds: [ids[0]!, 'ffffffffffffffffffffffffffffffff'] })).toMatchObject({ scanned: 1, changed: 1 });
    expect(await repair(db.pool, { since: new Date(Date.now() + 86_400_000) })).toMatchObject({ scanned: 0, changed: 0 });
    expect(await repair(db.pool, { since: new Date(T0 / 1000 - 1000) })).toMatchObject({ scanned: runs.length, changed: 1 });
  });

  it('leaves a runs row without spans alone and counts it', async () => {
    const ghost = hex(16);
    await db.pool.query(`INSERT INTO runledger.runs (run_id, tenant_id, status, start_time, end_time, duration_ms, span_count,
      total_nodes, llm_calls, tool_calls, error_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
      reasoning_tokens, total_tokens, total_cost, models) VALUES ($1, 'x', 'RUNNING', now(), now(), 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}')`, [ghost]);
    expect(await repair(db.pool, { runIds: [ghost] })).toMatchObject({ scanned: 1, changed: 0, withoutSpans: 1 });
    await db.pool.query(`DELETE FROM runledger.runs WHERE run_id = $1`, [ghost]);
  });

  it('is safe while the gateway writes the same runs', async () => {
    const rand = rng(99);
    const fresh = Array.from({ length: 12 }, (_, i) => agentRun(rand, { root: i % 4 !== 0, rootError: i % 3 === 0 }));
    const batches = chunks(shuffle(prepare(fresh.flat()), rand), 5, rand);
    const ids = fresh.map(runId);
    let writing = true;
    const writer = (async () => { try { for (const b of batches) await write(b); } finally { writing = false; } })();
    let repairs = 0;
    while (writing) { await repair(db.pool, { runIds: ids, batch: 3 }); repairs++; }
    await writer;
    expect(repairs).toBeGreaterThan(0);
    const after = await snapshot(db.pool);
    expect(await repair(db.pool, { runIds: ids })).toMatchObject({ scanned: 12, changed: 0 });
    // and equal to the same spans written without any repair in between
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`DELETE FROM runledger.spans WHERE trace_id = ANY($1::uuid[])`, [ids]);
      await c.query(`DELETE FROM runledger.nodes WHERE run_id = ANY($1::uuid[])`, [ids]);
      await c.query(`DELETE FROM runledger.runs WHERE run_id = ANY($1::uuid[])`, [ids]);
      await c.query(`DELETE FROM runledger.usage_frontier WHERE trace_id = ANY($1::uuid[])`, [ids]);
      await c.query('COMMIT');
    } finally { c.release(); }
    for (const b of batches) await write(b);
    const clean = await snapshot(db.pool);
    const strip = (s: typeof after) => ({
      runs: s.runs.map((r) => { const { created_at: _c, ...rest } = r.r; return rest; }), nodes: s.nodes, frontier: s.frontier,
    });
    expect(strip(after)).toEqual(strip(clean));
  });
});
