/**
 * OTLP logs requests for tests: GenAI events as @opentelemetry/instrumentation-openai 0.21 sends them (the
 * chat path's per-message events with `event.name` attributes; the Responses path's operation.details records
 * with eventName), in OTLP/JSON and protobuf. No vitest import.
 */
import { opentelemetry } from '../../src/otlp/gen/otlp.js';
import { otlpJsonToProtoRequest } from '../../src/otlp/request.js';

export interface Rec {
  traceId?: string; spanId?: string; timeNs: bigint; event?: string; eventAttr?: string;
  body?: Record<string, unknown>; attributes?: Record<string, unknown>; observedNs?: bigint;
}

type AnyJson = Record<string, unknown>;

/** A JS value as an OTLP/JSON AnyValue. */
export function anyValue(v: unknown): AnyJson {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (v !== null && typeof v === 'object') return { kvlistValue: { values: Object.entries(v).map(([key, x]) => ({ key, value: anyValue(x) })) } };
  return {};
}

const kvs = (o: Record<string, unknown>) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));

export function logsJson(records: Rec[], service = 'svc'): AnyJson {
  return {
    resourceLogs: [{
      resource: { attributes: kvs({ 'service.name': service }) },
      scopeLogs: [{
        scope: { name: '@opentelemetry/instrumentation-openai', version: '0.21.0' },
        logRecords: records.map((r) => ({
          timeUnixNano: String(r.timeNs), observedTimeUnixNano: String(r.observedNs ?? r.timeNs), severityNumber: 9,
          ...(r.traceId ? { traceId: r.traceId } : {}), ...(r.spanId ? { spanId: r.spanId } : {}),
          ...(r.event ? { eventName: r.event } : {}),
          attributes: kvs({ ...(r.eventAttr ? { 'event.name': r.eventAttr } : {}), ...(r.attributes ?? {}) }),
          ...(r.body ? { body: anyValue(r.body) } : {}),
        })),
      }],
    }],
  };
}

export function logsProto(records: Rec[], service = 'svc'): Uint8Array {
  const req = otlpJsonToProtoRequest(logsJson(records, service)) as unknown as opentelemetry.proto.collector.logs.v1.IExportLogsServiceRequest;
  return opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest.encode(req).finish();
}

/** The chat path of instrumentation-openai: system, user and choice events of one call's span. */
export function chatEvents(traceId: string, spanId: string, t0: bigint): Rec[] {
  return [
    { traceId, spanId, timeNs: t0, eventAttr: 'gen_ai.system.message', attributes: { 'gen_ai.system': 'openai' }, body: { content: 'You are terse.' } },
    { traceId, spanId, timeNs: t0 + 1000n, eventAttr: 'gen_ai.user.message', attributes: { 'gen_ai.system': 'openai' }, body: { content: 'Weather in Paris?' } },
    { traceId, spanId, timeNs: t0 + 900_000n, eventAttr: 'gen_ai.choice', attributes: { 'gen_ai.system': 'openai' },
      body: { index: 0, finish_reason: 'stop', message: { content: 'Sunny, 21°C.' } } },
  ];
}

/** The Responses path: two operation.details records (input, then output). */
export function responsesEvents(traceId: string, spanId: string, t0: bigint): Rec[] {
  return [
    { traceId, spanId, timeNs: t0, event: 'gen_ai.client.inference.operation.details',
      attributes: { 'gen_ai.input.messages': [{ role: 'user', parts: [{ type: 'text', content: 'Say hi' }] }], 'gen_ai.system_instructions': 'Be brief.' } },
    { traceId, spanId, timeNs: t0 + 500_000n, event: 'gen_ai.client.inference.operation.details',
      attributes: { 'gen_ai.output.messages': [{ role: 'assistant', parts: [{ type: 'text', content: 'hi' }], finish_reason: 'stop' }] } },
  ];
}
