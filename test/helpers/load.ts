/**
 * Load generator for fault and overload tests: N concurrent OTLP/HTTP protobuf clients (node:http,
 * keep-alive) against a loopback gateway, bounded in request count and time, stopping by itself.
 *
 * Each client behaves like an OTLP exporter: it sends one request and retries it (same body, same
 * span ids) on 429 / 503 after `Retry-After`, and on connection errors after a short delay, until it
 * is acknowledged (200) or the load is stopped. Only a 200 counts as acknowledged: those spans must
 * be in the ledger. Requests never acknowledged may or may not be stored.
 *
 * Bodies come from a template request (e.g. bench/genai-spans.ts `encodedRequest(runs)`) whose trace
 * and span ids are overwritten in place with fresh random ids for every request: realistic ~1 KB
 * GenAI spans at the cost of a buffer copy, so the generator stays light next to the gateway.
 *
 * No vitest import: the soak scripts (test/soak/) compile and run it on its own.
 */
import http from 'node:http';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { opentelemetry } from '../../src/otlp/gen/otlp.js';

const v1 = opentelemetry.proto.collector.trace.v1;

/** The distinct trace ids and span ids of an encoded request, and each span as [trace index, span index]. */
function idsOf(body: Uint8Array): { traces: Buffer[]; spanIds: Buffer[]; spans: [number, number][] } {
  const req = v1.ExportTraceServiceRequest.decode(body);
  const traces = new Map<string, number>();
  const spanIds = new Map<string, number>();
  const spans: [number, number][] = [];
  const index = (m: Map<string, number>, b: Uint8Array) => {
    const k = Buffer.from(b).toString('hex');
    let i = m.get(k);
    if (i === undefined) m.set(k, (i = m.size));
    return i;
  };
  for (const rs of req.resourceSpans) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push([index(traces, s.traceId!), index(spanIds, s.spanId!)]);
        if (s.parentSpanId?.length) index(spanIds, s.parentSpanId);
      }
    }
  }
  const bufs = (m: Map<string, number>) => [...m.keys()].map((k) => Buffer.from(k, 'hex'));
  return { traces: bufs(traces), spanIds: bufs(spanIds), spans };
}

/** partial_success.rejected_spans of an ExportTraceServiceResponse (protobuf). */
function rejectedOf(body: Uint8Array): number {
  const res = v1.ExportTraceServiceResponse.decode(body);
  return Number(res.partialSuccess?.rejectedSpans ?? 0);
}

// ---------------------------------------------------------------------------------------------------------
// Bodies with fresh ids
// ---------------------------------------------------------------------------------------------------------

export interface LoadBody {
  body: Uint8Array;
  /** trace id hex (32) + span id hex (16) of every span, each unique */
  spans: string[];
  /** distinct trace ids (hex, 32) of the request */
  traceIds: string[];
}

/**
 * Turns an encoded ExportTraceServiceRequest into a factory of copies with fresh ids: every trace id
 * and span id (including parent span ids) is found in the template's bytes and replaced, consistently
 * within the copy, by new random bytes. Relations (parents, runs) are kept, ids are new.
 */
export function freshIds(template: Uint8Array): () => LoadBody {
  const tpl = Buffer.from(template);
  const ids = idsOf(tpl);
  // Offsets of every occurrence of each id (random 8/16-byte values: no accidental matches in practice).
  const at = (id: Buffer): number[] => {
    const out: number[] = [];
    for (let i = tpl.indexOf(id); i >= 0; i = tpl.indexOf(id, i + 1)) out.push(i);
    return out;
  };
  const traces = ids.traces.map((t) => ({ offsets: at(t) }));
  const spanIds = ids.spanIds.map((s) => ({ offsets: at(s) }));
  for (const x of [...traces, ...spanIds]) if (x.offsets.length === 0) throw new Error('template id not found in its bytes');
  const spanRefs = ids.spans; // [trace index, span index] per span
  return () => {
    const body = Buffer.from(tpl);
    const traceHex: string[] = [];
    const tmp16 = Buffer.alloc(16);
    for (const t of traces) {
      randomFillSync(tmp16);
      for (const o of t.offsets) tmp16.copy(body, o);
      traceHex.push(tmp16.toString('hex'));
    }
    const spanHex: string[] = [];
    const tmp8 = Buffer.alloc(8);
    for (const s of spanIds) {
      randomFillSync(tmp8);
      for (const o of s.offsets) tmp8.copy(body, o);
      spanHex.push(tmp8.toString('hex'));
    }
    return { body, spans: spanRefs.map(([t, s]) => traceHex[t]! + spanHex[s]!), traceIds: traceHex };
  };
}

