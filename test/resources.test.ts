/**
 * Resources stored once (sql/014) against real PostgreSQL: re-sends and tenants, the raw-span view, a
 * rolled-back batch and the committed-keys cache, row-level security, plans, retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { writeBatch } from '../src/sink/writer.js';
import { ResourceCache, resourceRef } from '../src/sink/resources.js';
import { RAW_SPAN_COLUMNS } from '../src/sink/encoder.js';
import { DayPartitions, dayOf } from '../src/sink/partitions.js';
import { applyRetention } from '../src/maintenance/retention.js';
import type { Attributes } from '../src/otlp/types.js';
import type { PreparedSpan } from '../src/sink/prepare.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { startTestGateway } from './helpers/gateway.js';
import { hex, mapped, node, span, writeAll } from './helpers/spans.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('resources'); });
afterAll(async () => { await db?.drop(); });

const DAY = 86_400_000_000;
const MIDNIGHT = dayOf(Date.now() * 1000) * DAY;
const parts = new DayPartitions({ backfillDays: 30 });

/** What an SDK in a pod sends (the kind of resource issue 14 measured at ~600 B). */
const sdkResource = (over: Attributes = {}): Attributes => ({
  'service.name': 'agent', 'service.version': '2.14.3', 'service.instance.id': hex(16), 'telemetry.sdk.name': 'opentelemetry',
  'telemetry.sdk.language': 'python', 'telemetry.sdk.version': '1.27.0', 'process.pid': 4127, 'host.name': 'agent-7d9f8c6b5-x2kqp',
  'k8s.pod.uid': 'a1b2c3d4-e5f6-4789-abcd-ef0123456789', 'x.list': ['a', 'b'], 'x.map': { k: 1, j: true }, ...over,
});

/** A two-span run (agent over LLM) of `tenantId` with `resource` (one object for both spans, as decoded). */
function run(tenantId: string, resource: Attributes, startUs = MIDNIGHT + 3_600_000_000, llm: Partial<Parameters<typeof node>[0]> = {}) {
  const traceId = hex(16);
  const root = hex(8);
  return [
    mapped(span({ traceId, spanId: root, name: 'agent', tenantId, resource, startUs, endUs: startUs + 5000, attributes: { 'gen_ai.agent.name': 'a' } }),
      node({ nodeType: 'AGENT' })),
    mapped(span({ traceId, spanId: hex(8), parentSpanId: root, name: 'llm', tenantId, resource, startUs: startUs + 1000, endUs: startUs + 2000,
      events: [{ name: 'e', timeUs: startUs + 1500, attributes: { k: 'v' } }] }),
    node({ nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 3, totalTokens: 3, ...llm })),
  ];
}

async function write(items: PreparedSpan[], cache: ResourceCache) {
  const c = await db.pool.connect();
  try { return await writeAll((x) => writeBatch(c, x, parts, { logContentChars: null, resources: cache }), items); } finally { c.release(); }
}

const resources = async (hash: string) =>
  (await db.pool.query(`SELECT tenant_id, resource, max_span_day::text AS day FROM runledger.resources
    WHERE resource_hash = $1 ORDER BY tenant_id`, [hash])).rows;

