/**
 * COPY text-format encoding of ledger rows: pure functions, no I/O.
 * https://www.postgresql.org/docs/current/sql-copy.html (text format)
 */
import { SPAN_KINDS, STATUS_CODES, type Attributes, type SpanRecord } from '../otlp/types.js';
import type { MappedSpan, NodeRecord } from '../mapping/types.js';

export const SPAN_COLUMNS = [
  'trace_id', 'span_id', 'parent_span_id', 'tenant_id', 'name', 'kind', 'start_time', 'end_time',
  'status_code', 'status_message', 'service_name', 'scope_name', 'attributes', 'resource', 'events', 'links',
] as const;

export const NODE_COLUMNS = [
  'run_id', 'node_id', 'parent_span_id', 'tenant_id', 'node_type', 'operation', 'name', 'status',
  'error_type', 'error_message', 'start_time', 'end_time', 'duration_ms', 'provider', 'request_model',
  'response_model', 'model_name', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens',
  'reasoning_tokens', 'total_tokens', 'input_cost', 'output_cost', 'total_cost', 'cost_source',
  'temperature', 'top_p', 'max_tokens', 'finish_reasons', 'response_id', 'tool_name', 'tool_call_id',
  'agent_name', 'session_id', 'user_id', 'prompt_hash', 'input', 'output', 'usage_counted',
] as const;

const NULL = '\\N';
const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Escape one value for the COPY text format. */
export function copyText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : s;
}

/**
 * Escape JSON text for COPY: JSON.stringify never emits raw newlines, carriage returns or tabs (it
 * escapes them), so only backslashes need doubling.
 */
export function copyJson(json: string): string {
  return json.indexOf('\\') === -1 ? json : json.replaceAll('\\', '\\\\');
}

function optText(s: string | null | undefined): string {
  return s === null || s === undefined || s === '' ? NULL : copyText(s);
}

function optNum(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? NULL : String(n);
}

/** Microseconds since the epoch → ISO-8601 timestamp with microsecond precision (UTC). */
const secondPrefix = new Map<number, string>(); // spans of a batch cluster in a few seconds
export function usToTimestamp(us: number): string {
  const sec = Math.floor(us / 1e6);
  let prefix = secondPrefix.get(sec);
  if (prefix === undefined) {
    const iso = new Date(sec * 1000).toISOString(); // 2024-01-02T03:04:05.000Z
    if (iso.length !== 24) return iso.slice(0, -5) + '.' + String(us - sec * 1e6).padStart(6, '0') + 'Z';
    if (secondPrefix.size >= 4096) secondPrefix.clear();
    prefix = iso.slice(0, 20);
    secondPrefix.set(sec, prefix);
  }
  return prefix + String(us - sec * 1e6).padStart(6, '0') + 'Z';
}

/** Cost in USD rounded to the ledger's numeric(20,10) scale, as integer units of 1e-10 USD. */
export const COST_SCALE = 1e10;
export function costUnits(usd: number | null): number | null {
  return usd === null || !Number.isFinite(usd) ? null : Math.round(usd * COST_SCALE);
}
/** Integer cost units → exact decimal text (numeric input). */
export function unitsToDecimal(units: number): string {
  const neg = units < 0;
  const s = String(Math.abs(units)).padStart(11, '0');
  return (neg ? '-' : '') + s.slice(0, -10) + '.' + s.slice(-10);
}
function optCost(usd: number | null): string {
  const u = costUnits(usd);
  return u === null ? NULL : unitsToDecimal(u);
}

/** text[] literal, e.g. {"stop","length"} */
export function textArray(items: string[] | null): string {
  if (!items || items.length === 0) return NULL;
  return copyText('{' + items.map((s) => '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"').join(',') + '}');
}

const resourceJson = new WeakMap<Attributes, string>();
function resourceText(r: Attributes): string {
  let s = resourceJson.get(r);
  if (s === undefined) {
    s = copyJson(JSON.stringify(r));
    resourceJson.set(r, s);
  }
  return s;
}

function jsonOrNull(v: unknown[]): string {
  return v.length === 0 ? NULL : copyJson(JSON.stringify(v));
}

export function encodeSpanRow(s: SpanRecord): string {
  return (
    s.traceId + '\t' + s.spanId + '\t' + (s.parentSpanId ?? NULL) + '\t' + copyText(s.tenantId) + '\t' +
    copyText(s.name) + '\t' + (SPAN_KINDS[s.kind] ?? 'UNSPECIFIED') + '\t' +
    usToTimestamp(s.startUs) + '\t' + usToTimestamp(s.endUs) + '\t' +
    (STATUS_CODES[s.statusCode] ?? 'UNSET') + '\t' + optText(s.statusMessage) + '\t' +
    optText(s.serviceName) + '\t' + optText(s.scopeName) + '\t' +
    copyJson(JSON.stringify(s.attributes)) + '\t' + resourceText(s.resource) + '\t' +
    jsonOrNull(s.events) + '\t' + jsonOrNull(s.links) + '\n'
  );
}

/** True when the node carries usage (tokens or cost) that can count toward run totals. */
export function hasUsage(n: Pick<NodeRecord, 'inputTokens' | 'outputTokens' | 'totalTokens' | 'totalCost'>): boolean {
  return (
    (n.inputTokens ?? 0) > 0 || (n.outputTokens ?? 0) > 0 || (n.totalTokens ?? 0) > 0 || (n.totalCost ?? 0) > 0
  );
}

/**
 * A node row up to the usage_counted column, which the writer appends (usageCountedColumn) once it
 * knows whether the node is an aggregate.
 */
export function encodeNodeRow(m: MappedSpan): string {
  const s = m.span;
  const n = m.node!;
  return (
    s.traceId + '\t' + s.spanId + '\t' + (s.parentSpanId ?? NULL) + '\t' + copyText(s.tenantId) + '\t' +
    n.nodeType + '\t' + optText(n.operation) + '\t' + copyText(n.name) + '\t' + n.status + '\t' +
    optText(n.errorType) + '\t' + optText(n.errorMessage) + '\t' +
    usToTimestamp(s.startUs) + '\t' + usToTimestamp(s.endUs) + '\t' + String((s.endUs - s.startUs) / 1000) + '\t' +
    optText(n.provider) + '\t' + optText(n.requestModel) + '\t' + optText(n.responseModel) + '\t' +
    optText(n.modelName) + '\t' + optNum(n.inputTokens) + '\t' + optNum(n.outputTokens) + '\t' +
    optNum(n.cacheReadTokens) + '\t' + optNum(n.cacheWriteTokens) + '\t' + optNum(n.reasoningTokens) + '\t' +
    optNum(n.totalTokens) + '\t' + optCost(n.inputCost) + '\t' + optCost(n.outputCost) + '\t' +
    optCost(n.totalCost) + '\t' + optText(n.costSource) + '\t' + optNum(n.temperature) + '\t' +
    optNum(n.topP) + '\t' + optNum(n.maxTokens) + '\t' + textArray(n.finishReasons) + '\t' +
    optText(n.responseId) + '\t' + optText(n.toolName) + '\t' + optText(n.toolCallId) + '\t' +
    optText(n.agentName) + '\t' + optText(n.sessionId) + '\t' + optText(n.userId) + '\t' +
    optText(n.promptHash) + '\t' + optText(n.input) + '\t' + optText(n.output) + '\t'
  );
}

/** The final usage_counted column: true when the node carries usage and is not an aggregate. */
export function usageCountedColumn(node: Parameters<typeof hasUsage>[0], aggregate: boolean): string {
  return !aggregate && hasUsage(node) ? 't\n' : 'f\n';
}
