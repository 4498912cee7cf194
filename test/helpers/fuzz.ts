/**
 * Fuzzing helpers: a seeded PRNG, generators of valid and hostile OTLP requests (both encodings),
 * mutators (truncation, bit flips, wrong JSON types), compression bombs, and a client that sends a body
 * over OTLP/HTTP or OTLP/gRPC and checks that the answer is one the gateway may give to bad input:
 * a 4xx with a google.rpc.Status body, or 200 with an ExportTraceServiceResponse.
 */
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { EXPORT_PATH } from '../../src/receiver/grpc.js';
import { encodeTraceRequestProto, otlpJsonToProtoRequest } from '../../src/otlp/request.js';
import { decodeTraceRequestJson } from '../../src/otlp/decode-json.js';
import { decodeTraceRequestProto } from '../../src/otlp/decode-proto.js';
import { decodeExportResponse, decodeStatus } from './otlp.js';

// ---------------------------------------------------------------------------------------------------------
// PRNG

/** The run's seed: FUZZ_SEED from the environment (to reproduce a failure), else random. */
export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`FUZZ_SEED must be a uint32, got ${env}`);
    return n;
  }
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** mulberry32: small, fast, reproducible. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.next() * n); }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  bool(p = 0.5): boolean { return this.next() < p; }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  hex(bytes: number): string { return Buffer.from(this.bytes(bytes)).toString('hex'); }
  /** a non-zero id (all-zero ids are rejected by design; valid requests must not contain them) */
  id(bytes: number): string {
    for (;;) {
      const h = this.hex(bytes);
      if (!/^0+$/.test(h)) return h;
    }
  }
  /** sizes spread over orders of magnitude: [0, max] */
  logSize(max: number): number { return Math.min(max, Math.floor(Math.exp(this.next() * Math.log(max + 1))) - 1 + this.int(2)); }
  word(): string { return this.pick(WORDS) + (this.bool(0.3) ? '_' + this.int(1000) : ''); }
}

const WORDS = ['chat', 'gpt-4o', 'tool', 'agent', 'weather', 'retrieve', 'embed', 'plan', 'llm', 'call', 'ünïcødé', '日本語', '🚀'];

// ---------------------------------------------------------------------------------------------------------
// Valid requests (OTLP/JSON object form; toProto converts)

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Doc = { [k: string]: Json };

const T0 = 1_732_000_000_000_000_000n;

function kv(key: string, value: Json): Doc {
  return { key, value: value as Doc };
}

/** A valid span with GenAI attributes of every value type, events, links and a status. */
export function richSpan(r: Rng, traceId: string, parentSpanId: string | null, i: number): Doc {
  const start = T0 + BigInt(i) * 1_000_000n + BigInt(r.int(1000));
  const op = r.pick(['chat', 'execute_tool', 'invoke_agent', 'embeddings', 'text_completion']);
  const attributes: Doc[] = [
    kv('gen_ai.operation.name', { stringValue: op }),
    kv('gen_ai.provider.name', { stringValue: r.pick(['openai', 'anthropic', 'aws.bedrock']) }),
    kv('gen_ai.request.model', { stringValue: r.pick(['gpt-4o-mini', 'claude-sonnet-4', 'text-embedding-3-small']) }),
    kv('gen_ai.usage.input_tokens', { intValue: String(r.int(5000)) }),
    kv('gen_ai.usage.output_tokens', { intValue: r.int(800) }),
    kv('gen_ai.request.temperature', { doubleValue: r.next() }),
    kv('gen_ai.request.stream', { boolValue: r.bool() }),
    kv('gen_ai.response.finish_reasons', { arrayValue: { values: [{ stringValue: 'stop' }, { stringValue: r.word() }] } }),
    kv('gen_ai.input.messages', { stringValue: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: r.word() }] }]) }),
    kv('gen_ai.output.messages', { stringValue: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: r.word() }] }]) }),
    kv('app.nested', { kvlistValue: { values: [kv('a', { intValue: '-42' }), kv('b', { arrayValue: { values: [{ doubleValue: 1.5 }, {}] } })] } }),
    kv('app.bytes', { bytesValue: Buffer.from(r.bytes(r.int(12))).toString('base64') }),
    kv(r.word(), { stringValue: r.word() }),
  ];
  if (op === 'execute_tool') attributes.push(kv('gen_ai.tool.name', { stringValue: r.word() }), kv('gen_ai.tool.call.arguments', { stringValue: '{"city":"Paris"}' }));
  return {
    traceId,
    spanId: r.id(8),
    parentSpanId: parentSpanId ?? '',
    name: `${op} ${r.word()}`,
    kind: r.int(6),
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + BigInt(r.int(5_000_000_000))).toString(),
    attributes: attributes as Json[],
    events: r.bool(0.5) ? [{ name: 'exception', timeUnixNano: (start + 10n).toString(), attributes: [kv('exception.type', { stringValue: 'Boom' }), kv('exception.message', { stringValue: r.word() })] as Json[] }] : [],
    links: r.bool(0.3) ? [{ traceId: r.id(16), spanId: r.id(8), traceState: 'k=v', attributes: [] }] : [],
    status: { code: r.int(3), message: r.bool(0.3) ? r.word() : '' },
  };
}

