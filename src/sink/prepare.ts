/**
 * A span made ready for the writer: its COPY rows already encoded, plus the few fields the rollups
 * need. Light to pass between threads (no attribute maps, no content), so decode → map → encode can
 * run off the main thread while the main thread keeps the database busy.
 */
import type { SpanRecord } from '../otlp/types.js';
import type { MappedSpan, NodeRecord, RunHints } from '../mapping/types.js';
import { encodeNodeRow, encodeSpanRow } from './encoder.js';

export type SpanLite = Pick<SpanRecord,
  'traceId' | 'spanId' | 'parentSpanId' | 'name' | 'startUs' | 'endUs' | 'statusCode' | 'statusMessage' | 'serviceName' | 'tenantId'>;

export type NodeLite = Pick<NodeRecord,
  'nodeType' | 'modelName' | 'sessionId' | 'userId' | 'inputTokens' | 'outputTokens' | 'cacheReadTokens' |
  'cacheWriteTokens' | 'reasoningTokens' | 'totalTokens' | 'totalCost'>;

export interface PreparedSpan {
  span: SpanLite;
  node: NodeLite | null;
  hints: RunHints;
  /** the spans COPY line */
  spanRow: string;
  /** the nodes COPY line up to (excluding) the usage_counted column, decided at write time */
  nodeRow: string | null;
}

export function prepareSpan(m: MappedSpan): PreparedSpan {
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
      totalCost: n.totalCost,
    },
    hints: m.hints,
    spanRow: encodeSpanRow(s),
    nodeRow: n === null ? null : encodeNodeRow(m),
  };
}
