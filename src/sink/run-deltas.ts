/**
 * Binary COPY rows of the run deltas (rollup/deltas.ts deltaRows) for the session's staging table: each
 * column encoded by its kind, in the order of RUN_DELTA_COLUMNS, the list the staging table is made from.
 */
import { RUN_DELTA_COLUMNS, type DeltaKinds, type RunDeltaRow } from '../rollup/delta-columns.js';
import { RowWriter } from './binary.js';

const ENCODE: { [K in keyof DeltaKinds]: (w: RowWriter, v: DeltaKinds[K]) => void } = {
  uuid: (w, v) => w.uuidHex(v),
  key: (w, v) => w.text(v),
  text: (w, v) => w.text(v),
  int2: (w, v) => w.int2(v),
  time: (w, v) => w.timestamptz(v),
  optTime: (w, v) => (v === null ? w.null() : w.timestamptz(v)),
  count: (w, v) => w.int8Exact(v),
  decimal: (w, v) => w.text(v),
  texts: (w, v) => w.textArray(v, 'array'),
  json: (w, v) => w.jsonb(v),
};

/** The rows, in their order (deltaRows orders them by tenant_id, run_id). */
export function encodeDeltaRows(rows: readonly RunDeltaRow[]): Uint8Array[] {
  const w = new RowWriter(16 * 1024);
  for (const r of rows) {
    w.beginRow(RUN_DELTA_COLUMNS.length);
    for (const c of RUN_DELTA_COLUMNS) (ENCODE[c.kind] as (w: RowWriter, v: unknown) => void)(w, r[c.field]);
    w.endRow();
  }
  return w.rows();
}
