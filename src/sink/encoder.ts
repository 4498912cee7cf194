/**
 * Ledger rows for COPY (binary format): pure functions from decoded/mapped spans to row bytes.
 * Column order here is the COPY column list.
 */
import { SPAN_KINDS, STATUS_CODES, type Attributes, type SpanRecord } from '../otlp/types.js';
import type { MappedSpan, NodeRecord } from '../mapping/types.js';
import type { RowWriter } from './binary.js';
import type { NodePlace } from './tree.js';
import { resourceRef, type ResourceRef } from './resources.js';
import { costUnits, hasUsage } from '../rollup/amounts.js';
import type { ContentRef } from '../mapping/content.js';

/**
 * The span row as written: the resource is a key into runledger.resources (sql/014), its resource column
 * is left NULL. RAW_SPAN_COLUMNS are the columns of a span as sent (runledger.raw_spans has them, with the
 * resource as stored before sql/014, plus ingested_at).
 */
export const SPAN_COLUMNS = [
  'trace_id', 'span_id', 'parent_span_id', 'tenant_id', 'name', 'kind', 'start_time', 'end_time',
  'status_code', 'status_message', 'service_name', 'scope_name', 'attributes', 'resource_hash', 'events', 'links',
] as const;
export const RAW_SPAN_COLUMNS = [
  'trace_id', 'span_id', 'parent_span_id', 'tenant_id', 'name', 'kind', 'start_time', 'end_time',
  'status_code', 'status_message', 'service_name', 'scope_name', 'attributes', 'resource', 'events', 'links',
] as const;

export const NODE_COLUMNS = [
  'run_id', 'node_id', 'parent_span_id', 'tenant_id', 'node_type', 'operation', 'name', 'status',
  'error_type', 'error_message', 'start_time', 'end_time', 'duration_ms', 'provider', 'request_model',
  'response_model', 'model_name', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens',
  'reasoning_tokens', 'total_tokens', 'input_cost', 'output_cost', 'total_cost', 'cost_source',
  'temperature', 'top_p', 'max_tokens', 'finish_reasons', 'response_id', 'tool_name', 'tool_call_id',
  'agent_name', 'session_id', 'user_id', 'prompt_hash', 'input', 'output', 'input_ref', 'output_ref', 'tool_definitions',
  'tool_definitions_ref', 'usage_normalized',
  'price_ref', 'content_source', 'parent_node_id', 'parent_missing', 'depth', 'step_order', 'attempt',
  'tree_path', 'modality_tokens', 'call_counted', 'usage_counted',
] as const;

/** Spans of one ResourceSpans share their resource object: it is hashed once, not once per span. */
const resourceRefs = new WeakMap<Attributes, ResourceRef>();
export function resourceOf(r: Attributes): ResourceRef {
  let ref = resourceRefs.get(r);
  if (ref === undefined) {
    ref = resourceRef(r);
    resourceRefs.set(r, ref);
  }
  return ref;
}

const jsonOrNull = (v: unknown[]) => (v.length === 0 ? null : JSON.stringify(v));

export function writeSpanRow(w: RowWriter, s: SpanRecord, resource: ResourceRef = resourceOf(s.resource)): void {
  w.beginRow(SPAN_COLUMNS.length);
  w.uuidHex(s.traceId);
  w.text(s.spanId);
  w.text(s.parentSpanId);
  w.text(s.tenantId);
  w.text(s.name);
  w.text(SPAN_KINDS[s.kind] ?? 'UNSPECIFIED');
  w.timestamptz(s.startUs);
  w.timestamptz(s.endUs);
  w.text(STATUS_CODES[s.statusCode] ?? 'UNSET');
  w.optText(s.statusMessage);
  w.optText(s.serviceName);
  w.optText(s.scopeName);
  w.jsonb(JSON.stringify(s.attributes));
  w.uuidHex(resource.hash);
  w.jsonb(jsonOrNull(s.events));
  w.jsonb(jsonOrNull(s.links));
  w.endRow();
}

/**
 * The reference when the span row stores, under its key, the very string the mapping read (a Genkit view or a
 * caller's copy of the attributes may differ: then the node keeps its stored copy).
 */
