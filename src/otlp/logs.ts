/**
 * Rules shared by the OTLP logs decoders (protobuf and JSON) so both produce identical LogRecordData: which
 * records are kept (trace context), rejected (malformed ids, no time at all) or counted as untraced.
 */
import type { AttrValue, Attributes, LogRecordData, LogsDecodeResult } from './types.js';
import { MAX_ERRORS } from '../constants.js';
import { MAX_TIME_US, SPAN_ID_BYTES, TRACE_ID_BYTES, sanitize, type IdCodec } from './values.js';

const ZERO_TRACE_ID = '0'.repeat(TRACE_ID_BYTES * 2);
const ZERO_SPAN_ID = '0'.repeat(SPAN_ID_BYTES * 2);
/** SeverityNumber values are 0..24; anything else is stored as 0 (unspecified). */
const SEVERITY_COUNT = 25;

/** A decoded record's fields before the checks (ids still raw). */
export interface RawLogRecord<T> {
  traceId: T; spanId: T; timeUs: number; observedUs: number; severityNumber: number; severityText: string;
  eventName: string; body: AttrValue; attributes: Attributes;
}

export interface LogScope { resource: Attributes; serviceName: string | null; scopeName: string | null; scopeVersion: string | null }

export function logPath(resourceIndex: number, scopeIndex: number, recordIndex: number): string {
  return `resourceLogs[${resourceIndex}].scopeLogs[${scopeIndex}].logRecords[${recordIndex}]`;
}

/** Accumulates the records kept, rejected (with the first MAX_ERRORS reasons) and untraced. */
export class LogsCollector<T> {
  private readonly out: LogsDecodeResult = { records: [], rejected: 0, errors: [], untraced: 0 };

  constructor(private readonly ids: IdCodec<T>, private readonly tenantId: string) {}

  add(path: string, r: RawLogRecord<T>, scope: LogScope): void {
    if (this.ids.isEmpty(r.traceId)) return void this.out.untraced++;
    const traceId = this.ids.hex(r.traceId, TRACE_ID_BYTES);
    if (traceId === null) return this.reject(path, `invalid traceId (${this.ids.problem(r.traceId, TRACE_ID_BYTES)})`);
    if (traceId === ZERO_TRACE_ID) return void this.out.untraced++;
    let spanId: string | null = null;
    if (!this.ids.isEmpty(r.spanId)) {
      spanId = this.ids.hex(r.spanId, SPAN_ID_BYTES);
      if (spanId === null) return this.reject(path, `invalid spanId (${this.ids.problem(r.spanId, SPAN_ID_BYTES)})`);
      if (spanId === ZERO_SPAN_ID) spanId = null;
    }
    const timeUs = r.timeUs > 0 ? r.timeUs : r.observedUs;
    // a record's time is part of its identity (re-sends must meet their stored copy): none at all is refused
    if (timeUs <= 0) return this.reject(path, 'no time_unix_nano nor observed_time_unix_nano');
    if (timeUs > MAX_TIME_US || r.observedUs > MAX_TIME_US) return this.reject(path, 'time beyond year 9999');
    const eventAttr = r.attributes['event.name'];
    this.out.records.push({
      traceId, spanId, timeUs, observedUs: r.observedUs,
      severityNumber: Number.isInteger(r.severityNumber) && r.severityNumber >= 0 && r.severityNumber < SEVERITY_COUNT ? r.severityNumber : 0,
      severityText: sanitize(r.severityText),
      eventName: r.eventName ? sanitize(r.eventName) : typeof eventAttr === 'string' && eventAttr !== '' ? eventAttr : null,
      body: r.body, attributes: r.attributes,
      resource: scope.resource, serviceName: scope.serviceName, scopeName: scope.scopeName, scopeVersion: scope.scopeVersion,
      tenantId: this.tenantId,
    });
  }

  reject(path: string, reason: string): void {
    this.out.rejected++;
    if (this.out.errors.length < MAX_ERRORS) this.out.errors.push(`${path}: ${reason}`);
  }

  result(): LogsDecodeResult {
    return this.out;
  }
}
