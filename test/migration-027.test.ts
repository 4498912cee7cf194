/**
 * Migration 027: seed 002's children by uuid indexed. On a ledger whose spans partitions were indexed beforehand as
 * README "Upgrading" says (the function, then CREATE INDEX CONCURRENTLY per partition), the migration keeps that
 * function and attaches those indexes instead of building its own; the lookup then finds the children.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, span } from './helpers/spans.js';
import { migrate } from '../src/db/migrate.js';
import { writeBatch } from '../src/sink/writer.js';
import { writeBefore029 } from './helpers/run-input.js';

let db: TestDb;
const NOW = Date.now() * 1000;
const traceId = hex(16);
const root = hex(8);

/** The partitions of runledger.spans with their index on the expression (oid), if any. */
async function partitionIndexes(): Promise<Map<string, number | null>> {
  const r = await db.pool.query(`
    SELECT p.inhrelid::regclass::text AS part, (SELECT i.indexrelid::int FROM pg_index i
      WHERE i.indrelid = p.inhrelid AND pg_get_indexdef(i.indexrelid) LIKE '%parent_span_uuid(trace_id, parent_span_id)%') AS idx
    FROM pg_inherits p WHERE p.inhparent = 'runledger.spans'::regclass ORDER BY 1`);
  return new Map(r.rows.map((x) => [x.part, x.idx]));
}

beforeAll(async () => {
  db = await createTestDb('m027', '025_modality_tokens');
  const c = await db.pool.connect();
  try {
    await writeBefore029(db.pool, () => writeBatch(c, [
      mapped(span({ traceId, spanId: root, name: 'root', startUs: NOW - 5e6, endUs: NOW })),
      mapped(span({ traceId, spanId: hex(8), parentSpanId: root, name: 'child a', startUs: NOW - 4e6, endUs: NOW - 3e6 })),
      mapped(span({ traceId, spanId: hex(8), parentSpanId: root, name: 'child b', startUs: NOW - 2e6, endUs: NOW - 1e6 })),
    ]));
  } finally {
    c.release();
  }
  // README "Upgrading", the index built beforehand: the function as sql/027 creates it, then each partition
  await db.pool.query(`CREATE FUNCTION compat.parent_span_uuid(trace_id uuid, parent_span_id text) RETURNS uuid
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS $f$ BEGIN RETURN md5(replace(trace_id::text, '-', '') || parent_span_id)::uuid; END $f$`);
  for (const part of (await partitionIndexes()).keys()) {
    await db.pool.query(`CREATE INDEX CONCURRENTLY ON ${part} (compat.parent_span_uuid(trace_id, parent_span_id))`);
  }
});
afterAll(async () => { await db?.drop(); });

describe('migration 027: the index of spans by their parent\'s seed-002 uuid', () => {
  it('attaches the indexes built beforehand, builds none of its own, and serves the lookup', async () => {
    const before = await partitionIndexes();
    expect([...before.values()].every((v) => v !== null)).toBe(true);
    await migrate(db.url);
    expect(await partitionIndexes()).toEqual(before);
    const valid = await db.pool.query(`SELECT i.indisvalid, (SELECT count(*)::int FROM pg_inherits h WHERE h.inhparent = i.indexrelid) AS parts
      FROM pg_index i WHERE i.indexrelid = 'runledger.spans_parent_uuid'::regclass`);
    expect(valid.rows[0]).toEqual({ indisvalid: true, parts: before.size });
    const parent = (await db.pool.query('SELECT compat.span_uuid($1::uuid, $2) AS u', [traceId, root])).rows[0].u;
    const children = await db.pool.query('SELECT name FROM compat.spans WHERE parent_span_id = $1 ORDER BY started_at', [parent]);
    expect(children.rows.map((r) => r.name)).toEqual(['child a', 'child b']);
    const leak = await db.pool.query("SELECT proleakproof FROM pg_proc WHERE oid = 'compat.parent_span_uuid(uuid, text)'::regprocedure");
    expect(leak.rows[0].proleakproof).toBe(true);
  });

  it('refuses a compat.parent_span_uuid created beforehand with another body (the view and the index would follow it)', async () => {
    const other = await createTestDb('m027b', '025_modality_tokens');
    try {
      await other.pool.query(`CREATE FUNCTION compat.parent_span_uuid(trace_id uuid, parent_span_id text) RETURNS uuid
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
        AS $f$ BEGIN RETURN md5(trace_id::text || parent_span_id)::uuid; END $f$`);
      await expect(migrate(other.url)).rejects.toThrow(/not the function of README "Upgrading"/);
    } finally {
      await other.drop();
    }
  });
});
