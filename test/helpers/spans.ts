/** Builders for decoded/mapped spans in tests. */
import { randomBytes } from 'node:crypto';
import type { SpanRecord } from '../../src/otlp/types.js';
import type { NodeRecord } from '../../src/mapping/types.js';
import { prepareSpan, type PreparedSpan } from '../../src/sink/prepare.js';
import { writeBatch, type WriteOutcome } from '../../src/sink/writer.js';
import type pg from 'pg';

export const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export function span(p: Partial<SpanRecord> & { traceId: string; spanId: string }): SpanRecord {
  return {
    parentSpanId: null, name: 'span', kind: 1, startUs: 1_700_000_000_000_000, endUs: 1_700_000_001_000_000,
    statusCode: 0, statusMessage: '', attributes: {}, events: [], links: [], resource: { 'service.name': 'svc' },
    serviceName: 'svc', scopeName: 'test', scopeVersion: null, tenantId: 'default', ...p,
  };
}

export function node(p: Partial<NodeRecord> & Pick<NodeRecord, 'nodeType'>): NodeRecord {
  return {
    operation: null, name: 'node', status: 'COMPLETED', errorType: null, errorMessage: null, provider: null,
    requestModel: null, responseModel: null, modelName: null, inputTokens: null, outputTokens: null,
    cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null, totalTokens: null, inputCost: null,
    outputCost: null, totalCost: null, costSource: null, temperature: null, topP: null, maxTokens: null,
    finishReasons: null, responseId: null, toolName: null, toolCallId: null, agentName: null, sessionId: null,
    userId: null, promptHash: null, input: null, output: null, toolDefinitions: null, usageNormalized: false, contentSource: null, priceRef: null, ...p,
  };
}

/** A span (and its node) as the writer receives it: mapped, then prepared (COPY rows encoded). */
export function mapped(s: SpanRecord, n: NodeRecord | null = null, pipeline: { rank: number; value: string } | null = null): PreparedSpan {
  return prepareSpan({ span: s, node: n ? { ...n, name: s.name, status: s.statusCode === 2 ? 'FAILED' : 'COMPLETED' } : null, hints: { pipeline, environment: null, sessionId: null, userId: null } });
}

/** Deterministic PRNG for shuffles that can be replayed from a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], rand: () => number): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Split into consecutive chunks of random sizes (1..max). */
export function chunks<T>(items: T[], max: number, rand: () => number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

/**
 * writeBatch until every span is written: spans whose run another transaction holds come back deferred
 * (the batcher retries them; tests that call the writer directly do it here).
 */
export async function writeAll(
  write: (items: PreparedSpan[]) => Promise<WriteOutcome>, items: PreparedSpan[],
): Promise<{ inserted: number; duplicates: number }> {
  let inserted = 0;
  let duplicates = 0;
  for (let todo = items; todo.length > 0;) {
    const out = await write(todo);
    inserted += out.inserted;
    duplicates += out.duplicates;
    todo = out.deferred ?? [];
    if (todo.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
  return { inserted, duplicates };
}

/** writeAll of writeBatch on one connection of `pool`, released after. */
export async function writeOnPool(pool: pg.Pool, items: PreparedSpan[]): Promise<{ inserted: number; duplicates: number }> {
  const c = await pool.connect();
  try { return await writeAll((x) => writeBatch(c, x), items); } finally { c.release(); }
}