/** A valid request: one trace of `spans` spans (a small tree) under 1-2 resources and scopes. */
export function richRequest(r: Rng, spans: number): Doc {
  const traceId = r.id(16);
  const all: Doc[] = [];
  for (let i = 0; i < spans; i++) {
    const parent = i === 0 ? null : (all[r.int(all.length)]!.spanId as string);
    all.push(richSpan(r, traceId, parent, i));
  }
  const resources = r.range(1, 2);
  const resourceSpans: Doc[] = [];
  for (let k = 0; k < resources; k++) {
    const mine = all.filter((_, i) => i % resources === k);
    const half = Math.ceil(mine.length / 2);
    resourceSpans.push({
      resource: { attributes: [kv('service.name', { stringValue: `svc-${k}` }), kv('deployment.environment.name', { stringValue: 'fuzz' })] as Json[] },
      scopeSpans: [
        { scope: { name: 'fuzz', version: '1.0' }, spans: mine.slice(0, half) },
        { scope: { name: 'fuzz-2' }, spans: mine.slice(half) },
      ],
    });
  }
  return { resourceSpans };
}

export function toProto(doc: unknown): Uint8Array {
  return encodeTraceRequestProto(otlpJsonToProtoRequest(doc));
}

/** A minimal valid request of `n` spans (one trace) in both encodings. */
export function plainSpans(r: Rng, n: number, traceId = r.id(16)): Doc {
  const spans: Json[] = [];
  for (let i = 0; i < n; i++) {
    spans.push({ traceId, spanId: r.id(8), name: `s${i}`, kind: 1, startTimeUnixNano: (T0 + BigInt(i)).toString(), endTimeUnixNano: (T0 + 1_000_000n).toString() });
  }
  return { resourceSpans: [{ resource: { attributes: [kv('service.name', { stringValue: 'plain' })] as Json[] }, scopeSpans: [{ spans }] }] };
}

// ---------------------------------------------------------------------------------------------------------
// Mutators

export function flipBits(r: Rng, body: Uint8Array, flips: number): Uint8Array {
  const out = Uint8Array.from(body);
  for (let i = 0; i < flips && out.length > 0; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
  return out;
}

/** A random JSON value (any type, nested up to `depth`). */
export function randomJson(r: Rng, depth = 4): Json {
  const k = r.int(depth > 0 ? 9 : 6);
  switch (k) {
    case 0: return null;
    case 1: return r.bool();
    case 2: return r.pick([0, -1, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e-308, 5e-324, r.int(1e9)]);
    case 3: return r.pick(['', 'x', 'NaN', 'Infinity', '-Infinity', '18446744073709551616', '-9223372036854775809', '9223372036854775807', '0x10', ' 12', '1e3', 'SPAN_KIND_SERVER', 'STATUS_CODE_ERROR', r.hex(8), r.hex(16), '\u0000', '\ud800', 'a\udc00b']);
    case 4: return r.word();
    case 5: return r.hex(r.int(20));
    case 6: case 7: {
      const n = r.int(4);
      return Array.from({ length: n }, () => randomJson(r, depth - 1));
    }
    default: {
      const o: Doc = {};
      const n = r.int(4);
      for (let i = 0; i < n; i++) o[r.pick([...OTLP_KEYS, r.word()])] = randomJson(r, depth - 1);
      return o;
    }
  }
}

const OTLP_KEYS = [
  'resourceSpans', 'resource_spans', 'resource', 'attributes', 'scopeSpans', 'scope_spans', 'scope', 'spans', 'traceId',
  'spanId', 'parentSpanId', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'status', 'code', 'message', 'events',
  'links', 'key', 'value', 'stringValue', 'intValue', 'doubleValue', 'boolValue', 'arrayValue', 'kvlistValue', 'bytesValue',
  'values', 'timeUnixNano', 'traceState', '__proto__', 'constructor',
];

/** A random OTLP-shaped document: the right field names, random types and values below them. */
export function randomOtlpJson(r: Rng): Json {
  const span = (): Json => {
    const o: Doc = {};
    for (const k of ['traceId', 'spanId', 'parentSpanId', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'status', 'attributes', 'events', 'links']) {
      if (r.bool(0.7)) o[k] = r.bool(0.5) ? randomJson(r, 3) : k === 'traceId' ? r.hex(16) : k === 'spanId' ? r.hex(8) : randomJson(r, 1);
    }
    return o;
  };
  return {
    resourceSpans: r.bool(0.9) ? [{
      resource: r.bool(0.5) ? { attributes: [kv('service.name', randomJson(r, 2))] as Json[] } : randomJson(r, 2),
      scopeSpans: r.bool(0.9) ? [{ scope: randomJson(r, 1), spans: Array.from({ length: r.range(0, 4) }, span) }] : randomJson(r, 2),
    }] : randomJson(r, 3),
  };
}

type Path = (string | number)[];

function paths(v: Json, prefix: Path, out: Path[]): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...prefix, i]); paths(x, [...prefix, i], out); });
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { out.push([...prefix, k]); paths(v[k]!, [...prefix, k], out); }
  return out;
}

