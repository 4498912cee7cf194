/** Binary COPY rows round-trip through real PostgreSQL with their exact values. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { RowWriter } from './binary.js';
import { copyRows } from './copy.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('binary'); });
afterAll(async () => { await db?.drop(); });

interface Row {
  t: string | null; j: string | null; u: string; ts: number; i: number | null; f: number | null; b: boolean;
  n: number | null; arr: string[] | null;
}

const rows: Row[] = [
  { t: 'héllo ✓ 😀 tab\there\nnew\\line', j: '{"a":[1,2.5,"x\\"y"],"b":{"c":null}}', u: '0123456789abcdef0123456789abcdef',
    ts: 1_700_000_000_123_456, i: 9_007_199_254_740_991, f: 0.1, b: true, n: 0, arr: ['stop', 'a"b', 'c\\d', ''] },
  { t: '', j: '"just a string"', u: 'ffffffffffffffffffffffffffffffff', ts: 946_684_800_000_000, i: -42, f: -1.5e300, b: false,
    n: 1, arr: null },
  { t: null, j: null, u: '00000000000000000000000000000001', ts: 946_684_799_999_999, i: null, f: null, b: true,
    n: 12_345_678_901_234, arr: ['one'] },
  { t: 'x', j: '[]', u: '5b8efff798038103d269b633813fc60c', ts: 0, i: 0, f: 3, b: false, n: -15_000_000_000, arr: [] },
  { t: 'y', j: '{}', u: '5b8efff798038103d269b633813fc60d', ts: 253_402_300_799_999_999, i: 1, f: 1e-9, b: true,
    n: 100_000_000_000_000, arr: null },
  { t: 'z', j: '1', u: '5b8efff798038103d269b633813fc60e', ts: -1, i: 2 ** 40, f: 0, b: true, n: 10_000_000_001, arr: null },
  { t: 'w', j: 'true', u: '5b8efff798038103d269b633813fc60f', ts: 1, i: -(2 ** 40), f: 2, b: false, n: 99_999_999_999, arr: null },
  // text around the short-ASCII fast path (64 characters) and uppercase hex ids
  { t: 'a'.repeat(64), j: null, u: 'ABCDEF0123456789ABCDEF0123456789', ts: 2, i: 3, f: 4, b: true, n: null, arr: null },
  { t: 'b'.repeat(65), j: null, u: 'abcdef0123456789abcdef012345678a', ts: 3, i: 4, f: 5, b: true, n: null, arr: null },
  { t: 'c'.repeat(63) + 'é', j: null, u: 'abcdef0123456789abcdef012345678b', ts: 4, i: 5, f: 6, b: true, n: null, arr: null },
  { t: 'é' + 'd'.repeat(10), j: null, u: 'abcdef0123456789abcdef012345678c', ts: 5, i: 6, f: 7, b: true, n: null, arr: null },
];

const expectedNumeric = (units: number | null) => {
  if (units === null) return null;
  const s = String(Math.abs(units)).padStart(11, '0');
  return (units < 0 ? '-' : '') + s.slice(0, -10) + '.' + s.slice(-10);
};

describe('RowWriter (binary COPY)', () => {
  it('round-trips text, jsonb, uuid, timestamptz, bigint, float8, bool, numeric and text[]', async () => {
    const client = await db.pool.connect();
    try {
      await client.query(`CREATE TABLE bin (t text, j jsonb, u uuid, ts timestamptz, i bigint, f float8, b bool,
        n numeric(20,10), arr text[])`);
      const w = new RowWriter(16); // tiny start: exercises growth
      for (const r of rows) {
        w.beginRow(9);
        w.text(r.t); w.jsonb(r.j); w.uuidHex(r.u); w.timestamptz(r.ts); w.int8(r.i); w.float8(r.f); w.bool(r.b);
        w.numericUnits(r.n); w.textArray(r.arr);
        w.endRow();
      }
      await copyRows(client, 'bin', ['t', 'j', 'u', 'ts', 'i', 'f', 'b', 'n', 'arr'], w.rows(), (x) => x);
      const out = await client.query(`SELECT t, j::text AS j, replace(u::text, '-', '') AS u,
        (extract(epoch FROM ts) * 1000000)::bigint::text AS ts, i::text AS i, f, b, n::text AS n, arr FROM bin`);
      expect(out.rows).toEqual(rows.map((r) => ({
        t: r.t, j: r.j === null ? null : JSON.stringify(JSON.parse(r.j)).replace(/,/g, ', ').replace(/:/g, ': '),
        u: r.u.toLowerCase(), ts: String(r.ts), i: r.i === null ? null : String(r.i), f: r.f, b: r.b, n: expectedNumeric(r.n),
        arr: r.arr === null || r.arr.length === 0 ? null : r.arr,
      })));
    } finally {
      client.release();
    }
  });
});
