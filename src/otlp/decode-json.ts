/**
 * OTLP/JSON ExportTraceServiceRequest → SpanRecord[] (JSON.parse, then one walk).
 *
 * Follows the OTLP/JSON rules (hex ids, lowerCamelCase names, int64 as string or number, unknown
 * fields ignored) and is lenient where protobuf JSON parsers are: original snake_case names and
 * enum name strings ("SPAN_KIND_SERVER") are accepted too. A value of the wrong JSON type makes the
 * whole request malformed (OtlpDecodeError), except ids: a span with a bad id is rejected alone.
 */
import { OtlpDecodeError } from './errors.js';
import { SPAN_KINDS, STATUS_CODES } from './types.js';
import type { DecodeResult, SpanEvent, SpanLink } from './types.js';
import { DecodeCollector, checkLinkIds, checkSpanIds, optionalString, sanitize, serviceNameOf, spanPath } from './values.js';
import {
  asObject, asString, attributesField, enumOf, get, hexIds, isObject, objects, parseJson, usOf, type Json,
} from './json-values.js';

function eventsOf(span: Json): SpanEvent[] {
  return objects(span, 'events', 'events').map((e) => ({
    name: sanitize(asString(e.name, 'name')),
    timeUs: usOf(get(e, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano'),
    attributes: attributesField(e),
  }));
}

function linksOf(span: Json): SpanLink[] {
  const out: SpanLink[] = [];
  for (const l of objects(span, 'links', 'links')) {
    const ids = checkLinkIds(hexIds, get(l, 'traceId', 'trace_id'), get(l, 'spanId', 'span_id'));
    if (!ids) continue;
    const link: SpanLink = { traceId: ids.traceId, spanId: ids.spanId, attributes: attributesField(l) };
    const traceState = asString(get(l, 'traceState', 'trace_state'), 'traceState');
    if (traceState) link.traceState = sanitize(traceState);
    out.push(link);
  }
  return out;
}

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest. Throws OtlpDecodeError for malformed JSON or a
 * structurally invalid request; spans with invalid ids are rejected individually.
 */
export function decodeTraceRequestJson(text: string | Uint8Array, tenantId: string): DecodeResult {
  const root = parseJson(text);
  if (!isObject(root)) throw new OtlpDecodeError('top-level value must be an ExportTraceServiceRequest object');

  const out = new DecodeCollector();
  const resourceSpans = objects(root, 'resourceSpans', 'resource_spans');
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r];
    const res = asObject(rs.resource, 'resource');
    const resource = res ? attributesField(res) : {};
    const serviceName = serviceNameOf(resource);
    const scopeSpans = objects(rs, 'scopeSpans', 'scope_spans');
    for (let s = 0; s < scopeSpans.length; s++) {
      const ss = scopeSpans[s];
      const scope = asObject(ss.scope, 'scope');
      const scopeName = optionalString(scope && asString(scope.name, 'name'));
      const scopeVersion = optionalString(scope && asString(scope.version, 'version'));
      const spans = objects(ss, 'spans', 'spans');
      for (let i = 0; i < spans.length; i++) {
        const span = spans[i];
        const ids = checkSpanIds(
          hexIds,
          get(span, 'traceId', 'trace_id'),
          get(span, 'spanId', 'span_id'),
          get(span, 'parentSpanId', 'parent_span_id'),
        );
        if (typeof ids === 'string') {
          out.reject(spanPath(r, s, i), ids);
          continue;
        }
        const status = asObject(span.status, 'status');
        out.add(spanPath(r, s, i), {
          traceId: ids.traceId,
          spanId: ids.spanId,
          parentSpanId: ids.parentSpanId,
          name: sanitize(asString(span.name, 'name')),
          kind: enumOf(span.kind, 'SPAN_KIND_', SPAN_KINDS, 'kind'),
          startUs: usOf(get(span, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano'),
          endUs: usOf(get(span, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano'),
          statusCode: status ? enumOf(status.code, 'STATUS_CODE_', STATUS_CODES, 'code') : 0,
          statusMessage: status ? sanitize(asString(status.message, 'message')) : '',
          attributes: attributesField(span),
          events: eventsOf(span),
          links: linksOf(span),
          resource,
          serviceName,
          scopeName,
          scopeVersion,
          tenantId,
        });
      }
    }
  }
  return out.result();
}
