/**
 * Content once (sql/015), measured: a content-heavy mix of agent runs written through the writer, then the
 * same rows laid out three ways in plain tables — before (nodes copy their content), A (nodes reference span
 * attributes: what sql/015 does) and B (nodes keep the exact raw text, spans drop it) — with each layout's
 * bytes per span, PostgreSQL CPU to load it (binary COPY) and to read every node's content.
 *
 *   npm run build && DATABASE_URL=postgres://... BENCH_SPANS=40000 node dist/bench/content-once.js
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createMapper, loadPriceTable } from '../src/mapping/index.js';
import { prepareBody } from '../src/worker/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import { DayPartitions } from '../src/sink/partitions.js';
import { opentelemetry } from '../src/otlp/gen/otlp.js';
import { int, startRun, str, type Attr } from './otlp-run.js';

const v1 = opentelemetry.proto.collector.trace.v1;
const TOTAL = Number(process.env.BENCH_SPANS ?? 40_000);
const SPANS_PER_RUN = 8;

// Text like prose from a seeded generator: a 4,000-word vocabulary of random letters with Zipf-like use, so it
// compresses about as real prompts do under pglz (~1.5x; a 60-word vocabulary compresses 3x and flatters every
// layout).
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const WORDS = Array.from({ length: 4000 }, () => {
  let w = '';
  for (let n = 2 + Math.floor(rnd() * 9); n > 0; n--) w += String.fromCharCode(97 + Math.floor(rnd() * 26));
  return w;
});
function prose(chars: number): string {
  let s = '';
  while (s.length < chars) s += WORDS[Math.floor(rnd() ** 2 * WORDS.length)] + (rnd() < 0.08 ? '. ' : ' ');
  return s.slice(0, chars);
}
const size = (lo: number, hi: number) => Math.floor(lo + rnd() * (hi - lo));

// The tools an agent offers on every call (~1.2 KB), as OTel's gen_ai.tool.definitions JSON string.
const TOOLS = JSON.stringify(['web_search', 'fetch_page', 'cite'].map((name) => ({ type: 'function', name, description: prose(200),
  parameters: { type: 'object', properties: { query: { type: 'string', description: prose(80) }, top_k: { type: 'integer' } }, required: ['query'] } })));

/** An agent run of 8 spans: OTel GenAI, OpenLLMetry (flattened), OpenInference, Vercel AI SDK, two tools, HTTP. */
function agentRun(): Record<string, unknown>[] {
  const { root, spans, add: addSpan } = startRun();
  const add = (name: string, parent: Buffer | null, offsetMs: number, attributes: Attr[]) =>
    addSpan(name, parent, offsetMs, 900, attributes); // every span of this mix lasts 900 ms
  const usage = [int('gen_ai.usage.input_tokens', 900), int('gen_ai.usage.output_tokens', 200)];
  add('invoke_agent researcher', null, 0, [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'researcher'),
    str('gen_ai.system_instructions', JSON.stringify([{ type: 'text', content: prose(300) }]))]);
  add('chat gpt-4o-mini', root, 10, [str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'),
    str('gen_ai.request.model', 'gpt-4o-mini'), ...usage, str('gen_ai.tool.definitions', TOOLS),
    str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: prose(size(500, 8000)) }] }])),
    str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: prose(size(500, 4000)) }], finish_reason: 'stop' }]))]);
  add('openai.chat', root, 1000, [str('llm.request.type', 'chat'), str('gen_ai.system', 'openai'), str('gen_ai.request.model', 'gpt-4o'),
    int('gen_ai.usage.prompt_tokens', 900), int('gen_ai.usage.completion_tokens', 200),
    str('gen_ai.prompt.0.role', 'system'), str('gen_ai.prompt.0.content', prose(300)),
    str('gen_ai.prompt.1.role', 'user'), str('gen_ai.prompt.1.content', prose(size(500, 8000))),
    str('gen_ai.completion.0.role', 'assistant'), str('gen_ai.completion.0.content', prose(size(500, 4000)))]);
  const oiIn = prose(size(500, 8000));
  const oiOut = prose(size(500, 4000));
  add('ChatCompletion', root, 2000, [str('openinference.span.kind', 'LLM'), str('llm.model_name', 'gpt-4o'),
    int('llm.token_count.prompt', 900), int('llm.token_count.completion', 200),
    str('input.value', JSON.stringify({ messages: [{ role: 'user', content: oiIn }], model: 'gpt-4o' })), str('input.mime_type', 'application/json'),
    str('output.value', oiOut), str('output.mime_type', 'text/plain'),
    str('llm.input_messages.0.message.role', 'user'), str('llm.input_messages.0.message.content', oiIn),
    str('llm.output_messages.0.message.role', 'assistant'), str('llm.output_messages.0.message.content', oiOut)]);
  add('ai.generateText.doGenerate', root, 3000, [str('ai.operationId', 'ai.generateText.doGenerate'), str('ai.model.id', 'gpt-4o-mini'),
    str('ai.model.provider', 'openai.chat'), int('ai.usage.promptTokens', 900), int('ai.usage.completionTokens', 200),
    str('ai.prompt.messages', JSON.stringify([{ role: 'user', content: [{ type: 'text', text: prose(size(500, 8000)) }] }])),
    str('ai.response.text', prose(size(500, 4000)))]);
  for (let i = 0; i < 2; i++) {
    add('execute_tool web_search', root, 4000 + i * 1000, [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'web_search'),
      str('gen_ai.tool.call.id', 'call_' + i), str('gen_ai.tool.call.arguments', JSON.stringify({ query: prose(size(40, 200)), top_k: 5 })),
      str('gen_ai.tool.call.result', JSON.stringify([{ title: prose(60), snippet: prose(size(400, 2000)), score: 0.91 }]))]);
  }
  add('GET', root, 6000, [str('http.request.method', 'GET'), str('url.full', 'https://search.example/api?q=rag'), int('http.response.status_code', 200)]);
  return spans;
}

