/**
 * What the run rollups read of a span: a few fields of the span, of its node and its run hints. The sink's
 * PreparedSpan carries exactly these beside its encoded rows, so the rollups take it as it is, while this
 * package knows nothing of rows or of the sink.
 */
import type { SpanRecord } from '../otlp/types.js';
import type { NodeRecord, RunHints } from '../mapping/types.js';

export type SpanLite = Pick<SpanRecord,
  'traceId' | 'spanId' | 'parentSpanId' | 'name' | 'startUs' | 'endUs' | 'statusCode' | 'statusMessage' | 'serviceName' | 'tenantId'>;

export type NodeLite = Pick<NodeRecord,
  'nodeType' | 'modelName' | 'sessionId' | 'userId' | 'inputTokens' | 'outputTokens' | 'cacheReadTokens' |
  'cacheWriteTokens' | 'reasoningTokens' | 'totalTokens' | 'totalCost' | 'status' | 'agentName'> & {
  /** the node stores input (output) content: the run's input (output) may be it */
  hasInput: boolean;
  hasOutput: boolean;
  /**
   * The node's input content (JSON text, as nodes.input resolves it), carried only by the spans that may be their
   * run's input in their request: the earliest parentless span (the run's root, when it is a node) and the first
   * node with input. null on every other span, and when there is no input.
   */
  inputForRun: string | null;
};

/** A span as the rollups see it. */
export interface RunSpan {
  span: SpanLite;
  node: NodeLite | null;
  hints: RunHints;
}
