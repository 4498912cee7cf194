/**
 * Migration 016 (storage): lz4 on the compressible columns of spans, nodes and logs and a TOAST tuple target on every
 * partition of spans where the server has lz4, on the partitions that existed before it and those
 * ensure_day_partitions creates after; the migration taking a server without lz4 (the embedded PostgreSQL 18 has
 * pglz only; run with DATABASE_URL on Debian's PostgreSQL 15 for the lz4 side).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, node, span, writeAll } from './helpers/spans.js';
import { migrate } from '../src/db/migrate.js';
import { writeBatch } from '../src/sink/writer.js';
import { DayPartitions, dayOf, dayString } from '../src/sink/partitions.js';

let db: TestDb;
let lz4: boolean;
const DAY = 86_400_000_000;
const NOW = Date.now() * 1000;
const day = (us: number) => dayString(dayOf(us));
const part = (t: string, us: number) => `runledger.${t}_${day(us).replaceAll('-', '')}`;

beforeAll(async () => {
  // everything before 016 (whichever of 014, 015 the branch has), then a day partition made the old way
  db = await createTestDb('m016', '015_content');
  await db.pool.query('SELECT runledger.ensure_day_partitions($1::date[])', [[day(NOW - 3 * DAY)]]);
  await migrate(db.url);
  lz4 = (await db.pool.query("SELECT 'lz4' = ANY(enumvals) AS v FROM pg_settings WHERE name = 'default_toast_compression'")).rows[0].v;
});
afterAll(async () => { await db?.drop(); });

/** Leaf partitions of spans, nodes and logs with their reloptions. */
async function leaves(): Promise<{ rel: string; options: string[] | null }[]> {
  const r = await db.pool.query(`
    SELECT t.relid::regclass::text AS rel, c.reloptions AS options
    FROM unnest(ARRAY['runledger.spans', 'runledger.nodes', 'runledger.logs']::regclass[]) p(parent)
    CROSS JOIN LATERAL pg_partition_tree(p.parent) t JOIN pg_class c ON c.oid = t.relid
    WHERE t.isleaf ORDER BY 1`);
  return r.rows;
}

/** attcompression of a table's column: 'l' lz4, 'p' pglz, '' the server's default. */
async function compression(rel: string, column: string): Promise<string> {
  const r = await db.pool.query('SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2', [rel, column]);
  return r.rows[0].c;
}

describe('migration 016: storage settings', () => {
  it('sets the TOAST tuple target on the spans partitions that existed before it, and on those created after (lz4 servers)', async () => {
    await db.pool.query('SELECT runledger.ensure_day_partitions($1::date[])', [[day(NOW + DAY)]]);
    const all = await leaves();
    for (const t of ['spans', 'nodes', 'logs']) {
      expect(all.map((x) => x.rel)).toEqual(expect.arrayContaining([`runledger.${t}_default`, part(t, NOW - 3 * DAY), part(t, NOW + DAY)]));
    }
    // spans only, and only with lz4: nodes, and spans with pglz, measured better with the default (sql/016)
    for (const x of all) {
      if (lz4 && x.rel.startsWith('runledger.spans_')) expect(x.options, x.rel).toContain('toast_tuple_target=512');
      else expect(x.options ?? [], x.rel).not.toContainEqual(expect.stringContaining('toast_tuple_target'));
    }
  });

  it('gives a new day the storage parameters of its table\'s default partition', async () => {
    await db.pool.query('ALTER TABLE runledger.nodes_default SET (toast_tuple_target = 1024, fillfactor = 90)');
    await db.pool.query('SELECT runledger.ensure_day_partitions($1::date[])', [[day(NOW + 4 * DAY)]]);
    const r = await db.pool.query('SELECT reloptions AS o FROM pg_class WHERE oid = $1::regclass', [part('nodes', NOW + 4 * DAY)]);
    expect(r.rows[0].o).toEqual(['toast_tuple_target=1024', 'fillfactor=90']);
  });

  it('compresses content columns with lz4 where the server has it, and migrates where it has not', async () => {
    await db.pool.query('SELECT runledger.ensure_day_partitions($1::date[])', [[day(NOW + 2 * DAY)]]);
    const want = lz4 ? 'l' : '';
    for (const rel of ['runledger.spans', part('spans', NOW - 3 * DAY), part('spans', NOW + 2 * DAY), 'runledger.spans_default']) {
      expect(await compression(rel, 'attributes'), rel).toBe(want);
    }
    for (const rel of ['runledger.nodes', part('nodes', NOW + 2 * DAY)]) expect(await compression(rel, 'input'), rel).toBe(want);
    for (const rel of ['runledger.logs', part('logs', NOW + 2 * DAY)]) expect(await compression(rel, 'body'), rel).toBe(want);

    // a span written through the gateway's path into a day created after 016: its large attributes compressed so
    const traceId = hex(16);
    const spanId = hex(8);
    const AT = dayOf(NOW + 2 * DAY) * DAY + 3_600_000_000;
    const text = Array.from({ length: 400 }, (_, i) => `step ${i} of the plan reads a source and cites it`).join('. ');
    const c = await db.pool.connect();
    try {
      await writeAll((x) => writeBatch(c, x, new DayPartitions()), [mapped(
        span({ traceId, spanId, name: 'chat', startUs: AT, endUs: AT + 1_000_000, attributes: { 'gen_ai.prompt.0.content': text } }),
        node({ nodeType: 'LLM' }))]);
    } finally { c.release(); }
    const r = await db.pool.query(
      'SELECT tableoid::regclass::text AS rel, pg_column_compression(attributes) AS method FROM runledger.spans WHERE trace_id = $1', [traceId]);
    expect(r.rows).toEqual([{ rel: part('spans', NOW + 2 * DAY), method: lz4 ? 'lz4' : 'pglz' }]);
  });
});