// ---------------------------------------------------------------------------------------------------------
// The load
// ---------------------------------------------------------------------------------------------------------

export type Outcome = 'ok' | 'queue_full' | 'unavailable' | 'conn_error' | 'timeout' | 'other';

export interface Attempt {
  /** ms since the load started */
  t: number;
  client: number;
  request: number;
  outcome: Outcome;
  /** HTTP status (0 for connection errors and timeouts) */
  status: number;
  /** Retry-After header as sent (null when absent) */
  retryAfter: string | null;
  /** error code for connection errors (ECONNREFUSED, ECONNRESET, ...), 'reused:' before it on a kept-alive socket */
  error?: string;
  ms: number;
}

export interface LoadRequest {
  index: number;
  spans: string[];
  traceIds: string[];
  attempts: number;
  /** ms since start when acknowledged (200), else null */
  ackedAt: number | null;
  /** partial_success.rejected_spans of the 200 answer */
  rejected: number;
}

export interface LoadOptions {
  /** gateway base URL, loopback only: http://127.0.0.1:PORT */
  url: string;
  clients: number;
  /** body of the next request (fresh span ids each time) */
  next: () => LoadBody;
  /** distinct requests at most (count bound) */
  maxRequests: number;
  /** no new requests after this many ms (started ones keep retrying until acked or stopped) */
  durationMs?: number;
  /** hard bound: every client stops after this many ms, acknowledged or not */
  deadlineMs: number;
  /** per attempt */
  requestTimeoutMs?: number;
  /** Retry-After is honoured up to this many ms (default 5000) */
  maxRetryDelayMs?: number;
  /** delay before retrying after a connection error (default 200 ms) */
  connErrorDelayMs?: number;
  onAttempt?: (a: Attempt) => void;
  /** extra request headers (e.g. an API key) */
  headers?: Record<string, string>;
}

export interface LoadStats {
  attempts: number;
  byOutcome: Record<Outcome, number>;
  /** 429 / 503 answers without a Retry-After header */
  missingRetryAfter: number;
  /** unexpected HTTP statuses seen (status → count) */
  otherStatuses: Record<number, number>;
  /** connection errors by code (ECONNREFUSED, ECONNRESET, EPIPE, TIMEOUT, ...) */
  errors: Record<string, number>;
  /** requests acknowledged so far */
  acked: number;
  started: number;
  lastOkAt: number | null;
}

export interface LoadResult {
  requests: LoadRequest[];
  acked: LoadRequest[];
  unacked: LoadRequest[];
  stats: LoadStats;
  elapsedMs: number;
}

export interface RunningLoad {
  /** live counters */
  stats: LoadStats;
  /** requests started so far (acked ones have ackedAt set) */
  requests: LoadRequest[];
  /** stop now: no new attempts; in-flight attempts are awaited (bounded by requestTimeoutMs) */
  stop(): Promise<LoadResult>;
  /** stop taking new requests, keep retrying started ones until acked (or the deadline) */
  finish(): Promise<LoadResult>;
  done: Promise<LoadResult>;
  /** ms since start */
  now(): number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== 'http:' || !LOOPBACK.has(u.hostname)) throw new Error(`load generator targets loopback only, not ${url}`);
  return u;
}

function retryDelayMs(header: string | null, cap: number): number {
  const s = Number(header);
  const ms = Number.isFinite(s) && s >= 0 ? s * 1000 : 1000;
  // jitter so the clients do not come back in lockstep
  return Math.min(cap, ms) * (0.75 + Math.random() * 0.5);
}

