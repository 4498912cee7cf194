/** copyRows against real PostgreSQL: rows from several buffers, in and out of order, over many chunks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows } from './copy.js';
import { RowWriter } from './binary.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('copy'); });
afterAll(async () => { await db?.drop(); });

/** n rows (id, text of `width` chars) in one buffer, as its writer lays them out */
function rows(from: number, n: number, width: number): Uint8Array[] {
  const w = new RowWriter();
  for (let i = from; i < from + n; i++) {
    w.beginRow(2);
    w.int8(i);
    w.text(String(i % 10).repeat(width));
    w.endRow();
  }
  return w.rows();
}

describe('copyRows', () => {
  it('sends every row once, whether rows are contiguous in one buffer, split across buffers, or out of order', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('CREATE TABLE c (id bigint PRIMARY KEY, t text NOT NULL)');
      const a = rows(0, 900, 700); // ~640 KB: several 256 KB chunks out of one buffer
      const b = rows(900, 300, 50);
      const c = rows(1200, 5, 3000);
      // a's rows in order, interleaved with b's; a gap (a row skipped, sent later); c reversed
      const order = [...a.slice(0, 400), ...b.slice(0, 150), ...a.slice(401), a[400]!, ...b.slice(150), ...c.reverse()];
      await copyRows(client, 'c', ['id', 't'], order, (r) => r);
      const out = await client.query('SELECT count(*)::int AS n, sum(id)::bigint::text AS s, sum(length(t))::int AS len FROM c');
      const n = 1205;
      expect(out.rows[0]).toEqual({ n, s: String((n * (n - 1)) / 2), len: 900 * 700 + 300 * 50 + 5 * 3000 });
      const sample = await client.query('SELECT id, t FROM c WHERE id IN (400, 899, 1204) ORDER BY id');
      expect(sample.rows).toEqual([
        { id: '400', t: '0'.repeat(700) }, { id: '899', t: '9'.repeat(700) }, { id: '1204', t: '4'.repeat(3000) },
      ]);
    } finally {
      client.release();
    }
  });
});
