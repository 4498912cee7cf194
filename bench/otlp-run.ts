/**
 * What the benches' span generators share: OTLP/JSON-shaped attributes, and an agent run under construction
 * (its trace id, root span id, spans, and `add` for the next span) on one clock that advances 50 ms per run.
 */
import { randomBytes } from 'node:crypto';

export type Attr = { key: string; value: Record<string, unknown> };
export const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
export const int = (key: string, v: number): Attr => ({ key, value: { intValue: v } });
export const dbl = (key: string, v: number): Attr => ({ key, value: { doubleValue: v } });

let clock = BigInt(Date.now()) * 1_000_000n;

export interface RunBuilder {
  traceId: Buffer;
  /** the root span's id: `add(name, null, …)` makes the root */
  root: Buffer;
  spans: Record<string, unknown>[];
  /** Add a span (status OK) starting offsetMs after the run's start; returns its span id. */
  add(name: string, parent: Buffer | null, offsetMs: number, durMs: number, attributes: Attr[], kind?: number): Buffer;
}

export function startRun(): RunBuilder {
  const traceId = randomBytes(16);
  const root = randomBytes(8);
  const t0 = (clock += 50_000_000n);
  const spans: Record<string, unknown>[] = [];
  const add = (name: string, parent: Buffer | null, offsetMs: number, durMs: number, attributes: Attr[], kind = 1): Buffer => {
    const id = parent === null ? root : randomBytes(8);
    const start = t0 + BigInt(offsetMs) * 1_000_000n;
    spans.push({
      traceId, spanId: id, parentSpanId: parent ?? undefined, name, kind,
      startTimeUnixNano: start.toString(), endTimeUnixNano: (start + BigInt(durMs) * 1_000_000n).toString(),
      attributes, status: { code: 1 },
    });
    return id;
  };
  return { traceId, root, spans, add };
}