export function startLoad(opts: LoadOptions): RunningLoad {
  const base = assertLoopback(opts.url);
  const target = new URL('/v1/traces', base);
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const stats: LoadStats = {
    attempts: 0,
    byOutcome: { ok: 0, queue_full: 0, unavailable: 0, conn_error: 0, timeout: 0, other: 0 },
    missingRetryAfter: 0,
    otherStatuses: {},
    errors: {},
    acked: 0,
    started: 0,
    lastOkAt: null,
  };
  const requests: LoadRequest[] = [];
  let stopping = false; // no new requests
  let halted = false; // no new attempts
  const wakers = new Set<() => void>();
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    if (halted) return resolve();
    const done = () => { clearTimeout(timer); wakers.delete(done); resolve(); };
    const timer = setTimeout(done, ms);
    wakers.add(done);
  });
  const halt = () => { halted = true; stopping = true; for (const w of [...wakers]) w(); };
  const deadline = setTimeout(halt, opts.deadlineMs);
  const durationTimer = opts.durationMs !== undefined ? setTimeout(() => { stopping = true; }, opts.durationMs) : null;

  function attempt(body: Uint8Array): Promise<{ status: number; retryAfter: string | null; error?: string; response?: Buffer }> {
    return new Promise((resolve) => {
      const req = http.request(target, {
        method: 'POST', agent,
        headers: { ...opts.headers, 'content-type': 'application/x-protobuf', 'content-length': body.length },
      }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
          response: Buffer.concat(parts),
        }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, retryAfter: null, error: e.code ?? e.message }));
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      // 'reused:' marks an error on a kept-alive socket: Node documents ECONNRESET there as the race of a request
      // with the server closing the idle connection (a fresh socket's ECONNRESET is not that race)
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, retryAfter: null,
        error: (req.reusedSocket ? 'reused:' : '') + (e.code ?? e.message) }));
      req.end(body);
    });
  }

  async function client(c: number): Promise<void> {
    while (!stopping && requests.length < opts.maxRequests) {
      const b = opts.next();
      const r: LoadRequest = { index: requests.length, spans: b.spans, traceIds: b.traceIds, attempts: 0, ackedAt: null, rejected: 0 };
      requests.push(r);
      stats.started++;
      // Retry this request until acknowledged; a halt gives up on it.
      while (!halted && r.ackedAt === null) {
        const ts = now();
        const res = await attempt(b.body);
        r.attempts++;
        stats.attempts++;
        let outcome: Outcome;
        if (res.status === 200) outcome = 'ok';
        else if (res.status === 429) outcome = 'queue_full';
        else if (res.status === 503) outcome = 'unavailable';
        else if (res.status === 0) outcome = res.error === 'TIMEOUT' ? 'timeout' : 'conn_error';
        else outcome = 'other';
        stats.byOutcome[outcome]++;
        const a: Attempt = { t: ts, client: c, request: r.index, outcome, status: res.status, retryAfter: res.retryAfter, ms: now() - ts };
        if (res.error) {
          a.error = res.error;
          stats.errors[res.error] = (stats.errors[res.error] ?? 0) + 1;
        }
        opts.onAttempt?.(a);
        if (outcome === 'ok') {
          r.ackedAt = now();
          r.rejected = rejectedOf(res.response!);
          stats.acked++;
          stats.lastOkAt = r.ackedAt;
        } else if (outcome === 'queue_full' || outcome === 'unavailable') {
          if (res.retryAfter === null) stats.missingRetryAfter++;
          await sleep(retryDelayMs(res.retryAfter, opts.maxRetryDelayMs ?? 5000));
        } else if (outcome === 'conn_error' || outcome === 'timeout') {
          await sleep(opts.connErrorDelayMs ?? 200);
        } else {
          // Not retryable (4xx/5xx other than 429/503): an exporter drops the request; the tests fail on it.
          stats.otherStatuses[res.status] = (stats.otherStatuses[res.status] ?? 0) + 1;
          break;
        }
      }
    }
  }

  const result = (): LoadResult => ({
    requests,
    acked: requests.filter((r) => r.ackedAt !== null),
    unacked: requests.filter((r) => r.ackedAt === null),
    stats,
    elapsedMs: now(),
  });
  const done = Promise.all(Array.from({ length: opts.clients }, (_, c) => client(c))).then(() => {
    clearTimeout(deadline);
    if (durationTimer) clearTimeout(durationTimer);
    agent.destroy();
    return result();
  });
  return {
    stats,
    requests,
    now,
    done,
    stop: () => { halt(); return done; },
    finish: () => { stopping = true; return done; },
  };
}

/** Every span id of the given requests (trace id hex + span id hex). */
export function spanKeys(reqs: readonly LoadRequest[]): string[] {
  return reqs.flatMap((r) => r.spans);
}

/** VmRSS of a process in MB (Linux /proc), NaN when it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
