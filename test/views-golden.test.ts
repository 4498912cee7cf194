/**
 * Every view of the runledger and compat schemas, and node_tree() of every run, on a fixed dataset, against
 * goldens in testdata/views/ (UPDATE_GOLDEN=1 rewrites them): a rewrite of the views (sql/012 reads the stored
 * tree instead of walking spans) must return the same rows. Ingest-time columns are left out.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { rng, writeAll } from './helpers/spans.js';
import { goldenLedger } from './helpers/golden-ledger.js';
import { writeBatch } from '../src/sink/writer.js';
import { writeLogs } from '../src/sink/logs-writer.js';
import { DayPartitions } from '../src/sink/partitions.js';
import { prepareLogsBody } from '../src/worker/prepare-logs.js';
import { logsJson } from './helpers/logs.js';

const DIR = new URL('../testdata/views/', import.meta.url);
/** when the rows were written, not what they say */
const VOLATILE = ['created_at', 'updated_at', 'ingested_at', 'queued_at'];

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb('views_golden');
  const c = await db.pool.connect();
  try {
    for (const request of goldenLedger(rng(2026))) await writeAll((x) => writeBatch(c, x), request);
    // two plain log records (not GenAI events: no node content changes) for runledger.raw_logs
    const t = BigInt(Date.parse('2026-11-03T10:00:00Z')) * 1_000_000n;
    const logs = prepareLogsBody(Buffer.from(JSON.stringify(logsJson([
      { traceId: 'a1'.repeat(16), spanId: 'b2'.repeat(8), timeNs: t, body: { message: 'retrieval finished' }, attributes: { 'doc.count': 3 } },
      { traceId: 'a1'.repeat(16), timeNs: t + 5_000_000n, body: { message: 'run done' } },
    ]))), 'json', 'acme');
    await writeLogs(c, logs.items, logs.rows, new DayPartitions(),
      { captureContent: true, maxContentChars: 16_384, retryAfterSeconds: 1 }, logs.resources);
  } finally { c.release(); }
  await db.pool.query(`SELECT runledger.refresh_daily_usage('2026-11-01', '2026-11-10')`);
}, 120_000);
afterAll(async () => { await db?.drop(); });

async function viewNames(): Promise<string[]> {
  const { rows } = await db.pool.query(`SELECT table_schema || '.' || table_name AS v FROM information_schema.views
    WHERE table_schema IN ('runledger', 'compat') ORDER BY 1`);
  return rows.map((r) => r.v);
}

async function rowsOf(sql: string): Promise<string[]> {
  const strip = VOLATILE.map((k) => ` - '${k}'`).join('');
  const { rows } = await db.pool.query(`SELECT (to_jsonb(v)${strip})::text AS j FROM (${sql}) v`);
  return rows.map((r) => r.j).sort();
}

function golden(name: string, rows: string[]): void {
  const file = new URL(`${name}.json`, DIR);
  const text = `[\n${rows.join(',\n')}\n]\n`;
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(file, text);
  }
  expect(text, name).toBe(readFileSync(file, 'utf8'));
}

describe('views on a fixed dataset', () => {
  it('every view returns its golden rows', async () => {
    const views = await viewNames();
    expect(views.length).toBeGreaterThan(14);
    for (const v of views) {
      const rows = await rowsOf(`SELECT * FROM ${v}`);
      expect(rows.length, v).toBeGreaterThan(0);
      golden(v, rows);
    }
  });

  it('node_tree() of every run returns its golden rows', async () => {
    golden('runledger.node_tree', await rowsOf(`SELECT r.tenant_id AS run_tenant, r.run_id AS run, t.*
      FROM runledger.runs r CROSS JOIN LATERAL runledger.node_tree(r.run_id, r.tenant_id) t`));
  });
});
