/**
 * What decoding an OTLP request body will take in memory, estimated from its bytes before decoding anything,
 * so a prepare step refuses (413) a body whose decoded form would outgrow what one decode may hold (README
 * "Memory"), as it refuses more spans than one request may carry (span-count.ts).
 */
import { GatewayError } from '../errors.js';

/**
 * Bytes a decode may take per body byte: the body's strings decoded, sanitised, written again as JSON
 * and into a row buffer. Measured (decode, map and encode, VmHWM over a fresh process): one span with a
 * 1.7 MiB string attribute, +5 MB; 400 KB of GenAI spans, +3–6 MB.
 */
export const DECODE_BYTES_PER_BODY_BYTE = 8;

/**
 * Bytes a decode may take per message on the wire (a span, event, link, key-value, any-value, array or
 * key-value list; a JSON object or array): protobufjs makes an object of each (a Long of each int64), the
 * decoder another, JSON.stringify a row of them, and the young generation copies them while they live.
 * Measured the same way, per message: one span of 112,000 attributes `{key: "0abc", value: {intValue: n}}`
 * (1.5 MiB, 224,000 messages), +75–81 MB, ~350 B; 912,000 empty events (1.7 MiB), +245 MB, ~270 B; 912,000
 * empty attributes, +56 MB, ~60 B. JSON: 609,000 empty events (`{}`, 1.7 MiB), +204 MB against 234 MB estimated;
 * 1.7 MiB of tiny attributes, +15 MB against 49 MB. Before this estimate only spans were counted, and such a body took 40×
 * the largest body one request may hold, beyond the 30× the memory bound allows for a decode.
 */
export const DECODE_BYTES_PER_MESSAGE = 360;

/** A nesting deeper than this is not walked: its messages are bounded by its bytes (a message takes ≥ 2 bytes). */
const MAX_WALK_DEPTH = 32;

/** The messages the walk descends into (a const enum: numbers written in at compile time). */
const enum K {
  traceRequest, resourceSpans, resource, scopeSpans, scope, span, event, link, keyValue, anyValue, arrayValue, kvList,
  logsRequest, resourceLogs, scopeLogs, logRecord, other,
}
/** Per message kind, the kind of each length-delimited field number (index) that is a message; K.other for the rest. */
const FIELDS: K[][] = [];
const fields = (k: K, f: Record<number, K>) => {
  const row: K[] = [];
  for (const [n, c] of Object.entries(f)) row[Number(n)] = c;
  FIELDS[k] = row;
};
fields(K.traceRequest, { 1: K.resourceSpans });
fields(K.resourceSpans, { 1: K.resource, 2: K.scopeSpans });
fields(K.resource, { 1: K.keyValue });
fields(K.scopeSpans, { 1: K.scope, 2: K.span });
fields(K.scope, { 3: K.keyValue });
fields(K.span, { 9: K.keyValue, 11: K.event, 13: K.link, 15: K.other });
fields(K.event, { 3: K.keyValue });
fields(K.link, { 4: K.keyValue });
fields(K.keyValue, { 2: K.anyValue });
fields(K.anyValue, { 5: K.arrayValue, 6: K.kvList });
fields(K.arrayValue, { 1: K.anyValue });
fields(K.kvList, { 1: K.keyValue });
fields(K.logsRequest, { 1: K.resourceLogs });
fields(K.resourceLogs, { 1: K.resource, 2: K.scopeLogs });
fields(K.scopeLogs, { 1: K.scope, 2: K.logRecord });
fields(K.logRecord, { 5: K.anyValue, 6: K.keyValue });
FIELDS[K.other] = [];

/**
 * Messages in buf[pos, end) read as a message of `kind` (itself not counted): one pass over its fields,
 * descending into the fields that are messages. Malformed input stops the count (the decoder reports it).
 */
function messagesIn(buf: Uint8Array, pos: number, end: number, kind: K, depth: number): number {
  if (depth > MAX_WALK_DEPTH) return Math.ceil((end - pos) / 2);
  const children = FIELDS[kind]!;
  let n = 0;
  while (pos < end) {
    let tag = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end || shift > 28) return n;
      const b = buf[pos++]!;
      tag += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    const wire = tag & 7;
    if (wire === 0) {
      for (;;) { if (pos >= end) return n; if (buf[pos++]! < 0x80) break; }
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len = 0;
      for (let shift = 0; ; shift += 7) {
        if (pos >= end || shift > 35) return n;
        const b = buf[pos++]!;
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
      }
      if (pos + len > end) return n;
      const child = children[tag >>> 3];
      if (child !== undefined) n += 1 + (child === K.other ? 0 : messagesIn(buf, pos, pos + len, child, depth + 1));
      pos += len;
    } else return n; // groups or invalid wire types: the decoder refuses them
  }
  return n;
}

/**
 * Messages of a protobuf ExportTraceServiceRequest: resource_spans → resource, scope_spans → scope, spans →
 * attributes, events, links, status; every key-value, any-value, array and key-value list within them.
 */
export function countProtoTraceMessages(buf: Uint8Array): number {
  return messagesIn(buf, 0, buf.length, K.traceRequest, 0);
}

/** Messages of a protobuf ExportLogsServiceRequest: resource_logs → resource, scope_logs → scope, log_records → body, attributes. */
export function countProtoLogsMessages(buf: Uint8Array): number {
  return messagesIn(buf, 0, buf.length, K.logsRequest, 0);
}

/** Objects and arrays of a JSON body ('{' and '[' outside strings): what JSON.parse makes objects of. */
export function countJsonContainers(buf: Uint8Array): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte (\" and \\ included)
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) n++;
  }
  return n;
}

/** The estimated memory (bytes) decoding, mapping and encoding `body` takes while it lasts. */
export function decodeCostBytes(body: Uint8Array, encoding: 'proto' | 'json', signal: 'traces' | 'logs'): number {
  const messages = encoding === 'json' ? countJsonContainers(body)
    : signal === 'logs' ? countProtoLogsMessages(body) : countProtoTraceMessages(body);
  return DECODE_BYTES_PER_BODY_BYTE * body.length + DECODE_BYTES_PER_MESSAGE * messages;
}

/**
 * Throws payload_too_large (413, not worth a retry) when decoding `body` would take more than `maxDecodeBytes`
 * (the W·30·L term of the memory bound: README "Memory"); a smaller batch fits.
 */
export function checkDecodeCost(body: Uint8Array, encoding: 'proto' | 'json', signal: 'traces' | 'logs', maxDecodeBytes: number): void {
  if (!(maxDecodeBytes < Infinity)) return; // no limit (tests, tools)
  // A message (a JSON object or array) takes at least 2 bytes: a body this small needs no count.
  if ((DECODE_BYTES_PER_BODY_BYTE + DECODE_BYTES_PER_MESSAGE / 2) * body.length <= maxDecodeBytes) return;
  const cost = decodeCostBytes(body, encoding, signal);
  if (cost <= maxDecodeBytes) return;
  const MB = (n: number) => (n / 1e6).toFixed(0);
  throw new GatewayError('payload_too_large', `decoding this request would take ~${MB(cost)} MB (${body.length} bytes holding `
    + `${Math.round((cost - DECODE_BYTES_PER_BODY_BYTE * body.length) / DECODE_BYTES_PER_MESSAGE)} attributes, values, events and `
    + `other messages), more than the ${MB(maxDecodeBytes)} MB one request may take; send smaller batches or fewer attributes`);
}
