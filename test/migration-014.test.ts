/**
 * Migration 014 on a ledger written before it: no span row is rewritten (the partitions keep their files),
 * the rows keep their resource inline and runledger.raw_spans returns it; spans written after it reference
 * runledger.resources, and both kinds read the same through raw_spans and compat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, node, span, writeAll } from './helpers/spans.js';
import { migrate } from '../src/db/migrate.js';
import { writeBatch } from '../src/sink/writer.js';
import { ResourceCache } from '../src/sink/resources.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('m014', '013_views'); });
afterAll(async () => { await db?.drop(); });

const ROWS = 50_000;
const T0 = (Date.now() - 3_600_000) * 1000;
const resource = { 'service.name': 'svc', 'service.version': '1.2.3', 'host.name': 'h'.repeat(400) };

describe('migration 014', () => {
  it('adds the resource key without rewriting spans; old rows read as before through raw_spans', async () => {
    const traceId = hex(16);
    const root = hex(8);
    await db.pool.query(`SELECT runledger.ensure_day_partitions(ARRAY[($1::timestamptz AT TIME ZONE 'UTC')::date])`, [new Date(T0 / 1000)]);
    // the bulk of an existing ledger: ROWS spans of one day with their resource inline
    await db.pool.query(`INSERT INTO runledger.spans (trace_id, span_id, tenant_id, name, kind, start_time, end_time, status_code, attributes, resource)
      SELECT md5(i::text)::uuid, lpad(to_hex(i), 16, '0'), 'default', 'span', 'INTERNAL', $1::timestamptz, $1::timestamptz, 'UNSET', '{}', $2::jsonb
      FROM generate_series(1, ${ROWS}) i`, [new Date(T0 / 1000), JSON.stringify(resource)]);
    await db.pool.query(`INSERT INTO runledger.spans (trace_id, span_id, tenant_id, name, kind, start_time, end_time, status_code, attributes, resource)
      VALUES ($1, $2, 'default', 'agent', 'INTERNAL', $3, $3, 'UNSET', '{}', $4::jsonb)`,
    [traceId, root, new Date(T0 / 1000), JSON.stringify(resource)]);
    const files = async () => (await db.pool.query(`SELECT relid::text AS rel, pg_relation_filenode(relid)::text AS node
      FROM pg_partition_tree('runledger.spans') WHERE isleaf ORDER BY 1`)).rows;
    const before = await files();
    const t = performance.now();
    await migrate(db.url);
    const ms = performance.now() - t;
    expect(await files()).toEqual(before); // no partition rewritten
    // catalog changes only: well under what rewriting 50k rows of ~500 B would take (measured: ~0.1 s for all of 014)
    console.log(`migration 014 over ${ROWS} spans: ${ms.toFixed(0)} ms`);
    const raw = await db.pool.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE resource = $1::jsonb)::int AS same FROM runledger.raw_spans`,
      [JSON.stringify(resource)]);
    expect(raw.rows[0]).toEqual({ n: ROWS + 1, same: ROWS + 1 });
    // spans written now (one under an old root): by key
    const fresh = hex(16);
    const c = await db.pool.connect();
    try {
      await writeAll((x) => writeBatch(c, x, undefined, { logContentChars: null, resources: new ResourceCache() }), [
        mapped(span({ traceId: fresh, spanId: hex(8), name: 'agent', startUs: T0, endUs: T0 + 1000, resource }), node({ nodeType: 'AGENT' })),
        mapped(span({ traceId, spanId: hex(8), parentSpanId: root, name: 'llm', startUs: T0 + 10, endUs: T0 + 20, resource }), node({ nodeType: 'LLM' })),
      ]);
    } finally { c.release(); }
    const rows = await db.pool.query(`SELECT s.resource IS NULL AS inline_null, s.resource_hash IS NULL AS key_null, r.resource
      FROM runledger.spans s JOIN runledger.raw_spans r USING (tenant_id, trace_id, span_id, start_time)
      WHERE s.trace_id IN ($1, $2) ORDER BY s.resource_hash IS NOT NULL, s.name`, [traceId, fresh]);
    expect(rows.rows).toEqual([
      { inline_null: false, key_null: true, resource },
      { inline_null: true, key_null: false, resource },
      { inline_null: true, key_null: false, resource },
    ]);
    expect(rows.rows.map((x) => x.resource)).toEqual([resource, resource, resource]);
  });
});
