/**
 * Content once (sql/015), on real PostgreSQL through the real path (mapper → prepare → writeBatch): the golden
 * mapping fixtures of every content convention keep their raw attributes exactly, their nodes' content (through
 * runledger.nodes_full and node_content()) is what the nodes stored before, truncated content keeps its raw
 * copy whole, re-sends change nothing, and the runs' input / output node references still resolve.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMapper, loadPriceTable } from '../src/mapping/index.js';
import { storedForm, type ContentRef } from '../src/mapping/content.js';
import type { MappedSpan } from '../src/mapping/types.js';
import type { SpanRecord } from '../src/otlp/types.js';
import { sanitize } from '../src/otlp/values.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import { repair } from '../src/maintenance/repair.js';
import { createTestDb, type TestDb } from './helpers/db.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('content_once'); });
afterAll(async () => { await db?.drop(); });

const dir = fileURLToPath(new URL('../testdata/mapping/', import.meta.url));
const prices = loadPriceTable();
/** Strings as the OTLP decoders leave them (NUL and lone surrogates replaced): the fixtures hold raw ones. */
const clean = (v: unknown): unknown => typeof v === 'string' ? sanitize(v)
  : Array.isArray(v) ? v.map(clean)
  : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [sanitize(k), clean(x)])) : v;

/** Every mapping fixture, each under its own tenant (fixtures reuse trace ids), mapped with its own options. */
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.spans.json')).sort().map((f) => {
  const name = f.slice(0, -'.spans.json'.length);
  const fx = JSON.parse(readFileSync(dir + f, 'utf8')) as { spans: SpanRecord[]; options?: Record<string, unknown> };
  const mapper = createMapper({ prices, captureContent: true, maxContentChars: 16_384, ...fx.options });
  return { name, mapped: fx.spans.map((s) => mapper({ ...s, tenantId: name, attributes: clean(s.attributes) as SpanRecord['attributes'] })) };
});
const all: MappedSpan[] = fixtures.flatMap((f) => f.mapped);

async function write(items: MappedSpan[]): Promise<void> {
  const c = await db.pool.connect();
  try {
    await writeBatch(c, prepareSpans(items).items);
  } finally { c.release(); }
}

const snapshot = async () => ({
  nodes: (await db.pool.query('SELECT to_jsonb(n) AS n FROM runledger.nodes n ORDER BY tenant_id, run_id, node_id')).rows,
  spans: (await db.pool.query(`SELECT to_jsonb(s) - 'ingested_at' AS s FROM runledger.spans s ORDER BY tenant_id, trace_id, span_id`)).rows,
  runs: (await db.pool.query(`SELECT to_jsonb(r) - 'created_at' - 'updated_at' AS r FROM runledger.runs r ORDER BY tenant_id, run_id`)).rows,
});

const FLAT_KINDS = ['flat:n:gen_ai.prompt.:', 'flat:n:llm.input_messages.:.message', 'flat:n:llm.output_messages.:.message'];

