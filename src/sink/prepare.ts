/**
 * A span made ready for the writer: its COPY rows already encoded (binary), plus the few fields the
 * rollups need. Light to pass between threads (no attribute maps, no content; the row buffers are
 * transferred), so decode → map → encode can run off the main thread while it keeps the database busy.
 */
import type { MappedSpan } from '../mapping/types.js';
import type { RunSpan } from '../rollup/span.js';
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
  return { items, buffers: [spans.arrayBuffer, nodes.arrayBuffer] };
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
    },
    hints: m.hints,
    spanRow,
    nodeRow,
    resource,
  };
}
