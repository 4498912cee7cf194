/**
 * Log records made ready for the logs writer: their COPY rows (binary; the columns of runledger.logs, sql/011)
 * and the few fields the writer needs. A record's identity (the primary key's record_hash) is a hash of
 * everything it carries, key-value lists in canonical order, so a re-sent record meets its stored copy.
 */
import type { LogRecordData } from '../otlp/types.js';
import { contentFragment, isContentEvent } from '../mapping/genai-events.js';
import { jsonSafe, sha256Hex } from '../mapping/content.js';
import { RowWriter } from './binary.js';
import { cacheKey, canonicalJson, dayOfUs, resourceRef, type ResourceNeed, type ResourceRef } from './resources.js';

export const LOG_COLUMNS = [
  'tenant_id', 'run_id', 'span_id', 'time', 'observed_time', 'severity_number', 'severity_text', 'event_name', 'body',
  'attributes', 'resource_hash', 'service_name', 'scope_name', 'record_hash', 'content_input', 'content_output',
  'content_whole', 'content_rank',
] as const;

/**
 * The staging table's one column more (logs-writer.ts): the record's identity as gateways before canonical
 * order hashed it (attributes, body and resource as listed in the request), when that differs; NULL when not.
 */
export const STAGE_LOG_COLUMNS = [...LOG_COLUMNS, 'legacy_hash'] as const;

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
  /** the COPY row of each item (views on `buffers`): STAGE_LOG_COLUMNS */
  rows: Uint8Array[];
  buffers: ArrayBuffer[];
  /** records rejected while decoding, and why (the first few) */
  rejected: number;
  errors: string[];
  /** records without trace context (acknowledged, not stored) */
  untraced: number;
  /** the records' resources (sql/019), one per (tenant, key) with the latest day of its records */
  resources: ResourceNeed[];
}

/**
 * A resource's key and canonical JSON (sql/014), which the record hash includes, and its text as gateways
 * before canonical order included it (JSON.stringify: attributes as listed). The records of one ResourceLogs
 * share the object: computed once per request.
 */
const logResources = new WeakMap<object, { text: string; ref: ResourceRef }>();
function resourceInfo(r: LogRecordData['resource']): { text: string; ref: ResourceRef } {
  let x = logResources.get(r);
  if (x === undefined) logResources.set(r, (x = { text: JSON.stringify(r), ref: resourceRef(r) }));
  return x;
}

/**
 * Records whose time is a day or more past this thread's start cannot have been stored by a gateway from before
 * canonical order (one that still ran then: a rolling upgrade is over within a day), so they skip the legacy
 * hash, a second sha256 over the record's whole text (its resource's ~1.2 KB included). Logs prepare, 512-record
 * requests of chat events with an SDK resource, CPU µs a record (median of 8 alternating rounds against the
 * build before canonical order, one session): 30.2 with the legacy hash (38.3 in a busier run) against 23.6
 * before; past the cutoff 23.0 against 22.1.
 */
const LEGACY_HASH_WINDOW_US = 86_400_000_000;
const legacyHashBeforeUs = Date.now() * 1000 + LEGACY_HASH_WINDOW_US;

/**
 * A record's identity: sha256 (32 hex digits) of its fields, then its body, attributes and resource as JSON.
 * Canonical JSON (keys sorted, as resource keys are): the same record sent again with its attributes or its
 * resource's in another order — another SDK process, a collector that merged them — is the same record.
 * Records stored before hashed the texts as listed (JSON.stringify); where that differs and the record is older
 * than `legacyBeforeUs`, `legacy` is that hash, which the writer also looks for (a record stored by an earlier
 * gateway meets its re-send).
 */
export function recordHashes(
  r: LogRecordData, resource: { text: string; ref: ResourceRef }, listedBody: string | null, listedAttributes: string,
  legacyBeforeUs = legacyHashBeforeUs,
): { hash: string; legacy: string | null } {
  const head = JSON.stringify([r.traceId, r.spanId, r.timeUs, r.observedUs, r.severityNumber, r.severityText,
    r.eventName, r.scopeName, r.scopeVersion]);
  const body = r.body === null || r.body === undefined ? 'null' : canonicalJson(r.body);
  const attributes = canonicalJson(r.attributes);
  const canonical = body + attributes + resource.ref.json;
  const hash = sha256Hex(head + canonical).slice(0, 32);
  if (r.timeUs >= legacyBeforeUs) return { hash, legacy: null };
  const listed = (listedBody ?? 'null') + listedAttributes + resource.text;
  return { hash, legacy: listed === canonical ? null : sha256Hex(head + listed).slice(0, 32) };
}

/** Rows of the records kept by a decoder. */
export function prepareLogs(records: readonly LogRecordData[]): Pick<PreparedLogs, 'items' | 'rows' | 'buffers' | 'resources'> {
  const w = new RowWriter();
  const items: LogItem[] = [];
  const resources = new Map<string, ResourceNeed>();
  for (const r of records) {
    const body = r.body === null || r.body === undefined ? null : JSON.stringify(r.body);
    const attributes = JSON.stringify(r.attributes);
    const res = resourceInfo(r.resource);
    const day = dayOfUs(r.timeUs);
    const key = cacheKey(r.tenantId, res.ref.hash);
    const need = resources.get(key);
    if (need === undefined) resources.set(key, { tenantId: r.tenantId, hash: res.ref.hash, json: res.ref.json, day });
    else if (day > need.day) need.day = day;
    const { hash, legacy } = recordHashes(r, res, body, attributes);
    const f = r.spanId !== null && isContentEvent(r.eventName) ? contentFragment(r.eventName, r.attributes, r.body) : null;
    w.beginRow(STAGE_LOG_COLUMNS.length);
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
    w.uuidHex(res.ref.hash);
    w.optText(r.serviceName);
    w.optText(r.scopeName);
    w.text(hash);
    w.jsonb(f?.input == null ? null : jsonSafe(f.input));
    w.jsonb(f?.output == null ? null : jsonSafe(f.output));
    w.bool(f?.whole ?? false);
    w.int2(f?.rank ?? 0);
    w.optText(legacy);
    w.endRow();
    items.push({ tenantId: r.tenantId, runId: r.traceId, spanId: r.spanId, timeUs: r.timeUs, content: f !== null });
  }
  return { items, rows: w.rows(), buffers: [w.arrayBuffer], resources: [...resources.values()] };
}
