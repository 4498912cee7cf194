/**
 * Log records made ready for the logs writer: their COPY rows (binary; the columns of runledger.logs, sql/011)
 * and the few fields the writer needs. A record's identity (the primary key's record_hash) is a hash of
 * everything it carries, so a re-sent record meets its stored copy.
 */
import type { LogRecordData } from '../otlp/types.js';
import { contentFragment, isContentEvent } from '../mapping/genai-events.js';
import { jsonSafe, sha256Hex } from '../mapping/content.js';
import { RowWriter } from './binary.js';

export const LOG_COLUMNS = [
  'tenant_id', 'run_id', 'span_id', 'time', 'observed_time', 'severity_number', 'severity_text', 'event_name', 'body',
  'attributes', 'resource', 'service_name', 'scope_name', 'record_hash', 'content_input', 'content_output',
  'content_whole', 'content_rank',
] as const;

/** What the logs writer needs of a record besides its row. */
export interface LogItem {
  tenantId: string;
  runId: string;
  spanId: string | null;
  timeUs: number;
  /** a GenAI content event of a span: it fills the content of the span's node */
  content: boolean;
}

export interface PreparedLogs {
  items: LogItem[];
  /** the COPY row of each item (views on `buffers`) */
  rows: Uint8Array[];
  buffers: ArrayBuffer[];
  /** records rejected while decoding, and why (the first few) */
  rejected: number;
  errors: string[];
  /** records without trace context (acknowledged, not stored) */
  untraced: number;
}

const resourceJson = new WeakMap<object, string>();
function resourceText(r: LogRecordData['resource']): string {
  let s = resourceJson.get(r);
  if (s === undefined) resourceJson.set(r, (s = JSON.stringify(r)));
  return s;
}

/** Rows of the records kept by a decoder. */
export function prepareLogs(records: readonly LogRecordData[]): Pick<PreparedLogs, 'items' | 'rows' | 'buffers'> {
  const w = new RowWriter();
  const items: LogItem[] = [];
  for (const r of records) {
    const body = r.body === null || r.body === undefined ? null : JSON.stringify(r.body);
    const attributes = JSON.stringify(r.attributes);
    const resource = resourceText(r.resource);
    const hash = sha256Hex(JSON.stringify([r.traceId, r.spanId, r.timeUs, r.observedUs, r.severityNumber, r.severityText,
      r.eventName, r.scopeName, r.scopeVersion]) + body + attributes + resource).slice(0, 32);
    const f = r.spanId !== null && isContentEvent(r.eventName) ? contentFragment(r.eventName, r.attributes, r.body) : null;
    w.beginRow(LOG_COLUMNS.length);
    w.text(r.tenantId);
    w.uuidHex(r.traceId);
    w.text(r.spanId);
    w.timestamptz(r.timeUs);
    if (r.observedUs > 0) w.timestamptz(r.observedUs);
    else w.null();
    w.int2(r.severityNumber);
    w.optText(r.severityText);
    w.optText(r.eventName);
    w.jsonb(body);
    w.jsonb(attributes);
    w.jsonb(resource);
    w.optText(r.serviceName);
    w.optText(r.scopeName);
    w.text(hash);
    w.jsonb(f?.input == null ? null : jsonSafe(f.input));
    w.jsonb(f?.output == null ? null : jsonSafe(f.output));
    w.bool(f?.whole ?? false);
    w.int2(f?.rank ?? 0);
    w.endRow();
    items.push({ tenantId: r.tenantId, runId: r.traceId, spanId: r.spanId, timeUs: r.timeUs, content: f !== null });
  }
  return { items, rows: w.rows(), buffers: [w.arrayBuffer] };
}