describe('content once', () => {
  beforeAll(async () => { await write(all); });

  it('references the span attribute for verbatim content of each convention, and stores the rest', async () => {
    const refs = (await db.pool.query(`SELECT tenant_id, input_ref, output_ref, input IS NULL AS no_in, output IS NULL AS no_out
      FROM runledger.nodes WHERE input_ref IS NOT NULL OR output_ref IS NOT NULL`)).rows;
    const toolDefs = (await db.pool.query(`SELECT count(*)::int AS n FROM runledger.nodes
      WHERE tool_definitions_ref IS NOT NULL AND tool_definitions IS NOT NULL`)).rows[0].n;
    expect(toolDefs).toBe(0);
    for (const r of refs) {
      if (r.input_ref !== null) expect(r.no_in).toBe(true);
      if (r.output_ref !== null) expect(r.no_out).toBe(true);
    }
    const kinds = new Set(refs.flatMap((r) => [r.input_ref, r.output_ref]).filter((x) => x !== null));
    // the conventions whose content is one attribute, each seen at least once among the fixtures
    for (const ref of ['json:gen_ai.input.messages', 'json:gen_ai.output.messages', 'json:gen_ai.tool.call.arguments',
      'json:gen_ai.tool.call.result', 'json:traceloop.entity.input', 'json:traceloop.entity.output', 'json:ai.prompt.messages',
      'text:ai.response.text', 'json:input.value']) {
      expect(kinds, ref).toContain(ref);
    }
    const tools = new Set((await db.pool.query(`SELECT DISTINCT tool_definitions_ref AS r FROM runledger.nodes
      WHERE tool_definitions_ref IS NOT NULL AND tool_definitions IS NULL`)).rows.map((r) => r.r));
    for (const ref of ['json:gen_ai.tool.definitions']) {
      expect(tools, ref).toContain(ref);
    }
    // flattened messages of plain {role, content}: rebuilt from the span's keys
    const flatKinds = [...kinds].filter((k) => k.startsWith('flat:')).map((k) => k.replace(/^flat:\d+/, 'flat:n')).sort();
    expect(new Set(flatKinds)).toEqual(new Set(FLAT_KINDS));
    // other flattened shapes (tool calls, parts) keep a stored copy
    const flat = (await db.pool.query(`SELECT count(*)::int AS n FROM runledger.nodes n JOIN runledger.spans s
      ON s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time
      WHERE s.attributes ? 'gen_ai.prompt.0.content' AND n.input IS NOT NULL AND n.input_ref IS NULL`)).rows[0].n;
    expect(flat).toBeGreaterThan(0);
  });

  it('keeps every raw span exactly: spans.attributes is the attributes sent, content strings verbatim', async () => {
    for (const m of all) {
      const s = m.span;
      const row = (await db.pool.query(`SELECT attributes = $4::jsonb AS same, attributes FROM runledger.spans
        WHERE tenant_id = $1 AND trace_id = $2::uuid AND span_id = $3`, [s.tenantId, s.traceId, s.spanId, JSON.stringify(s.attributes)])).rows[0];
      expect(row.same, `${s.tenantId} ${s.name}`).toBe(true);
      for (const [k, v] of Object.entries(s.attributes)) {
        if (typeof v === 'string') expect(row.attributes[k], `${s.name} ${k}`).toBe(v);
      }
    }
  });

  it('gives every node the content it stored before, through nodes_full and compat.ledger_nodes', async () => {
    let checked = 0;
    for (const m of all) {
      if (m.node === null) continue;
      const s = m.span;
      const args = [s.tenantId, s.traceId, s.spanId, m.node.input, m.node.output];
      const full = (await db.pool.query(`SELECT input IS NOT DISTINCT FROM $4::jsonb AS i, output IS NOT DISTINCT FROM $5::jsonb AS o,
          tool_definitions IS NOT DISTINCT FROM $6::jsonb AS t
        FROM runledger.nodes_full WHERE tenant_id = $1 AND run_id = $2::uuid AND node_id = $3`, [...args, m.node.toolDefinitions])).rows[0];
      expect(full, `${s.tenantId} ${s.name}`).toEqual({ i: true, o: true, t: true });
      const compat = (await db.pool.query(`SELECT input IS NOT DISTINCT FROM $4::jsonb AS i, output IS NOT DISTINCT FROM $5::jsonb AS o
        FROM compat.ledger_nodes WHERE tenant_id = $1 AND run_id = $2::uuid AND node_id = $3`, args)).rows[0];
      if (compat !== undefined) expect(compat, `${s.tenantId} ${s.name}`).toEqual({ i: true, o: true });
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('resolves references inside the query\'s own plan, without a function call per row (sql/017)', async () => {
    // 015's node_content() holds a subquery, so PostgreSQL never inlined it: each call ran an executor of its
    // own over every spans partition (~0.5 ms a node at 2M spans, bench/analyst.ts).
    const plans: Record<string, string> = {};
    for (const [name, q] of Object.entries({
      nodes_full: 'SELECT input, output, tool_definitions FROM runledger.nodes_full',
      ledger_nodes: 'SELECT input, output FROM compat.ledger_nodes',
      ledger_runs: 'SELECT run_input, run_output FROM compat.ledger_runs',
      step_runs: 'SELECT input, output FROM compat.step_runs',
    })) {
      plans[name] = (await db.pool.query(`EXPLAIN (VERBOSE, COSTS OFF) ${q}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plans[name], name).toMatch(/s(_\d+)?\.attributes/);  // the span is read in the plan
      expect(plans[name], name).not.toMatch(/node_content\(|ref_content\(/);
    }
    // the function stays for other callers, and agrees with the views
    const differ = (await db.pool.query(`SELECT count(*)::int AS n FROM runledger.nodes n JOIN runledger.nodes_full f
        USING (tenant_id, run_id, node_id, start_time)
      WHERE runledger.node_content(n.input, n.input_ref, n.tenant_id, n.run_id, n.node_id, n.start_time) IS DISTINCT FROM f.input
         OR runledger.node_content(n.output, n.output_ref, n.tenant_id, n.run_id, n.node_id, n.start_time) IS DISTINCT FROM f.output
         OR runledger.node_content(n.tool_definitions, n.tool_definitions_ref, n.tenant_id, n.run_id, n.node_id, n.start_time)
            IS DISTINCT FROM f.tool_definitions`)).rows[0].n;
    expect(differ).toBe(0);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM runledger.nodes WHERE input_ref LIKE 'flat:%'`)).rows[0].n).toBeGreaterThan(0);
  });

  it('resolves the runs\' input / output node references to content, also after repair recreates the runs', async () => {
    const q = `SELECT r.tenant_id, r.run_id, r.input_node_id, r.output_node_id,
        (SELECT n.input FROM runledger.nodes_full n WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id
           AND n.node_id = r.input_node_id AND n.start_time = r.input_start_time) AS input,
        (SELECT n.output FROM runledger.nodes_full n WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id
           AND n.node_id = r.output_node_id AND n.start_time = r.output_start_time) AS output
      FROM runledger.runs r ORDER BY 1, 2`;
    const before = (await db.pool.query(q)).rows;
    // a run whose input node's content is a reference
    const viaRef = (await db.pool.query(`SELECT count(*)::int AS n FROM runledger.runs r JOIN runledger.nodes n
      ON n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.node_id = r.input_node_id WHERE n.input_ref IS NOT NULL`)).rows[0].n;
    expect(viaRef).toBeGreaterThan(0);
    for (const r of before) {
      if (r.input_node_id !== null) expect(r.input).not.toBeNull();
      if (r.output_node_id !== null) expect(r.output).not.toBeNull();
    }
    await db.pool.query('DELETE FROM runledger.runs');
    await repair(db.pool, {});
    expect((await db.pool.query(q)).rows).toEqual(before);
  });

  it('changes nothing when the same spans are sent again', async () => {
    const before = await snapshot();
    await write(all);
    await write(all.slice(0, 40));
    expect(await snapshot()).toEqual(before);
  });
});

describe('every view', () => {
  it('returns the same rows as when every node stored its content (the layout before sql/015)', async () => {
    const views = (await db.pool.query(`SELECT table_schema || '.' || table_name AS v FROM information_schema.views
      WHERE table_schema IN ('runledger', 'compat') ORDER BY 1`)).rows.map((r) => r.v as string);
    expect(views).toContain('compat.ledger_nodes');
    const strip = ['created_at', 'updated_at', 'ingested_at', 'queued_at', 'input_ref', 'output_ref', 'tool_definitions_ref']
      .map((k) => ` - '${k}'`).join('');
    const snap = async () => {
      const out: Record<string, string[]> = {};
      for (const v of views) out[v] = (await db.pool.query(`SELECT (to_jsonb(x)${strip})::text AS j FROM ${v} x`)).rows.map((r) => r.j).sort();
      return out;
    };
    const refs = Number((await db.pool.query(`SELECT count(*) AS n FROM runledger.nodes
      WHERE input_ref IS NOT NULL OR output_ref IS NOT NULL OR tool_definitions_ref IS NOT NULL`)).rows[0].n);
    expect(refs).toBeGreaterThan(40);
    const withRefs = await snap();
    await db.pool.query(`UPDATE runledger.nodes n SET input = f.input, output = f.output, tool_definitions = f.tool_definitions,
        input_ref = NULL, output_ref = NULL, tool_definitions_ref = NULL
      FROM runledger.nodes_full f WHERE f.tenant_id = n.tenant_id AND f.run_id = n.run_id AND f.node_id = n.node_id
        AND f.start_time = n.start_time AND (n.input_ref IS NOT NULL OR n.output_ref IS NOT NULL OR n.tool_definitions_ref IS NOT NULL)`);
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM runledger.nodes WHERE input_ref IS NOT NULL')).rows[0].n)).toBe(0);
    expect(await snap()).toEqual(withRefs);
  });
});

describe('truncated content', () => {
  it('is stored truncated on the node while the span keeps the whole text', async () => {
    const text = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'x'.repeat(20_000) }] }]);
    const span: SpanRecord = {
      ...fixtures[0]!.mapped[0]!.span, tenantId: 'trunc', traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), parentSpanId: null, name: 'chat',
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.input.messages': text,
        'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]' },
      events: [], links: [],
    };
    await write([createMapper({ prices, captureContent: true, maxContentChars: 1000 })(span)]);
    const row = (await db.pool.query(`SELECT n.input_ref, n.output_ref, n.input ->> 'truncated' AS truncated, (n.input ->> 'length')::int AS length,
        f.output, s.attributes ->> 'gen_ai.input.messages' AS raw
      FROM runledger.nodes n JOIN runledger.nodes_full f USING (tenant_id, run_id, node_id, start_time)
      JOIN runledger.spans s ON s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time
      WHERE n.tenant_id = 'trunc'`)).rows[0];
    expect(row).toMatchObject({ input_ref: null, output_ref: 'json:gen_ai.output.messages', truncated: 'true', length: text.length });
    expect(row.output).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'ok' }] }]);
    expect(row.raw).toBe(text);
  });
});