function stillRaw(a: Attributes, ref: ContentRef | null): string | null {
  if (ref === null || a[ref.key] !== ref.text) return null;
  const p = ref.pairs;
  if (p !== undefined) for (let i = 0; i < p.length; i += 2) if (a[p[i]!] !== p[i + 1]) return null;
  return ref.ref;
}

/**
 * A node row. Its last two columns, call_counted and usage_counted (booleans), are written false; the writer
 * sets them (setCounted) once it knows whether the node is an aggregate.
 */
export function writeNodeRow(w: RowWriter, m: MappedSpan, place: NodePlace): void {
  const s = m.span;
  const n = m.node!;
  w.beginRow(NODE_COLUMNS.length);
  w.uuidHex(s.traceId);
  w.text(s.spanId);
  w.text(s.parentSpanId);
  w.text(s.tenantId);
  w.text(n.nodeType);
  w.optText(n.operation);
  w.text(n.name);
  w.text(n.status);
  w.optText(n.errorType);
  w.optText(n.errorMessage);
  w.timestamptz(s.startUs);
  w.timestamptz(s.endUs);
  w.float8((s.endUs - s.startUs) / 1000);
  w.optText(n.provider);
  w.optText(n.requestModel);
  w.optText(n.responseModel);
  w.optText(n.modelName);
  w.int8(n.inputTokens);
  w.int8(n.outputTokens);
  w.int8(n.cacheReadTokens);
  w.int8(n.cacheWriteTokens);
  w.int8(n.reasoningTokens);
  w.int8(n.totalTokens);
  w.numericUnits(costUnits(n.inputCost));
  w.numericUnits(costUnits(n.outputCost));
  w.numericUnits(costUnits(n.totalCost));
  w.optText(n.costSource);
  w.float8(n.temperature);
  w.float8(n.topP);
  w.int8(n.maxTokens);
  w.textArray(n.finishReasons);
  w.optText(n.responseId);
  w.optText(n.toolName);
  w.optText(n.toolCallId);
  w.optText(n.agentName);
  w.optText(n.sessionId);
  w.optText(n.userId);
  w.optText(n.promptHash);
  // Content once (sql/015): content that is exactly one of the span's attributes is a reference to it; only
  // the span's own content (content_source 'span': log records never replace it, sql/011).
  const r = n.contentSource === 'span' ? m.refs : null;
  const inRef = r ? stillRaw(s.attributes, r.input) : null;
  const outRef = r ? stillRaw(s.attributes, r.output) : null;
  w.jsonb(inRef === null ? n.input : null);
  w.jsonb(outRef === null ? n.output : null);
  w.optText(inRef);
  w.optText(outRef);
  const toolsRef = m.refs ? stillRaw(s.attributes, m.refs.toolDefinitions) : null;
  w.jsonb(toolsRef === null ? n.toolDefinitions : null);
  w.optText(toolsRef);
  w.bool(n.usageNormalized);
  w.optText(n.priceRef);
  w.optText(n.contentSource);
  w.text(place.parentNodeId);
  w.bool(place.parentMissing);
  w.int4(place.depth);
  w.int4(place.stepOrder);
  w.int4(place.attempt);
  w.int4Array(place.treePath);
  w.jsonb(n.modalityTokens ? JSON.stringify(n.modalityTokens) : null);
  w.bool(false); // call_counted
  w.bool(false); // usage_counted
  w.endRow();
}

/**
 * Set a node row's last two columns: call_counted, true for an LLM or TOOL node that is not a call aggregate
 * (no node of its type below it), and usage_counted, true when it carries usage and is not a usage aggregate.
 * Each is a boolean field (4 length bytes, 1 value byte): usage_counted's value is the row's last byte.
 */
export function setCounted(row: Uint8Array, node: Parameters<typeof hasUsage>[0] & Pick<NodeRecord, 'nodeType'>,
  usageAggregate: boolean, callAggregate: boolean): void {
  row[row.length - 1] = !usageAggregate && hasUsage(node) ? 1 : 0;
  row[row.length - 6] = !callAggregate && (node.nodeType === 'LLM' || node.nodeType === 'TOOL') ? 1 : 0;
}
