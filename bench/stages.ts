/**
 * Gateway CPU per span by step, on one core, without a database: the prepare worker's steps (decode, map,
 * tree places, row encoding, packing for the main thread) and the main thread's pure work per batch (unpack,
 * run ids, usage marks, run deltas and their rows, aggregate lookups), on the spans `npm run bench` sends.
 *   npm run build && node dist/bench/stages.js [step,...]      Env: BENCH_ROUNDS (default 7).
 * Figures are CPU µs per span (process CPU: GC threads included), the median and best of the rounds; on a
 * shared machine compare two builds alternately, several times.
 */
import { createMapper, loadPriceTable, mapSpans } from '../src/mapping/index.js';
import { decodeTraceRequestProto } from '../src/otlp/decode-proto.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { placeNodes } from '../src/sink/tree.js';
import { packPrepared, unpackPrepared } from '../src/worker/transfer.js';
import type { PreparedRequest } from '../src/worker/prepare.js';
import type { PreparedSpan } from '../src/sink/prepare.js';
import { runIdsOf } from '../src/rollup/locks.js';
import { planMarks, spanKey } from '../src/rollup/usage.js';
import { computeDeltas, deltaRows } from '../src/rollup/deltas.js';
import { encodeDeltaRows } from '../src/sink/run-deltas.js';
import { encodedRequest, SPANS_PER_RUN } from './genai-spans.js';

const REQUESTS = 16;
const REQUEST_SPANS = 512;
/** requests per main-thread batch (the batcher joins queued requests up to batchMaxSpans) */
const BATCH_REQUESTS = 4;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const only = process.argv[2]?.split(',');

const mapper = createMapper({ prices: loadPriceTable(), captureContent: true, maxContentChars: 16_384 });
const bodies = Array.from({ length: REQUESTS }, () => encodedRequest(REQUEST_SPANS / SPANS_PER_RUN));
const decoded = bodies.map((b) => decodeTraceRequestProto(b, 'bench'));
const mapped = decoded.map((d) => mapSpans(d.spans, mapper));
const prepared: PreparedRequest[] = mapped.map((m) => ({ ...prepareSpans(m), rejected: 0, errors: [], adjusted: 0, warnings: [] }));
const packed = prepared.map((p) => packPrepared(p));

/** The main thread's pure work on one batch (writer.ts, without its round trips). */
function mainPass(first: number): number {
  const items: PreparedSpan[] = [];
  for (let k = 0; k < BATCH_REQUESTS; k++) items.push(...unpackPrepared(packed[(first + k) % REQUESTS]!).items);
  const runs = runIdsOf(items.map((m) => ({ tenantId: m.span.tenantId, runId: m.span.traceId })));
  const plan = planMarks(items, []);
  const rows = encodeDeltaRows(deltaRows(computeDeltas(items, plan.aggregates).values()));
  let marks = 0;
  for (const m of items) {
    if (m.node !== null && plan.aggregates.size > 0) marks |= plan.aggregates.get(spanKey(m.span.tenantId, m.span.traceId, m.span.spanId)) ?? 0;
  }
  return runs.runIds.length + rows.length + marks;
}

/** Each step run once over every request (spans per call: REQUEST_SPANS, or a batch's for the main thread). */
const steps: Record<string, { spans: number; run: (i: number) => unknown }> = {
  decode: { spans: REQUEST_SPANS, run: (i) => decodeTraceRequestProto(bodies[i]!, 'bench') },
  map: { spans: REQUEST_SPANS, run: (i) => mapSpans(decoded[i]!.spans, mapper) },
  placeNodes: { spans: REQUEST_SPANS, run: (i) => placeNodes(mapped[i]!) },
  prepareSpans: { spans: REQUEST_SPANS, run: (i) => prepareSpans(mapped[i]!) },
  pack: { spans: REQUEST_SPANS, run: (i) => packPrepared(prepared[i]!) },
  mainPass: { spans: REQUEST_SPANS * BATCH_REQUESTS, run: (i) => mainPass(i) },
};

const cpuMicros = () => { const c = process.cpuUsage(); return c.user + c.system; };
const lines: string[] = [`gateway steps, CPU µs per span (${REQUEST_SPANS}-span requests of the bench's agent runs, ${ROUNDS} rounds):`];
let workerSum = 0;
for (const [name, step] of Object.entries(steps)) {
  if (only && !only.includes(name)) continue;
  for (let i = 0; i < REQUESTS; i++) step.run(i); // warm-up
  const perSpan: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = cpuMicros();
    for (let rep = 0; rep < 4; rep++) for (let i = 0; i < REQUESTS; i++) step.run(i);
    perSpan.push((cpuMicros() - c0) / (4 * REQUESTS * step.spans));
  }
  perSpan.sort((a, b) => a - b);
  const median = perSpan[perSpan.length >> 1]!;
  if (name !== 'mainPass' && name !== 'placeNodes') workerSum += median; // placeNodes is part of prepareSpans
  lines.push(`  ${name.padEnd(13)} median ${median.toFixed(2)}, best ${perSpan[0]!.toFixed(2)}`);
}
if (!only) lines.push(`  prepare worker (decode + map + prepareSpans + pack): ${workerSum.toFixed(2)}`);
process.stdout.write(lines.join('\n') + '\n');
