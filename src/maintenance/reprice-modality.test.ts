/**
 * Audio and image tokens through the real write path: stored as nodes.modality_tokens (sql/025), priced at the
 * model's audio rate, and priced the same again by `reprice`, which reads them back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMapper } from '../mapping/index.js';
import { loadPriceTable } from '../mapping/prices.js';
import { prepareSpans } from '../sink/prepare.js';
import { writeBatch } from '../sink/writer.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { hex, span } from '../../test/helpers/spans.js';
import { reprice } from './reprice.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('reprice_modality'); });
afterAll(async () => { await db?.drop(); });

const T0 = (Date.now() - 86_400_000) * 1000;
const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 256, captureContent: false });

/**
 * gpt-4o-realtime-preview (genai-prices 0.1.8, USD per 1M): text in 5, cached text 2.5, out 20; audio in 40,
 * cached audio 2.5, out 80. 4,000 input tokens of which 2,500 audio (1,000 of them cached) and 500 cached text;
 * 900 output of which 700 audio.
 */
const REALTIME_USD = (1000 * 5 + 500 * 2.5 + 1500 * 40 + 1000 * 2.5 + 200 * 20 + 700 * 80) / 1e6;

describe('audio tokens', () => {
  beforeAll(async () => {
    const traceId = hex(16);
    const otel = span({ traceId, spanId: hex(8), name: 'chat gpt-4o-realtime-preview', startUs: T0, endUs: T0 + 1000, attributes: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-realtime-preview',
      'gen_ai.usage.input_tokens': 4000, 'gen_ai.usage.cache_read.input_tokens': 1500, 'gen_ai.usage.audio.input_tokens': 2500,
      'gen_ai.usage.audio.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 900, 'gen_ai.usage.audio.output_tokens': 700,
    } });
    // OpenInference (openinference-instrumentation-openai): the same call's audio parts under its own keys
    const oi = span({ traceId: hex(16), spanId: hex(8), name: 'ChatCompletion', startUs: T0, endUs: T0 + 1000, attributes: {
      'openinference.span.kind': 'LLM', 'llm.provider': 'openai', 'llm.model_name': 'gpt-4o-realtime-preview',
      'llm.token_count.prompt': 3000, 'llm.token_count.prompt_details.audio': 2000, 'llm.token_count.completion': 500,
      'llm.token_count.completion_details.audio': 400,
    } });
    const c = await db.pool.connect();
    try { await writeBatch(c, prepareSpans([otel, oi].map(mapper)).items); } finally { c.release(); }
  });

  const stored = async () => (await db.pool.query(
    `SELECT name, modality_tokens, total_cost::float8 AS cost, cost_source FROM runledger.nodes ORDER BY name`)).rows;

  it('stores the parts and prices each at its own rate', async () => {
    expect(await stored()).toEqual([
      { name: 'ChatCompletion', modality_tokens: { audio_input: 2000, audio_output: 400 }, cost_source: 'price_table',
        cost: (1000 * 5 + 2000 * 40 + 100 * 20 + 400 * 80) / 1e6 },
      { name: 'chat gpt-4o-realtime-preview', cost_source: 'price_table', cost: REALTIME_USD,
        modality_tokens: { audio_input: 2500, audio_cache_read: 1000, audio_output: 700 } },
    ]);
    // priced at the text rate it was 3.8x under
    expect(REALTIME_USD / ((2500 * 5 + 1500 * 2.5 + 900 * 20) / 1e6)).toBeGreaterThan(3.7);
  });

  it('reprice reads them back: the same costs', async () => {
    const before = await stored();
    await db.pool.query(`UPDATE runledger.nodes SET total_cost = 0, price_ref = NULL`);
    expect(await reprice(db.pool, { prices: loadPriceTable() })).toMatchObject({ scanned: 2, repriced: 2 });
    expect(await stored()).toEqual(before);
  });
});