describe('resources stored once', () => {
  it('stores a resource once per tenant however often it is sent, and span rows only its key', async () => {
    const r = sdkResource();
    const ref = resourceRef(r);
    const cache = new ResourceCache();
    const a = run('t-once', r);
    expect(await write(a, cache)).toEqual({ inserted: 2, duplicates: 0 });
    expect(await write(run('t-once', r), cache)).toEqual({ inserted: 2, duplicates: 0 }); // known: not written again
    expect(await write(a, new ResourceCache())).toEqual({ inserted: 0, duplicates: 2 }); // a re-send through another gateway
    // the same attributes in another order (another SDK, another gateway): the same key
    const reordered = Object.fromEntries(Object.entries(r).reverse());
    expect(await write(run('t-once', reordered), new ResourceCache())).toEqual({ inserted: 2, duplicates: 0 });
    const rows = await resources(ref.hash);
    expect(rows).toEqual([{ tenant_id: 't-once', resource: r, day: new Date(MIDNIGHT / 1000).toISOString().slice(0, 10) }]);
    const spans = await db.pool.query(`SELECT resource, replace(resource_hash::text, '-', '') AS hash FROM runledger.spans WHERE tenant_id = 't-once'`);
    expect(spans.rows).toHaveLength(6);
    for (const s of spans.rows) expect(s).toEqual({ resource: null, hash: ref.hash });
  });

  it('keeps two tenants sending the same resource apart: equal keys, separate rows, neither changes the other', async () => {
    const r = sdkResource();
    const { hash } = resourceRef(r);
    await write(run('t-acme', r), new ResourceCache());
    // globex sends the same resource with spans of a later day: its row has the later day, acme's is left as it was
    await write(run('t-globex', r, MIDNIGHT + DAY + 3_600_000_000), new ResourceCache());
    const rows = await resources(hash);
    expect(rows.map((x) => [x.tenant_id, x.day])).toEqual([
      ['t-acme', new Date(MIDNIGHT / 1000).toISOString().slice(0, 10)],
      ['t-globex', new Date((MIDNIGHT + DAY) / 1000).toISOString().slice(0, 10)],
    ]);
    expect(rows[0].resource).toEqual(r);
    expect(rows[1].resource).toEqual(r);
  });

  it('runledger.raw_spans gives the span as sent: the same row as a span stored with its resource inline', async () => {
    const r = sdkResource({ 'deployment.environment.name': 'prod' });
    const items = run('t-raw', r);
    await write(items, new ResourceCache());
    const traceId = items[0]!.span.traceId;
    // the row a gateway before sql/014 wrote: its resource inline, no key (a copy of the LLM span under another id)
    const legacy = hex(8);
    await db.pool.query(`INSERT INTO runledger.spans (${RAW_SPAN_COLUMNS.join(', ')}, ingested_at)
      SELECT trace_id, $2, parent_span_id, tenant_id, name, kind, start_time, end_time, status_code, status_message, service_name,
        scope_name, attributes, $3::jsonb, events, links, ingested_at
      FROM runledger.spans WHERE tenant_id = 't-raw' AND trace_id = $1 AND span_id = $4`, [traceId, legacy, JSON.stringify(r), items[1]!.span.spanId]);
    const raw = await db.pool.query(`SELECT * FROM runledger.raw_spans WHERE tenant_id = 't-raw' AND trace_id = $1 ORDER BY span_id`, [traceId]);
    expect(raw.fields.map((f) => f.name)).toEqual([...RAW_SPAN_COLUMNS, 'ingested_at']);
    const bySpan = new Map(raw.rows.map((x) => [x.span_id as string, x]));
    const fresh = bySpan.get(items[1]!.span.spanId)!;
    const old = bySpan.get(legacy)!;
    expect({ ...fresh, span_id: legacy }).toEqual(old);
    // and the values sent (golden)
    expect(fresh).toMatchObject({
      parent_span_id: items[0]!.span.spanId, tenant_id: 't-raw', name: 'llm', kind: 'INTERNAL', status_code: 'UNSET', status_message: null,
      service_name: 'svc', scope_name: 'test', attributes: {}, resource: r, links: null,
      events: [{ name: 'e', timeUs: MIDNIGHT + 3_600_000_000 + 1500, attributes: { k: 'v' } }],
    });
    expect(bySpan.get(items[0]!.span.spanId)!.resource).toEqual(r);
    // compat.ledger_runs reads the root's service.version through raw_spans
    const v = await db.pool.query(`SELECT service_version FROM compat.ledger_runs WHERE tenant_id = 't-raw' AND run_id = $1`, [traceId]);
    expect(v.rows).toEqual([{ service_version: '2.14.3' }]);
  });

  it('a rolled-back batch leaves its resource stored (before its transaction) and the cache saying only what is committed', async () => {
    const r = sdkResource();
    const { hash } = resourceRef(r);
    const cache = new ResourceCache();
    const good = run('t-rollback', r);
    const bad = run('t-rollback', r, MIDNIGHT + 3_600_000_000, { inputTokens: 1e20 }); // bigint out of range: the COPY of nodes fails
    const c = await db.pool.connect();
    try {
      await expect(writeBatch(c, [...good, ...bad], parts, { logContentChars: null, resources: cache })).rejects.toMatchObject({ code: '22003' });
    } finally { c.release(); }
    // The resource was committed in its own statement before the batch's transaction (src/sink/writer.ts): a row
    // without spans, which retention removes with its day; the cache knows it because it is committed.
    expect((await resources(hash)).map((x) => x.tenant_id)).toEqual(['t-rollback']);
    expect(cache.knows('t-rollback', hash)).toBe(true);
    expect(await db.pool.query(`SELECT 1 FROM runledger.spans WHERE tenant_id = 't-rollback'`).then((x) => x.rowCount)).toBe(0);
    // the good spans alone, with the same cache: they reference the stored row
    expect(await write(good, cache)).toEqual({ inserted: 2, duplicates: 0 });
    expect(cache.knows('t-rollback', hash)).toBe(true);
    expect((await resources(hash)).map((x) => x.tenant_id)).toEqual(['t-rollback']);
    const raw = await db.pool.query(`SELECT count(*)::int AS n FROM runledger.raw_spans WHERE tenant_id = 't-rollback' AND resource = $1::jsonb`, [JSON.stringify(r)]);
    expect(raw.rows[0].n).toBe(2);
  });
});

