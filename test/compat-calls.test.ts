/**
 * compat.olo_run_node and run_summary count a call instrumented twice once (sql/023): compat.md tells seed-000
 * analysts that only MODEL nodes are model calls, so the outer LLM node of such a call is a SEQUENCE; and
 * error_details is set for failed nodes only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { B1, trace, writeTraces } from './helpers/analyst-ledger.js';

let db: TestDb;
// a call that completed although its span carries an error type (a retried timeout, say)
const C1 = trace('globex', Date.parse('2026-11-03T10:00:00Z') * 1000, [
  { key: 'ag', name: 'invoke_agent helper', at: 0, to: 5, node: { nodeType: 'AGENT' } },
  { key: 'c', parent: 'ag', name: 'chat gpt-4o-mini', at: 1, to: 2, node: { nodeType: 'LLM', provider: 'openai', modelName: 'gpt-4o-mini', inputTokens: 3, outputTokens: 4, totalTokens: 7, errorType: 'timeout' } },
]);
beforeAll(async () => {
  db = await createTestDb('compatcalls');
  await writeTraces(db, [B1, C1]);
});
afterAll(async () => { await db?.drop(); });

describe('compat.olo_run_node', () => {
  it('types the outer node of a call instrumented twice SEQUENCE: MODEL nodes add up to the run', async () => {
    const nodes = (await db.pool.query(`SELECT node_id, node_type, token_input_count, token_output_count FROM compat.olo_run_node
      WHERE run_id = $1 ORDER BY execution_order`, [B1.runId])).rows;
    expect(nodes.map((n) => [n.node_id, n.node_type])).toEqual([
      [B1.id('ag'), 'PLANNER'], [B1.id('c'), 'SEQUENCE'], [B1.id('ci'), 'MODEL'], [B1.id('tl'), 'TOOL'],
    ]);
    const sums = (await db.pool.query(`SELECT sum(n.token_input_count + n.token_output_count)::int AS tokens, count(*)::int AS calls,
        (SELECT total_tokens::int FROM runledger.runs WHERE run_id = $1) AS run_tokens, (SELECT llm_calls::int FROM runledger.runs WHERE run_id = $1) AS run_calls
      FROM compat.olo_run_node n WHERE n.run_id = $1 AND n.node_type = 'MODEL'`, [B1.runId])).rows[0];
    expect(sums).toEqual({ tokens: 10, calls: 1, run_tokens: 10, run_calls: 1 }); // were 20 tokens and 2 calls
  });

  it('sets error_details for failed nodes only', async () => {
    const rows = (await db.pool.query(`SELECT node_id, status, failure_type, error_details FROM compat.olo_run_node WHERE run_id = $1 ORDER BY execution_order`,
      [C1.runId])).rows;
    expect(rows.find((r) => r.node_id === C1.id('c'))).toEqual({ node_id: C1.id('c'), status: 'COMPLETED', failure_type: 'timeout', error_details: null });
    const failed = (await db.pool.query(`SELECT error_details FROM compat.olo_run_node WHERE run_id = $1 AND node_id = $2`, [B1.runId, B1.id('tl')])).rows;
    expect(failed).toEqual([{ error_details: { type: 'KeyError', message: 'no such customer' } }]);
  });
});
