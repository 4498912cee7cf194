/**
 * OTLP ExportLogsServiceRequest → LogRecordData[], from protobuf (the static code of scripts/gen-proto.mjs)
 * or JSON (the same rules as the trace decoders). Malformed bodies throw OtlpDecodeError; records with
 * malformed ids or no time are rejected one by one; records without trace context are counted.
 */
import { opentelemetry } from './gen/otlp.js';
import { OtlpDecodeError } from './errors.js';
import type { LogsDecodeResult } from './types.js';
import { optionalString, serviceNameOf, usFromNanos } from './values.js';
import { asBuffer, attributesOf, bytesIds, valueOf } from './proto-values.js';
import {
  asObject, asString, attributesField, get, hexIds, isObject, objects, parseJson, usOf, valueOf as jsonValueOf,
} from './json-values.js';
import { LogsCollector, logPath } from './logs.js';

const { ExportLogsServiceRequest } = opentelemetry.proto.collector.logs.v1;

export function decodeLogsRequestProto(buf: Uint8Array, tenantId: string): LogsDecodeResult {
  let request: opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
  try {
    request = ExportLogsServiceRequest.decode(asBuffer(buf));
  } catch (err) {
    throw new OtlpDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  const out = new LogsCollector(bytesIds, tenantId);
  const resourceLogs = request.resourceLogs ?? [];
  for (let r = 0; r < resourceLogs.length; r++) {
    const rl = resourceLogs[r]!;
    const resource = attributesOf(rl.resource?.attributes, 0);
    const serviceName = serviceNameOf(resource);
    const scopeLogs = rl.scopeLogs ?? [];
    for (let s = 0; s < scopeLogs.length; s++) {
      const sl = scopeLogs[s]!;
      const scope = { resource, serviceName, scopeName: optionalString(sl.scope?.name), scopeVersion: optionalString(sl.scope?.version) };
      const records = sl.logRecords ?? [];
      for (let i = 0; i < records.length; i++) {
        const x = records[i]!;
        out.add(logPath(r, s, i), {
          traceId: x.traceId, spanId: x.spanId, timeUs: usFromNanos(x.timeUnixNano ?? 0),
          observedUs: usFromNanos(x.observedTimeUnixNano ?? 0), severityNumber: x.severityNumber ?? 0,
          severityText: x.severityText ?? '', eventName: x.eventName ?? '', body: valueOf(x.body, 0),
          attributes: attributesOf(x.attributes, 0),
        }, scope);
      }
    }
  }
  return out.result();
}

/** SeverityNumber as an integer or, leniently, by name ("SEVERITY_NUMBER_INFO"). */
const SEVERITIES = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2',
  'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];
function severityOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Math.max(0, SEVERITIES.indexOf(v.replace(/^SEVERITY_NUMBER_/, '')));
  if (v === undefined || v === null) return 0;
  throw new OtlpDecodeError('"severityNumber" must be an enum number or name');
}

export function decodeLogsRequestJson(text: string | Uint8Array, tenantId: string): LogsDecodeResult {
  const root = parseJson(text);
  if (!isObject(root)) throw new OtlpDecodeError('top-level value must be an ExportLogsServiceRequest object');
  const out = new LogsCollector(hexIds, tenantId);
  const resourceLogs = objects(root, 'resourceLogs', 'resource_logs');
  for (let r = 0; r < resourceLogs.length; r++) {
    const rl = resourceLogs[r]!;
    const res = asObject(rl.resource, 'resource');
    const resource = res ? attributesField(res) : {};
    const serviceName = serviceNameOf(resource);
    const scopeLogs = objects(rl, 'scopeLogs', 'scope_logs');
    for (let s = 0; s < scopeLogs.length; s++) {
      const sl = scopeLogs[s]!;
      const sc = asObject(sl.scope, 'scope');
      const scope = { resource, serviceName, scopeName: optionalString(sc && asString(sc.name, 'name')), scopeVersion: optionalString(sc && asString(sc.version, 'version')) };
      const records = objects(sl, 'logRecords', 'log_records');
      for (let i = 0; i < records.length; i++) {
        const x = records[i]!;
        out.add(logPath(r, s, i), {
          traceId: get(x, 'traceId', 'trace_id'), spanId: get(x, 'spanId', 'span_id'),
          timeUs: usOf(get(x, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano'),
          observedUs: usOf(get(x, 'observedTimeUnixNano', 'observed_time_unix_nano'), 'observedTimeUnixNano'),
          severityNumber: severityOf(get(x, 'severityNumber', 'severity_number')),
          severityText: asString(get(x, 'severityText', 'severity_text'), 'severityText'),
          eventName: asString(get(x, 'eventName', 'event_name'), 'eventName'),
          body: jsonValueOf(x.body, 0), attributes: attributesField(x),
        }, scope);
      }
    }
  }
  return out.result();
}
