/**
 * A span made ready for the writer: its COPY rows already encoded (binary), plus the few fields the
 * rollups need. Light to pass between threads (no attribute maps, no content; the row buffers are
 * transferred), so decode → map → encode can run off the main thread while it keeps the database busy.
 */
import type { MappedSpan } from '../mapping/types.js';
import type { RunSpan } from '../rollup/span.js';
import { firstBy } from '../rollup/deltas.js';
import { resourceOf, writeNodeRow, writeSpanRow } from './encoder.js';
import type { ResourceRef } from './resources.js';
import { RowWriter } from './binary.js';
import { placeNodes } from './tree.js';

export interface PreparedSpan extends RunSpan {
  /** the spans row (binary COPY) */
  spanRow: Uint8Array;
  /** the nodes row (binary COPY); its usage_counted byte is set at write time */
  nodeRow: Uint8Array | null;
  /** the span's resource (its row references the key): the writer stores it if the database may lack it */
  resource: ResourceRef;
}

/** Prepared spans of one request; rows are views on two buffers (transferable as a whole). */
export interface PreparedRows {
  items: PreparedSpan[];
  buffers: ArrayBuffer[];
}

export function prepareSpans(mapped: readonly MappedSpan[]): PreparedRows {
  const spans = new RowWriter();
  const nodes = new RowWriter();
  const places = placeNodes(mapped);
  const refs = new Array<ResourceRef>(mapped.length);
  for (let i = 0; i < mapped.length; i++) {
    const m = mapped[i]!;
    writeSpanRow(spans, m.span, (refs[i] = resourceOf(m.span.resource)));
    if (m.node) writeNodeRow(nodes, m, places[i]!);
  }
  const spanRows = spans.rows();
  const nodeRows = nodes.rows();
  const items = new Array<PreparedSpan>(mapped.length);
  let n = 0;
  for (let i = 0; i < mapped.length; i++) {
    const m = mapped[i]!;
    items[i] = lite(m, spanRows[i]!, m.node ? nodeRows[n++]! : null, refs[i]!);
  }
  carryRunInputs(mapped, items);
  return { items, buffers: [spans.arrayBuffer, nodes.arrayBuffer] };
}

/**
 * The run's stored input (sql/029) is its root node's input, else its first input node's. Of a request's spans
 * only the earliest parentless span of each run and its first node with input can be that node in any batch
 * holding the request (a batch's earliest is the earliest of one of its requests), so only they carry their
 * input text to the writer: the content stays off the main thread otherwise.
 */
function carryRunInputs(mapped: readonly MappedSpan[], items: PreparedSpan[]): void {
  const firsts = new Map<string, { root: number; input: number }>();
  for (let i = 0; i < items.length; i++) {
    const m = items[i]!;
    const isRoot = m.span.parentSpanId === null;
    if (!isRoot && !m.node?.hasInput) continue;
    const key = m.span.tenantId + '/' + m.span.traceId;
    let f = firsts.get(key);
    if (!f) firsts.set(key, (f = { root: -1, input: -1 }));
    if (isRoot && (f.root < 0 || firstBy(m, items[f.root]!))) f.root = i;
    if (m.node?.hasInput && (f.input < 0 || firstBy(m, items[f.input]!))) f.input = i;
  }
  for (const f of firsts.values()) {
    for (const i of [f.root, f.input]) {
      const node = items[i]?.node;
      if (node) node.inputForRun = mapped[i]!.node!.input;
    }
  }
}

export function prepareSpan(m: MappedSpan): PreparedSpan {
  return prepareSpans([m]).items[0]!;
}

function lite(m: MappedSpan, spanRow: Uint8Array, nodeRow: Uint8Array | null, resource: ResourceRef): PreparedSpan {
  const s = m.span;
  const n = m.node;
  return {
    span: {
      traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId, name: s.name, startUs: s.startUs,
      endUs: s.endUs, statusCode: s.statusCode, statusMessage: s.statusMessage, serviceName: s.serviceName,
      tenantId: s.tenantId,
    },
    node: n === null ? null : {
      nodeType: n.nodeType, modelName: n.modelName, sessionId: n.sessionId, userId: n.userId,
      inputTokens: n.inputTokens, outputTokens: n.outputTokens, cacheReadTokens: n.cacheReadTokens,
      cacheWriteTokens: n.cacheWriteTokens, reasoningTokens: n.reasoningTokens, totalTokens: n.totalTokens,
      totalCost: n.totalCost, status: n.status, agentName: n.agentName, hasInput: n.input !== null, hasOutput: n.output !== null,
      inputForRun: null,
    },
    hints: m.hints,
    spanRow,
    nodeRow,
    resource,
  };
}