describe('row-level security on resources', () => {
  const r = sdkResource();
  const { hash } = resourceRef(r);
  beforeAll(async () => {
    await write(run('rls-a', r), new ResourceCache());
    await write(run('rls-b', r), new ResourceCache());
  });

  /** As runledger_analyst with runledger.tenant_id = tenant. */
  async function asAnalyst<T>(tenant: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE runledger_analyst');
      await c.query(`SELECT set_config('runledger.tenant_id', $1, true)`, [tenant]);
      return await fn(c);
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      await c.end();
    }
  }

  it("lets an analyst read their tenant's resources and raw spans, and none of another tenant's", async () => {
    for (const [me, other] of [['rls-a', 'rls-b'], ['rls-b', 'rls-a']] as const) {
      await asAnalyst(me, async (c) => {
        const rows = (await c.query(`SELECT tenant_id, resource FROM runledger.resources WHERE resource_hash = $1`, [hash])).rows;
        expect(rows).toEqual([{ tenant_id: me, resource: r }]);
        const raw = (await c.query(`SELECT tenant_id, resource FROM runledger.raw_spans WHERE tenant_id IN ('rls-a', 'rls-b')`)).rows;
        expect(raw).toEqual([{ tenant_id: me, resource: r }, { tenant_id: me, resource: r }]);
        expect((await c.query(`SELECT count(*)::int AS n FROM runledger.resources WHERE tenant_id = $1`, [other])).rows[0].n).toBe(0);
      });
    }
    // and may not write them
    await asAnalyst('rls-a', async (c) => {
      await expect(c.query(`UPDATE runledger.resources SET resource = '{}' WHERE tenant_id = 'rls-b'`)).rejects.toMatchObject({ code: '42501' });
    });
  });
});

