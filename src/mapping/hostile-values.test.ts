/**
 * Attribute values a hostile or buggy producer sends, and what the mapping makes of them so PostgreSQL
 * never refuses the row and the ledger stays consistent (found by test/fuzz.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Attributes, SpanRecord } from '../otlp/types.js';
import { createMapper, loadPriceTable } from './index.js';
import { resolveContent } from './content.js';
import { MAX_TOKENS, resolveUsage } from './usage.js';
import { MAX_PIPELINE_CHARS, resolveRunHints } from './run-hints.js';
import { costUnits } from '../rollup/amounts.js';

const prices = loadPriceTable();
const mapper = createMapper({ maxContentChars: 1000, captureContent: true, prices });

function span(attributes: Attributes, p: Partial<SpanRecord> = {}): SpanRecord {
  return {
    traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', parentSpanId: null, name: 'chat', kind: 3,
    startUs: 1_732_000_000_000_000, endUs: 1_732_000_001_000_000, statusCode: 0, statusMessage: '', attributes, events: [],
    links: [], resource: {}, serviceName: 'svc', scopeName: null, scopeVersion: null, tenantId: 'default', ...p,
  };
}

/** jsonb refuses \u0000 and lone surrogate escapes: parsed, such JSON has NUL or ill-formed strings. */
function jsonbAccepts(json: string): boolean {
  const ok = (s: string) => !s.includes('\u0000') && (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  const walk = (v: unknown): boolean => typeof v === 'string' ? ok(v)
    : Array.isArray(v) ? v.every(walk)
      : v !== null && typeof v === 'object' ? Object.entries(v).every(([k, x]) => ok(k) && walk(x)) : true;
  return walk(JSON.parse(json));
}

describe('content escapes jsonb refuses', () => {
  const opts = { maxContentChars: 1000, captureContent: true };
  const stored = (text: string) => resolveContent({ 'gen_ai.input.messages': text }, false, opts).input!;

  it('replaces \\u0000 and lone surrogate escapes in JSON kept verbatim, keeps pairs and escaped backslashes', () => {
    const text = '[{"content":"a\\ud800b \\udc00 \\u0000 \\\\ud800 \\\\u0000 \\ud83d\\ude00 \\u00e9 \\"q\\" \\\\"}]';
    const out = stored(text);
    expect(out).toBe('[{"content":"a\\ufffdb \\ufffd \\ufffd \\\\ud800 \\\\u0000 \\ud83d\\ude00 \\u00e9 \\"q\\" \\\\"}]');
    expect(JSON.parse(out)).toEqual([{ content: 'a\uFFFDb \uFFFD \uFFFD \\ud800 \\u0000 😀 é "q" \\' }]);
    expect(jsonbAccepts(out)).toBe(true);
    expect(jsonbAccepts(text)).toBe(false);
  });

  it('replaces them in serialised structures and truncated text too', () => {
    // structure decoded from JSON-encoded string elements (ai.values): JSON.parse yields the raw characters
    const values = resolveContent({ 'ai.values': ['"x\\ud800"', '"\\u0000"'] }, false, opts).input!;
    expect(JSON.parse(values)).toEqual(['x\uFFFD', '\uFFFD']);
    expect(jsonbAccepts(values)).toBe(true);
    const long = resolveContent({ 'gen_ai.input.messages': '\ud800'.repeat(2000) }, false, opts).input!;
    expect(JSON.parse(long)).toMatchObject({ truncated: true, length: 2000 });
    expect(jsonbAccepts(long)).toBe(true);
  });
});

describe('absurd numbers', () => {
  it('ignores token counts above MAX_TOKENS (next key tried), so totals stay exact', () => {
    expect(resolveUsage({ 'gen_ai.usage.input_tokens': MAX_TOKENS, 'gen_ai.usage.output_tokens': MAX_TOKENS + 1 })).toMatchObject({
      inputTokens: MAX_TOKENS, outputTokens: null, totalTokens: MAX_TOKENS,
    });
    expect(resolveUsage({ 'gen_ai.usage.input_tokens': '9007199254740991', 'gen_ai.usage.prompt_tokens': 12 })).toMatchObject({
      inputTokens: 12, totalTokens: 12,
    });
  });

  it('treats a price-table cost as unknown when it is as implausible as an ignored reported cost', () => {
    const node = (model: string, tokens: number) => mapper(span({
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': tokens,
    })).node!;
    expect(node('gpt-4o-mini', 1_000_000)).toMatchObject({ totalCost: 0.15, costSource: 'price_table' });
    expect(node('gpt-4o-mini', MAX_TOKENS)).toMatchObject({ totalCost: 150_000, costSource: 'price_table' }); // 1e12 × $0.15 / 1M
    // 1e12 × $2.50 / 1M = $2.5M: above MAX_REPORTED_COST, unknown like a reported cost that high
    expect(node('gpt-4o', MAX_TOKENS)).toMatchObject({ inputTokens: MAX_TOKENS, totalCost: null, inputCost: null, costSource: null });
  });

  it('costUnits: null unless an exact integer number of 1e-10 USD (node row and run rollup agree)', () => {
    expect(costUnits(0.5)).toBe(5_000_000_000);
    expect(costUnits(900_000)).toBe(9e15);
    expect(costUnits(1e6)).toBeNull();
    expect(costUnits(NaN)).toBeNull();
    expect(costUnits(Infinity)).toBeNull();
    expect(costUnits(null)).toBeNull();
  });
});

describe('run hints', () => {
  it('cuts the pipeline to MAX_PIPELINE_CHARS (runs.pipeline is indexed) without splitting a surrogate pair', () => {
    expect(resolveRunHints(span({}, { name: 'n'.repeat(3_000_000) })).pipeline).toEqual({ rank: 4, value: 'n'.repeat(MAX_PIPELINE_CHARS) });
    const emoji = 'x' + '😀'.repeat(MAX_PIPELINE_CHARS);
    const cut = resolveRunHints(span({ 'gen_ai.workflow.name': emoji })).pipeline!;
    expect(cut.rank).toBe(-4); // gen_ai.workflow.name on a root span
    expect(cut.value).toBe(emoji.slice(0, MAX_PIPELINE_CHARS - 1));
    expect(Buffer.byteLength(cut.value)).toBeLessThan(2704 - 100); // B-tree entries must fit in 2704 bytes
    expect(resolveRunHints(span({}, { name: 'short' })).pipeline).toEqual({ rank: 4, value: 'short' });
  });
});