/** A deep copy of `doc` with 1-3 values (anywhere in the tree) replaced by values of random types. */
export function wrongTypes(r: Rng, doc: Json): Json {
  const copy = structuredClone(doc);
  const all = paths(copy, [], []);
  for (let n = r.range(1, 3); n > 0 && all.length > 0; n--) {
    const p = r.pick(all);
    let parent = copy as Record<string | number, Json> | null;
    for (const seg of p.slice(0, -1)) {
      const next: Json | undefined = parent?.[seg];
      parent = next !== null && typeof next === 'object' ? (next as Record<string | number, Json>) : null;
    }
    if (parent === null) continue; // an earlier replacement removed this path
    parent[p[p.length - 1]!] = randomJson(r, 2);
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------------
// Compression bombs

/** gzip of `bytes` zero bytes (~1000:1). */
export function gzipBomb(bytes: number): Buffer {
  return zlib.gzipSync(Buffer.alloc(bytes), { level: 9 });
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * A zstd frame of RLE blocks (4 bytes each on the wire, `blockBytes` of output each) with no content size,
 * declaring the window by its descriptor byte (exponent << 3 | mantissa: size = 2^(10+e) * (1 + m/8)).
 */
export function zstdRleFrame(outBytes: number, windowDescriptor: number, blockBytes = 128 * 1024): Uint8Array {
  const blocks = Math.ceil(outBytes / blockBytes);
  const out = new Uint8Array(6 + blocks * 4);
  out.set([...ZSTD_MAGIC, 0x00, windowDescriptor]);
  for (let i = 0; i < blocks; i++) {
    const size = Math.min(blockBytes, outBytes - i * blockBytes);
    const hdr = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (size << 3); // last | RLE | size
    out.set([hdr & 0xff, (hdr >> 8) & 0xff, (hdr >> 16) & 0xff, 0x41], 6 + i * 4);
  }
  return out;
}

/** A single-segment zstd frame whose header declares `declared` bytes of content (8-byte FCS), then RLE blocks. */
export function zstdDeclaredFrame(declared: bigint, outBytes: number): Uint8Array {
  const blocks = zstdRleFrame(outBytes, 0).subarray(6);
  const out = new Uint8Array(5 + 8 + blocks.length);
  out.set([...ZSTD_MAGIC, 0xe0]); // FCS field 8 bytes, single segment
  new DataView(out.buffer).setBigUint64(5, declared, true);
  out.set(blocks, 13);
  return out;
}

/** A zstd frame of `blocks` one-byte raw blocks (4 bytes per output byte) under the given window. */
export function zstdTinyBlocksFrame(blocks: number, windowDescriptor: number): Uint8Array {
  const out = new Uint8Array(6 + blocks * 4 + 3);
  out.set([...ZSTD_MAGIC, 0x00, windowDescriptor]);
  for (let i = 0; i < blocks; i++) out.set([1 << 3, 0, 0, 0x20], 6 + i * 4); // raw block, 1 byte: ' '
  out.set([1, 0, 0], 6 + blocks * 4); // last, raw, empty
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Sending and checking answers

export type Enc = 'proto' | 'json';

export interface Outcome {
  transport: 'http' | 'grpc';
  /** HTTP status, or the gRPC code */
  status: number;
  /** acknowledged: HTTP 200 / gRPC OK */
  ok: boolean;
  rejected: number;
  message: string;
  ms: number;
}

/** Thrown (as a test failure) when the gateway answers something it must never answer to bad input. */
export class BadAnswer extends Error {}

const HTTP_CLIENT_ERRORS = new Set([400, 413, 415]);
const GRPC_CLIENT_ERRORS = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]);

export async function sendHttp(url: string, body: Uint8Array | string, enc: Enc, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<Outcome> {
  const t0 = performance.now();
  const ct = enc === 'proto' ? 'application/x-protobuf' : 'application/json';
  let res: Response;
  try {
    res = await fetch(url + '/v1/traces', { method: 'POST', headers: { 'content-type': ct, ...headers }, body: body as BodyInit, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new BadAnswer(`HTTP request failed (hang or dropped connection): ${(e as Error).message}`);
  }
  const raw = new Uint8Array(await res.arrayBuffer());
  const ms = performance.now() - t0;
  const gotCt = res.headers.get('content-type') ?? '';
  if (res.status === 200) {
    if (!gotCt.startsWith(ct)) throw new BadAnswer(`200 with content-type ${gotCt}`);
    let rejected = 0;
    let message = '';
    if (enc === 'proto') {
      const r = decodeExportResponse(raw);
      rejected = Number(r.partialSuccess?.rejectedSpans ?? 0);
      message = r.partialSuccess?.errorMessage ?? '';
    } else {
      const r = JSON.parse(Buffer.from(raw).toString('utf8')) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
      rejected = Number(r.partialSuccess?.rejectedSpans ?? 0);
      message = r.partialSuccess?.errorMessage ?? '';
    }
    return { transport: 'http', status: 200, ok: true, rejected, message, ms };
  }
  const text = Buffer.from(raw).toString('utf8');
  if (!HTTP_CLIENT_ERRORS.has(res.status)) throw new BadAnswer(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  // google.rpc.Status, encoded like the request (415 answers JSON: the request encoding is unknown)
  let code: number;
  let message: string;
  if (gotCt.startsWith('application/x-protobuf')) {
    const s = decodeStatus(raw);
    code = s.code;
    message = s.message;
  } else if (gotCt.startsWith('application/json')) {
    const s = JSON.parse(text) as { code: number; message: string };
    code = s.code;
    message = s.message;
  } else {
    throw new BadAnswer(`HTTP ${res.status} with content-type ${gotCt}`);
  }
  if (!(code > 0) || typeof message !== 'string' || message === '') throw new BadAnswer(`HTTP ${res.status} with a bad Status body: ${text.slice(0, 200)}`);
  return { transport: 'http', status: res.status, ok: false, rejected: 0, message, ms };
}

export class GrpcSender {
  private readonly clients = new Map<string, grpc.Client>();
  constructor(private readonly address: string) {}

  private client(options: grpc.ChannelOptions): grpc.Client {
    const key = JSON.stringify(options);
    let c = this.clients.get(key);
    if (!c) {
      c = new grpc.Client(this.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, ...options });
      this.clients.set(key, c);
    }
    return c;
  }

  send(body: Uint8Array, options: grpc.ChannelOptions = {}, timeoutMs = 20_000): Promise<Outcome> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      this.client(options).makeUnaryRequest(
        EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          const ms = performance.now() - t0;
          if (!err) {
            const r = decodeExportResponse(res!);
            resolve({ transport: 'grpc', status: 0, ok: true, rejected: Number(r.partialSuccess?.rejectedSpans ?? 0), message: r.partialSuccess?.errorMessage ?? '', ms });
          } else if (GRPC_CLIENT_ERRORS.has(err.code) && err.details) {
            resolve({ transport: 'grpc', status: err.code, ok: false, rejected: 0, message: err.details, ms });
          } else {
            reject(new BadAnswer(`gRPC ${grpc.status[err.code] ?? err.code}: ${err.details}`));
          }
        },
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// What an acknowledged request promised

export interface Ack {
  label: string;
  /** trace id + span id of every span the gateway decoded and did not reject while decoding */
  keys: string[];
  /** spans rejected while decoding (invalid ids, unstorable times) */
  decodeRejected: number;
  /** partial_success.rejected_spans of the answer */
  rejected: number;
}

/** Decode a body the way the gateway does, to know which spans an acknowledgement covers. */
export function expectedAck(label: string, body: Uint8Array | string, enc: Enc, rejected: number): Ack {
  const d = enc === 'proto'
    ? decodeTraceRequestProto(typeof body === 'string' ? Buffer.from(body) : body, 'default')
    : decodeTraceRequestJson(body, 'default');
  // A span without a start time is rejected by the consumer path (OTLP: semantically required).
  const kept = d.spans.filter((s) => s.startUs !== 0);
  return { label, keys: kept.map((s) => s.traceId + s.spanId), decodeRejected: d.rejected + d.spans.length - kept.length, rejected };
}

/** Run `tasks` with at most `concurrency` in flight; the first failure is rethrown after all settle. */
export async function runPool(tasks: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < tasks.length) {
      const t = tasks[next++]!;
      try { await t(); } catch (e) { errors.push(e); }
    }
  }));
  if (errors.length > 0) throw errors[0];
}

// ---------------------------------------------------------------------------------------------------------
// Hand-built protobuf (for shapes the encoder cannot produce: extreme nesting, invalid UTF-8)

/** Writes protobuf backwards, so a message can be wrapped after its content is written (no copying). */
export class BackWriter {
  private buf: Uint8Array;
  private pos: number;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
    this.pos = capacity;
  }
  raw(b: ArrayLike<number>): void {
    this.pos -= b.length;
    this.buf.set(b, this.pos);
  }
  varint(n: number): void {
    const bytes: number[] = [];
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      bytes.push(b);
    } while (n > 0);
    this.raw(bytes);
  }
  mark(): number { return this.pos; }
  /** Wrap everything written since `mark` as length-delimited field `field`. */
  wrap(field: number, mark: number): void {
    this.varint(mark - this.pos);
    this.varint((field << 3) | 2);
  }
  bytes(field: number, b: ArrayLike<number>): void {
    const m = this.mark();
    this.raw(b);
    this.wrap(field, m);
  }
  str(field: number, s: string): void { this.bytes(field, Buffer.from(s, 'utf8')); }
  fixed64(field: number, v: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    this.raw(b);
    this.varint((field << 3) | 1);
  }
  result(): Uint8Array { return this.buf.subarray(this.pos); }
}

