/**
 * Migration 032: runs' primary key ordered (run_id, tenant_id), runs_run_id dropped. Runs written before it stay
 * as they were, re-sends of them are still duplicates (ON CONFLICT on the reordered key), two tenants' runs of
 * one trace id stay apart, and a run looked up by its trace id alone is still an index lookup (the key's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, node, span, writeOnPool } from './helpers/spans.js';
import { migrate } from '../src/db/migrate.js';
import { prepareSpans } from '../src/sink/prepare.js';
import type { MappedSpan } from '../src/mapping/types.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('m032', '031_trace_metadata'); });
afterAll(async () => { await db?.drop(); });

const T0 = 1_765_000_000_000_000;
function run(traceId: string, tenantId: string): MappedSpan[] {
  const root = hex(8);
  return [
    { span: span({ traceId, spanId: root, tenantId, name: 'agent', startUs: T0, endUs: T0 + 9000 }), node: node({ nodeType: 'AGENT', name: 'agent' }) },
    { span: span({ traceId, spanId: hex(8), parentSpanId: root, tenantId, name: 'chat', startUs: T0 + 1000, endUs: T0 + 5000 }),
      node: node({ nodeType: 'LLM', name: 'chat', inputTokens: 7, outputTokens: 3, totalTokens: 10 }) },
  ].map((m) => ({ ...m, hints: { pipeline: null, environment: null, sessionId: null, userId: null } }));
}
const write = (spans: MappedSpan[]) => writeOnPool(db.pool, prepareSpans(spans).items);
const runsOf = async () => (await db.pool.query(`SELECT * FROM runledger.runs ORDER BY tenant_id, run_id`)).rows
  .map(({ updated_at: _u, ...r }) => r);

describe('migration 032: runs keyed (run_id, tenant_id)', () => {
  const shared = hex(16);
  const before = [run(shared, 'acme'), run(shared, 'globex'), run(hex(16), 'acme')];

  it('keeps the runs written before it, and a re-send of them changes nothing', async () => {
    for (const r of before) expect(await write(r)).toEqual({ inserted: 2, duplicates: 0 });
    const stored = await runsOf();
    await migrate(db.url);
    expect(await runsOf()).toEqual(stored);
    for (const r of before) expect(await write(r)).toEqual({ inserted: 0, duplicates: 2 });
    expect(await runsOf()).toEqual(stored);
    expect(stored.filter((r) => r.run_id.replace(/-/g, '') === shared).map((r) => [r.tenant_id, r.total_tokens]))
      .toEqual([['acme', '10'], ['globex', '10']]);
  });

  it('looks a run up by its trace id alone through the primary key, and has no other index on run_id', async () => {
    const idx = (await db.pool.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'runledger' AND tablename = 'runs'
      AND indexdef ~ 'btree \\(run_id'`)).rows;
    expect(idx).toEqual([{ indexname: 'runs_pkey', indexdef: expect.stringMatching(/UNIQUE INDEX runs_pkey .*\(run_id, tenant_id\)$/) }]);
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL enable_seqscan = off'); // three rows: a scan is what PostgreSQL would pick otherwise
      const plan = (await c.query(`EXPLAIN (COSTS OFF) SELECT * FROM runledger.runs WHERE run_id = $1`, [shared])).rows
        .map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan using runs_pkey on runs\s+Index Cond: \(run_id = /);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });
});