describe('raw_spans plans', () => {
  /** The relations a plan reads, as EXPLAIN names them. */
  async function scans(sql: string, params: unknown[]): Promise<string[]> {
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL enable_seqscan = off');
      const plan = (await c.query(`EXPLAIN (COSTS OFF, FORMAT JSON) ${sql}`, params)).rows[0]['QUERY PLAN'];
      const out: string[] = [];
      const walk = (n: Record<string, unknown>) => {
        if (n['Relation Name']) out.push(`${n['Node Type']} ${n['Relation Name']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`);
        for (const k of (n['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(k);
      };
      walk(plan[0].Plan);
      return out.sort();
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  }

  it('prunes partitions and reads the spans primary key as a lookup on spans does; joins resources only when read', async () => {
    const items = run('t-plan', sdkResource(), MIDNIGHT - 2 * DAY + 3_600_000_000);
    await write(items, new ResourceCache());
    await write(run('t-plan', sdkResource(), MIDNIGHT + 3_600_000_000), new ResourceCache());
    const where = `WHERE tenant_id = 't-plan' AND trace_id = $1 AND start_time >= $2 AND start_time < $3`;
    const params = [items[0]!.span.traceId, new Date((MIDNIGHT - 2 * DAY) / 1000), new Date((MIDNIGHT - DAY) / 1000)];
    const base = await scans(`SELECT * FROM runledger.spans ${where}`, params);
    expect(base).toHaveLength(1); // one day's partition, through its primary key
    expect(base[0]).toMatch(/^Index (Only )?Scan spans_\d{8} using spans_\d{8}_pkey$/);
    const raw = await scans(`SELECT * FROM runledger.raw_spans ${where}`, params);
    expect(raw.filter((s) => !s.includes('resources'))).toEqual(base);
    expect(raw.filter((s) => s.includes('resources'))).toEqual(['Index Scan resources using resources_pkey']);
    expect(await scans(`SELECT span_id, name FROM runledger.raw_spans ${where}`, params)).toEqual(
      await scans(`SELECT span_id, name FROM runledger.spans ${where}`, params));
    // and by trace alone (no time bounds), as the analysts' trace look-up does
    const byTrace = `WHERE tenant_id = 't-plan' AND trace_id = $1`;
    const all = await scans(`SELECT * FROM runledger.spans ${byTrace}`, [params[0]]);
    expect((await scans(`SELECT * FROM runledger.raw_spans ${byTrace}`, [params[0]])).filter((s) => !s.includes('resources'))).toEqual(all);
    expect(all.every((s) => /_pkey$/.test(s))).toBe(true);
  });
});

describe('retention of resources', () => {
  it('deletes the resources whose spans are all gone, keeps those of spans kept', async () => {
    const oldOnly = sdkResource({ 'service.name': 'old-only' });
    const both = sdkResource({ 'service.name': 'both' });
    await write(run('t-ret', oldOnly, MIDNIGHT - 10 * DAY + 3_600_000_000), new ResourceCache());
    await write(run('t-ret', both, MIDNIGHT - 10 * DAY + 3_600_000_000), new ResourceCache());
    const kept = run('t-ret', both, MIDNIGHT - DAY + 3_600_000_000);
    await write(kept, new ResourceCache());
    const before = Number((await db.pool.query(`SELECT count(*) AS n FROM runledger.resources`)).rows[0].n);
    const dry = await applyRetention(db.pool, { olderThan: new Date((MIDNIGHT - 5 * DAY) / 1000), dryRun: true });
    expect(dry.resources).toBe(1); // old-only: both has a span kept
    const res = await applyRetention(db.pool, { olderThan: new Date((MIDNIGHT - 5 * DAY) / 1000) });
    expect(res.resources).toBe(dry.resources);
    expect(await resources(resourceRef(oldOnly).hash)).toEqual([]);
    expect((await resources(resourceRef(both).hash)).map((x) => x.tenant_id)).toEqual(['t-ret']);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM runledger.resources`)).rows[0].n)).toBe(before - res.resources);
    // every span left still finds its resource
    const orphans = await db.pool.query(`SELECT count(*)::int AS n FROM runledger.raw_spans WHERE resource IS NULL`);
    expect(orphans.rows[0].n).toBe(0);
    const raw = await db.pool.query(`SELECT resource FROM runledger.raw_spans WHERE tenant_id = 't-ret'`);
    expect(raw.rows).toEqual([{ resource: both }, { resource: both }]);
  });
});

describe('through the gateway (prepare workers, transfer to the writer)', () => {
  it('stores each resource of a request once, keyed alike whatever the attribute order, and raw_spans gives each span its own', async () => {
    const gw = await startTestGateway();
    try {
      const attrs = [
        { key: 'service.name', value: { stringValue: 'svc-a' } }, { key: 'process.pid', value: { intValue: '4127' } },
        { key: 'x.flag', value: { boolValue: true } }, { key: 'x.list', value: { arrayValue: { values: [{ stringValue: 'p' }, { doubleValue: 1.5 }] } } },
      ];
      const sent = { 'service.name': 'svc-a', 'process.pid': 4127, 'x.flag': true, 'x.list': ['p', 1.5] };
      const traceId = hex(16);
      const spans = (names: string[]) => names.map((name) => ({
        traceId, spanId: hex(8), name, kind: 1, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000',
      }));
      const body = (resourceSpans: unknown[]) => JSON.stringify({ resourceSpans });
      const post = (b: string) => fetch(gw.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
      expect((await post(body([
        { resource: { attributes: attrs }, scopeSpans: [{ scope: { name: 's' }, spans: spans(['a1', 'a2']) }] },
        { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc-b' } }] }, scopeSpans: [{ scope: { name: 's' }, spans: spans(['b1']) }] },
        { resource: { attributes: [...attrs].reverse() }, scopeSpans: [{ scope: { name: 's' }, spans: spans(['a3']) }] },
      ]))).status).toBe(200);
      const rows = await gw.db.pool.query(`SELECT resource FROM runledger.resources ORDER BY resource->>'service.name'`);
      expect(rows.rows).toEqual([{ resource: sent }, { resource: { 'service.name': 'svc-b' } }]);
      const raw = await gw.db.pool.query(`SELECT name, resource FROM runledger.raw_spans WHERE trace_id = $1 ORDER BY name`, [traceId]);
      expect(raw.rows).toEqual([
        { name: 'a1', resource: sent }, { name: 'a2', resource: sent }, { name: 'a3', resource: sent },
        { name: 'b1', resource: { 'service.name': 'svc-b' } },
      ]);
      const keys = await gw.db.pool.query(`SELECT count(DISTINCT resource_hash)::int AS n, count(*) FILTER (WHERE resource IS NOT NULL)::int AS inline
        FROM runledger.spans WHERE trace_id = $1`, [traceId]);
      expect(keys.rows[0]).toEqual({ n: 2, inline: 0 });
    } finally {
      await gw.close();
    }
  });
});