describe('storedForm', () => {
  const form = (text: string, jsonEncoded: boolean, max = 100) => {
    const out = { ref: null as ContentRef | null };
    const json = storedForm({ text, json: null, jsonEncoded, key: 'k' }, max, out);
    return { json, ref: out.ref?.ref ?? null };
  };
  it('names the attribute whose string is the content, verbatim (json:) or as a JSON string (text:)', () => {
    expect(form('[{"a":1}]', true)).toEqual({ json: '[{"a":1}]', ref: 'json:k' });
    expect(form('plain "quoted"', false)).toEqual({ json: JSON.stringify('plain "quoted"'), ref: 'text:k' });
    expect(form('x'.repeat(101), false).ref).toBeNull(); // truncated: a stored copy
    expect(storedForm({ text: '[1]', json: '[1]', jsonEncoded: true }, 100, { ref: null })).toBe('[1]'); // serialised: no key
  });
  it('keeps a stored copy of text jsonb would refuse or mend (the write fails or mends it as before)', () => {
    expect(form('[1e100000]', true).ref).toBeNull();
    expect(form('[1' + '0'.repeat(1000) + ']', true).ref).toBeNull();
    expect(form('[1e999, 2.5e-10]', true).ref).toBe('json:k');
    expect(form('["a\\\\u0000"]', true).ref).toBe('json:k'); // an escaped backslash, then the text u0000
    expect(form('["a\\u0000"]', true)).toEqual({ json: '["a\\ufffd"]', ref: null }); // the escape jsonb refuses, mended
  });
});
