/**
 * Counts the spans of a protobuf ExportTraceServiceRequest from its wire format, without decoding
 * anything: resource_spans (1) → scope_spans (2) → spans (2). Lets the gateway refuse a request
 * whose decoding would expand far beyond its size (millions of tiny spans) before decoding it.
 * Also counts the data points of an ExportMetricsServiceRequest (the gateway does not store metrics,
 * but says how many it did not). Malformed input just stops the count; a decoder reports the error.
 */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length || shift > 49) return [-1, buf.length];
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, pos];
    shift += 7;
  }
}

/** Sum over the length-delimited fields numbered `field` in buf[start, end): visit(childStart, childEnd). */
function eachField(buf: Uint8Array, start: number, end: number, field: number, visit: (s: number, e: number) => void): void {
  let pos = start;
  while (pos < end) {
    const [tag, p1] = varint(buf, pos);
    if (tag < 0) return;
    pos = p1;
    const wire = tag % 8;
    if (wire === 0) {
      const [v, p2] = varint(buf, pos);
      if (v < 0) return;
      pos = p2;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [len, p2] = varint(buf, pos);
      if (len < 0 || p2 + len > end) return;
      if (Math.floor(tag / 8) === field) visit(p2, p2 + len);
      pos = p2 + len;
    } else {
      return; // groups or invalid wire types: leave it to the decoder
    }
  }
}

export function countProtoSpans(buf: Uint8Array): number {
  let n = 0;
  eachField(buf, 0, buf.length, 1, (rs, re) =>
    eachField(buf, rs, re, 2, (ss, se) => eachField(buf, ss, se, 2, () => { n++; })));
  return n;
}

/**
 * Data points of an ExportMetricsServiceRequest: resource_metrics (1) → scope_metrics (2) → metrics (2) →
 * gauge (5), sum (7), histogram (9), exponential_histogram (10) or summary (11) → data_points (1).
 */
export function countProtoDataPoints(buf: Uint8Array): number {
  let n = 0;
  eachField(buf, 0, buf.length, 1, (rs, re) =>
    eachField(buf, rs, re, 2, (ss, se) => eachField(buf, ss, se, 2, (ms, me) => {
      for (const kind of [5, 7, 9, 10, 11]) eachField(buf, ms, me, kind, (ds, de) => eachField(buf, ds, de, 1, () => { n++; }));
    })));
  return n;
}

/** The same count for an OTLP/JSON ExportMetricsServiceRequest (0 for anything not shaped like one). */
export function countJsonDataPoints(doc: unknown): number {
  const list = (o: unknown, ...keys: string[]): unknown[] => {
    if (o === null || typeof o !== 'object') return [];
    for (const k of keys) { const v = (o as Record<string, unknown>)[k]; if (Array.isArray(v)) return v; }
    return [];
  };
  let n = 0;
  for (const rm of list(doc, 'resourceMetrics', 'resource_metrics')) {
    for (const sm of list(rm, 'scopeMetrics', 'scope_metrics')) {
      for (const m of list(sm, 'metrics')) {
        if (m === null || typeof m !== 'object') continue;
        for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'exponential_histogram', 'summary']) {
          n += list((m as Record<string, unknown>)[kind], 'dataPoints', 'data_points').length;
        }
      }
    }
  }
  return n;
}