function encodedRequest(runs: number): Uint8Array {
  const spans = [];
  for (let i = 0; i < runs; i++) spans.push(...agentRun());
  const req = v1.ExportTraceServiceRequest.create({ resourceSpans: [{
    resource: { attributes: [str('service.name', 'bench-agent')] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] }] } as never);
  return v1.ExportTraceServiceRequest.encode(req).finish();
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** the attribute a json:/text: reference names ('' for none: `attributes - ''` removes nothing) */
const rawKey = (col: string) => `CASE WHEN left(n.${col}_ref, 5) IN ('json:', 'text:') THEN substr(n.${col}_ref, 6) ELSE '' END`;

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL: a database to fill (its runledger schema is written)');
  await migrate(url);
  const mapper = createMapper({ prices: loadPriceTable(), captureContent: true, maxContentChars: 16_384 });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const c = client as unknown as pg.PoolClient;
  const q = (sql: string) => client.query(sql);
  let wire = 0;
  const partitions = new DayPartitions();
  for (let n = 0; n < TOTAL; n += 512) {
    const body = encodedRequest(512 / SPANS_PER_RUN);
    wire += body.length;
    const items = prepareBody(body, 'proto', 'bench', mapper).items;
    for (let i = 0; i < items.length; i += 1024) await writeBatch(c, items.slice(i, i + 1024), partitions);
  }
  const spans = Number((await q('SELECT count(*) AS n FROM runledger.spans')).rows[0].n);
  const refs = (await q(`SELECT count(*) FILTER (WHERE input_ref IS NOT NULL) AS ir, count(*) FILTER (WHERE input IS NOT NULL) AS ic,
    count(*) FILTER (WHERE output_ref IS NOT NULL) AS orf, count(*) FILTER (WHERE output IS NOT NULL) AS oc,
    count(*) FILTER (WHERE tool_definitions_ref IS NOT NULL) AS tr FROM runledger.nodes`)).rows[0];
  const out: string[] = [`content-once: ${spans} spans, ${(wire / spans).toFixed(0)} B/span OTLP protobuf on the wire`,
    `  nodes: input ${refs.ir} references / ${refs.ic} stored; output ${refs.orf} references / ${refs.oc} stored; tool definitions ${refs.tr} references`];

  const cols = (await q(`SELECT attname FROM pg_attribute WHERE attrelid = 'runledger.nodes'::regclass AND attnum > 0
    AND NOT attisdropped AND attname NOT IN ('input_ref', 'output_ref', 'tool_definitions_ref') ORDER BY attnum`)).rows.map((r) => 'n.' + r.attname);
  // The three layouts as plain tables (primary keys as the ledger's), loaded by binary COPY from files.
  const layouts: Record<string, { spans: string; nodes: string; read: string }> = {
    before: {
      spans: 'SELECT * FROM runledger.spans',
      nodes: `SELECT ${cols.join(', ')} FROM runledger.nodes_full n`,
      read: 'SELECT sum(length(n.input::text)) + sum(length(n.output::text)) FROM L_nodes n',
    },
    A: {
      spans: 'SELECT * FROM runledger.spans',
      nodes: 'SELECT n.* FROM runledger.nodes n',
      read: '', // measured through runledger.nodes_full below (it reads the ledger's spans)
    },
    // B: the raw text moves to the node (text, exact); the span's attributes lose the key.
    B: {
      spans: `SELECT s.trace_id, s.span_id, s.parent_span_id, s.tenant_id, s.name, s.kind, s.start_time, s.end_time, s.status_code,
        s.status_message, s.service_name, s.scope_name,
        s.attributes - ${rawKey('input')} - ${rawKey('output')} - ${rawKey('tool_definitions')} AS attributes,
        s.resource, s.events, s.links, s.ingested_at
        FROM runledger.spans s LEFT JOIN runledger.nodes n ON n.tenant_id = s.tenant_id AND n.run_id = s.trace_id
          AND n.node_id = s.span_id AND n.start_time = s.start_time`,
      // flattened ('flat:') content has no one attribute to move: it stays stored on the node, as before
      nodes: `SELECT ${cols.map((c) => ['n.input', 'n.output', 'n.tool_definitions'].includes(c)
          ? `CASE WHEN left(${c}_ref, 5) IN ('json:', 'text:') THEN NULL ELSE ${c} END AS ${c.slice(2)}` : c).join(', ')},
          n.input_ref, n.output_ref, n.tool_definitions_ref,
          s.attributes ->> ${rawKey('input')} AS input_raw, s.attributes ->> ${rawKey('output')} AS output_raw,
          s.attributes ->> ${rawKey('tool_definitions')} AS tools_raw
        FROM runledger.nodes_full n JOIN runledger.spans s ON n.tenant_id = s.tenant_id AND n.run_id = s.trace_id
          AND n.node_id = s.span_id AND n.start_time = s.start_time`,
      read: `SELECT sum(length(coalesce(n.input, CASE WHEN left(n.input_ref, 5) = 'json:' THEN n.input_raw::jsonb ELSE to_jsonb(n.input_raw) END)::text))
        + sum(length(coalesce(n.output, CASE WHEN left(n.output_ref, 5) = 'json:' THEN n.output_raw::jsonb ELSE to_jsonb(n.output_raw) END)::text))
        FROM L_nodes n`,
    },
  };
  const pid = Number((await q('SELECT pg_backend_pid() AS p')).rows[0].p);
  const size = async (t: string) => Number((await q(`SELECT pg_total_relation_size('${t}') AS b`)).rows[0].b);
  const reads: Record<string, string> = {};
  /** PostgreSQL CPU of a query: the least of three runs after one that warms the cache */
  const minCpu = async (sql: string) => {
    await q(sql);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const c0 = cpuOf(pid);
      await q(sql);
      best = Math.min(best, cpuOf(pid) - c0);
    }
    return best;
  };
  for (const [name, l] of Object.entries(layouts)) {
    await q(`DROP SCHEMA IF EXISTS m_${name} CASCADE; CREATE SCHEMA m_${name}`);
    let loadCpu = 0;
    for (const t of ['spans', 'nodes'] as const) {
      const file = `/tmp/content-once-${name}-${t}.bin`;
      await q(`CREATE TABLE m_${name}.${t} AS ${l[t]} LIMIT 0`);
      await q(`ALTER TABLE m_${name}.${t} ADD PRIMARY KEY (tenant_id, ${t === 'spans' ? 'trace_id, span_id' : 'run_id, node_id'}, start_time)`);
      await q(`COPY (${l[t]}) TO '${file}' (FORMAT binary)`);
      let best = Infinity; // the least of three loads: the machine is shared
      for (let k = 0; k < 3; k++) {
        await q(`TRUNCATE m_${name}.${t}`);
        await q('CHECKPOINT');
        const c0 = cpuOf(pid);
        await q(`COPY m_${name}.${t} FROM '${file}' (FORMAT binary)`);
        best = Math.min(best, cpuOf(pid) - c0);
      }
      loadCpu += best;
      await q(`VACUUM ANALYZE m_${name}.${t}`);
    }
    const bs = await size(`m_${name}.spans`);
    const bn = await size(`m_${name}.nodes`);
    const read = l.read.replaceAll('L_nodes', `m_${name}.nodes`).replaceAll('L_spans', `m_${name}.spans`);
    const readCpu = l.read === '' ? NaN : await minCpu(read);
    const nodes = Number((await q(`SELECT count(*) AS n FROM m_${name}.nodes`)).rows[0].n);
    reads[name] = read;
    out.push(`  ${name.padEnd(6)} spans ${(bs / spans).toFixed(0)} B/span, nodes ${(bn / spans).toFixed(0)} B/span, total ${((bs + bn) / spans).toFixed(0)} B/span` +
      ` (${((bs + bn) / wire).toFixed(2)}x wire); load ${(loadCpu * 1e6 / spans).toFixed(1)} µs PG CPU/span; read all node content ${Number.isNaN(readCpu) ? 'below' : (readCpu * 1e6 / nodes).toFixed(1) + ' µs/node'}`);
  }
  // A as shipped: the content through runledger.nodes_full (the span read in the view's own plan, sql/017).
  const viaView = 'SELECT sum(length(input::text)) + sum(length(output::text)) FROM runledger.nodes_full';
  const nodesAll = Number((await q('SELECT count(*) AS n FROM runledger.nodes')).rows[0].n);
  out.push(`  A through runledger.nodes_full: read all node content ${((await minCpu(viaView)) * 1e6 / nodesAll).toFixed(1)} µs/node`);
  await client.end();
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : String(e)) + '\n');
  process.exit(1);
});