/**
 * An ExportTraceServiceRequest with one span whose attribute `deep` nests `depth` kvlist (or array)
 * values around a string leaf.
 */
export function deepProtoRequest(traceId: string, spanId: string, depth: number, shape: 'kvlist' | 'array'): Uint8Array {
  const w = new BackWriter(depth * 24 + 4096);
  const req = w.mark();
  const rs = w.mark();
  const ss = w.mark();
  const kv = w.mark();
  const av = w.mark();
  w.str(1, 'leaf'); // AnyValue.string_value
  // Every level ends where the leaf ends (`av`): writing backwards, each wrap takes all bytes up to there.
  for (let i = 0; i < depth; i++) {
    if (shape === 'kvlist') {
      w.wrap(2, av); // KeyValue.value = the inner AnyValue
      w.str(1, 'k'); // KeyValue.key
      w.wrap(1, av); // KeyValueList.values
      w.wrap(6, av); // AnyValue.kvlist_value
    } else {
      w.wrap(1, av); // ArrayValue.values
      w.wrap(5, av); // AnyValue.array_value
    }
  }
  w.wrap(2, av); // KeyValue.value
  w.str(1, 'deep'); // KeyValue.key
  w.wrap(9, kv); // Span.attributes
  w.fixed64(8, T0 + 1_000_000n);
  w.fixed64(7, T0);
  w.str(5, 'deep');
  w.bytes(2, Buffer.from(spanId, 'hex'));
  w.bytes(1, Buffer.from(traceId, 'hex'));
  w.wrap(2, ss); // ScopeSpans.spans
  w.wrap(2, rs); // ResourceSpans.scope_spans
  w.wrap(1, req); // ExportTraceServiceRequest.resource_spans
  return w.result();
}

/** Replace every occurrence of the ASCII `placeholder` in `body` by `bytes` (same length). */
export function patchBytes(body: Uint8Array, placeholder: string, bytes: ArrayLike<number>): Uint8Array {
  const p = Buffer.from(placeholder, 'latin1');
  if (p.length !== bytes.length) throw new Error('patch must keep the length');
  const out = Buffer.from(body);
  let at = out.indexOf(p);
  if (at < 0) throw new Error(`placeholder ${placeholder} not found`);
  while (at >= 0) {
    out.set(bytes, at);
    at = out.indexOf(p, at + p.length);
  }
  return out;
}
