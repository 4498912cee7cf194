/**
 * PostgreSQL binary COPY rows (https://www.postgresql.org/docs/current/sql-copy.html, binary format),
 * written into one growable buffer per request. Binary rows spare PostgreSQL the text parsing of
 * timestamps, uuids, numbers and escapes, and spare JS the escaping; the buffer transfers between
 * threads without copying.
 */
import { DataError } from '../errors.js';

/** Binary COPY stream header (signature, flags, header extension length) and trailer. */
export const COPY_BINARY_HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

const PG_EPOCH_US = 946_684_800_000_000; // 2000-01-01T00:00:00Z in Unix microseconds
const TWO_32 = 4_294_967_296;
const TEXT_OID = 25;
/** numericUnits' base-10000 digits (a safe integer of 1e-10 units has at most 2 integer and 3 fraction digits) */
const NUMERIC_DIGITS: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
const INT4_OID = 23;

/** Value of a lowercase or uppercase hex digit (ids are validated as hex before they get here). */
function nibble(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

export class RowWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly ends: number[] = [];

  constructor(initialBytes = 64 * 1024) {
    // Its own ArrayBuffer (never the shared allocation pool), so it can be transferred.
    this.buf = Buffer.from(new ArrayBuffer(initialBytes));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.from(new ArrayBuffer(size));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * A big-endian 32-bit integer (int32 or uint32) at `at`, space ensured: four byte stores (a Uint8Array store
   * keeps the low 8 bits) cost less than Buffer.writeInt32BE's range checks and call, ~50 times per span.
   */
  private i32(v: number, at: number): void {
    const buf = this.buf;
    buf[at] = v >>> 24;
    buf[at + 1] = v >>> 16;
    buf[at + 2] = v >>> 8;
    buf[at + 3] = v;
  }

  /** A big-endian 16-bit integer at `at`, space ensured. */
  private i16(v: number, at: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  beginRow(fields: number): void {
    this.ensure(2);
    this.i16(fields, this.pos);
    this.pos += 2;
  }

  endRow(): void {
    this.ends.push(this.pos);
  }

  null(): void {
    this.ensure(4);
    this.i32(-1, this.pos);
    this.pos += 4;
  }

  /** text / varchar (NULL for null or undefined) */
  text(s: string | null | undefined): void {
    if (s === null || s === undefined) return this.null();
    const len = s.length;
    this.ensure(4 + len * 3);
    const buf = this.buf;
    const start = this.pos + 4;
    // Short ASCII strings (ids, names, enums) are copied here: cheaper than a call into Buffer.write.
    if (len <= 64) {
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === len) {
        this.i32(len, this.pos);
        this.pos = start + len;
        return;
      }
    }
    const n = buf.write(s, start, 'utf8');
    this.i32(n, this.pos);
    this.pos = start + n;
  }

  /** text, with the empty string stored as NULL */
  optText(s: string | null | undefined): void {
    this.text(s === '' ? null : s);
  }

  /** jsonb from JSON text: version byte 1, then the text */
  jsonb(json: string | null): void {
    if (json === null) return this.null();
    this.ensure(5 + json.length * 3);
    this.buf[this.pos + 4] = 1;
    const n = this.buf.write(json, this.pos + 5, 'utf8');
    this.i32(n + 1, this.pos);
    this.pos += 5 + n;
  }

  /** uuid from 32 hex characters */
  uuidHex(hex: string): void {
    this.ensure(20);
    const buf = this.buf;
    this.i32(16, this.pos);
    const start = this.pos + 4;
    for (let i = 0; i < 16; i++) buf[start + i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
    this.pos += 20;
  }

  private int64Raw(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.i32(hi, this.pos);
    this.i32(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
  }

  /** timestamptz from Unix microseconds */
  timestamptz(us: number): void {
    this.ensure(12);
    this.i32(8, this.pos);
    this.pos += 4;
    this.int64Raw(us - PG_EPOCH_US);
  }

  /** smallint */
  int2(n: number | null): void {
    if (n === null || !Number.isInteger(n) || n < -32768 || n > 32767) return this.null();
    this.ensure(6);
    this.i32(2, this.pos);
    this.i16(n, this.pos + 4);
    this.pos += 6;
  }

  /** integer (int4) */
  int4(n: number | null): void {
    if (n === null || !Number.isInteger(n) || n < -2147483648 || n > 2147483647) return this.null();
    this.ensure(8);
    this.i32(4, this.pos);
    this.i32(n, this.pos + 4);
    this.pos += 8;
  }

  /** bigint (safe integers) */
  int8(n: number | null): void {
    if (n === null || !Number.isSafeInteger(n)) return this.null();
    this.ensure(12);
    this.i32(8, this.pos);
    this.pos += 4;
    this.int64Raw(n);
  }

  /**
   * bigint from an exact sum (a safe integer, or a BigInt once a sum left that range); a value beyond the
   * bigint range fails as PostgreSQL would (a data error).
   */
  int8Exact(n: number | bigint): void {
    if (typeof n === 'number') {
      if (!Number.isSafeInteger(n)) throw new DataError(`not an exact integer: ${n}`, '22003');
      return this.int8(n);
    }
    if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new DataError(`bigint out of range: ${n}`, '22003');
    this.ensure(12);
    this.i32(8, this.pos);
    this.buf.writeBigInt64BE(n, this.pos + 4);
    this.pos += 12;
  }

  /** double precision */
  float8(n: number | null): void {
    if (n === null || !Number.isFinite(n)) return this.null();
    this.ensure(12);
    this.i32(8, this.pos);
    this.buf.writeDoubleBE(n, this.pos + 4);
    this.pos += 12;
  }

  bool(b: boolean): void {
    this.ensure(5);
    this.i32(1, this.pos);
    this.buf[this.pos + 4] = b ? 1 : 0;
    this.pos += 5;
  }

  /**
   * numeric with display scale 10 from integer units of 1e-10 (exact): base-10000 digits,
   * weight of the first digit, sign, dscale.
   */
  numericUnits(units: number | null): void {
    if (units === null || !Number.isSafeInteger(units)) return this.null();
    const neg = units < 0;
    const u = Math.abs(units);
    // units = int * 1e10 + frac; frac (10 decimal digits) as 3 base-10000 digits of the fraction (× 100).
    // The digits go into one reused array (three costs per node row: no arrays built and spread per value).
    const frac = (u % 1e10) * 100;
    let int = Math.floor(u / 1e10);
    const dg = NUMERIC_DIGITS;
    let intLen = 0;
    for (let t = int; t > 0; t = Math.floor(t / 10000)) intLen++;
    for (let i = intLen - 1; i >= 0; i--) {
      dg[i] = int % 10000;
      int = Math.floor(int / 10000);
    }
    dg[intLen] = Math.floor(frac / 1e8);
    dg[intLen + 1] = Math.floor(frac / 1e4) % 10000;
    dg[intLen + 2] = frac % 10000;
    let first = 0;
    let last = intLen + 3;
    let weight = intLen - 1;
    while (first < last && dg[first] === 0) { first++; weight--; }
    while (last > first && dg[last - 1] === 0) last--;
    const count = last - first;
    if (count === 0) weight = 0;
    const bytes = 8 + 2 * count;
    this.ensure(4 + bytes);
    this.i32(bytes, this.pos);
    this.i16(count, this.pos + 4);
    this.i16(weight, this.pos + 6);
    this.i16(neg && count > 0 ? 0x4000 : 0, this.pos + 8);
    this.i16(10, this.pos + 10);
    let p = this.pos + 12;
    for (let i = first; i < last; i++) { this.i16(dg[i]!, p); p += 2; }
    this.pos = p;
  }

  /** text[] (one dimension, no null elements); an empty array is written as NULL unless `empty` is 'array' */
  textArray(items: readonly string[] | null, empty: 'null' | 'array' = 'null'): void {
    if (items === null) return this.null();
    if (items.length === 0) {
      if (empty === 'null') return this.null();
      this.ensure(16);
      this.i32(12, this.pos);
      this.i32(0, this.pos + 4); // no dimensions
      this.i32(0, this.pos + 8);
      this.i32(TEXT_OID, this.pos + 12);
      this.pos += 16;
      return;
    }
    const start = this.pos;
    this.ensure(24);
    this.arrayHeader(this.pos + 4, TEXT_OID, items.length); // the length before it, written last
    this.pos += 24;
    for (const s of items) this.text(s);
    this.i32(this.pos - start - 4, start);
  }

  /** int4[] (one dimension, no null elements, not empty); null as NULL */
  int4Array(items: readonly number[] | null): void {
    if (items === null || items.length === 0) return this.null();
    const bytes = 20 + 8 * items.length;
    this.ensure(4 + bytes);
    this.i32(bytes, this.pos);
    this.arrayHeader(this.pos + 4, INT4_OID, items.length);
    let p = this.pos + 24;
    for (const v of items) { this.i32(4, p); this.i32(v, p + 4); p += 8; }
    this.pos = p;
  }

  /** The 20-byte header of a one-dimensional array without nulls, at `at` (space ensured by the caller). */
  private arrayHeader(at: number, elementOid: number, count: number): void {
    this.i32(1, at); // dimensions
    this.i32(0, at + 4); // has nulls
    this.i32(elementOid, at + 8);
    this.i32(count, at + 12);
    this.i32(1, at + 16); // lower bound
  }

  /** The rows written, as views on one buffer. */
  rows(): Uint8Array[] {
    const out = new Array<Uint8Array>(this.ends.length);
    let start = 0;
    for (let i = 0; i < this.ends.length; i++) {
      out[i] = this.buf.subarray(start, this.ends[i]);
      start = this.ends[i]!;
    }
    return out;
  }

  /** The underlying ArrayBuffer (to transfer to another thread). */
  get arrayBuffer(): ArrayBuffer {
    return this.buf.buffer as ArrayBuffer;
  }
}
