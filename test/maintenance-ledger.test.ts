/**
 * The maintenance commands (repair, reprice, retention) against the newer storage: node content from GenAI log
 * records and references to span attributes (sql/011, 015), resources stored once (sql/014, 019), pending
 * content and the usage frontier. A ledger written through the gateway must come out of them as it went in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { chatEvents, logsProto, type Rec } from './helpers/logs.js';
import { repair } from '../src/maintenance/repair.js';
import { applyRetention } from '../src/maintenance/retention.js';
import { reprice } from '../src/maintenance/reprice.js';
import { refreshDailyUsage } from '../src/maintenance/daily-usage.js';
import { loadPriceTable } from '../src/mapping/prices.js';
import { GatewayError } from '../src/errors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;

/** A root span and two chat calls: `chat` without content of its own, `refd` with gen_ai.input/output.messages (a reference). */
function spansBody(traceId: string, ids: { root: string; chat: string; refd: string }, which: 'root' | 'chat' | 'all' = 'all', t0 = T0, service = 'svc') {
  const usage = [
    { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }, { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
    { key: 'gen_ai.usage.input_tokens', value: { intValue: '20' } }, { key: 'gen_ai.usage.output_tokens', value: { intValue: '5' } },
  ];
  const refd = [...usage,
    { key: 'gen_ai.input.messages', value: { stringValue: '[{"role":"user","content":"from the span"}]' } },
    { key: 'gen_ai.output.messages', value: { stringValue: '[{"role":"assistant","content":"ok"}]' } }];
  const spans = [
    { traceId, spanId: ids.root, name: 'agent', kind: 1, startTimeUnixNano: String(t0 - 10_000_000n), endTimeUnixNano: String(t0 + 10_000_000n) },
    { traceId, spanId: ids.chat, parentSpanId: ids.root, name: 'chat a', kind: 3, startTimeUnixNano: String(t0 - 1_000_000n),
      endTimeUnixNano: String(t0 + 2_000_000n), attributes: usage },
    { traceId, spanId: ids.refd, parentSpanId: ids.root, name: 'chat b', kind: 3, startTimeUnixNano: String(t0 - 3_000_000n),
      endTimeUnixNano: String(t0 + 1_000_000n), attributes: refd },
  ].filter((s) => which === 'all' || (which === 'root' ? s.spanId === ids.root : s.spanId !== ids.root));
  return Buffer.from(JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }],
  }));
}

async function sendSpans(body: Buffer, tenant = 'default') {
  expect(await gw.pipeline.exportBody(body, 'json', tenant)).toEqual({ rejected: 0, message: '' });
}
async function sendLogs(records: Rec[], tenant = 'default', service = 'svc') {
  expect(await gw.pipeline.exportLogsBody(logsProto(records, service), 'proto', tenant)).toEqual({ rejected: 0, message: '' });
}

/** Everything a run is read by: its nodes (content resolved), its runs row, its frontier, pending content. */
async function snapshot(traceId: string) {
  const q = async (sql: string) => (await gw.db.pool.query(sql, [traceId])).rows;
  return {
    nodes: await q(`SELECT node_id, input, output, prompt_hash, content_source, input_ref, output_ref, usage_counted, call_counted,
      total_cost::text, parent_node_id, parent_missing, depth, step_order, attempt, tree_path FROM runledger.nodes_full WHERE run_id = $1 ORDER BY node_id`),
    run: await q(`SELECT * FROM runledger.runs WHERE run_id = $1`).then((rs) => rs.map(({ updated_at: _u, ...r }) => r)),
    compat: await q(`SELECT run_input, run_output FROM compat.ledger_runs WHERE run_id = $1`),
    frontier: await q(`SELECT * FROM runledger.usage_frontier WHERE trace_id = $1 ORDER BY span_id`),
    pending: await q(`SELECT * FROM runledger.pending_content WHERE run_id = $1`),
  };
}

describe('repair keeps content and references', () => {
  for (const order of ['logs after spans', 'logs before spans'] as const) {
    it(`a run whose node content came from log records (${order}) is unchanged by repair`, async () => {
      const [traceId, root, chat, refd] = [hex(16), hex(8), hex(8), hex(8)];
      const ids = { root, chat, refd };
      if (order === 'logs before spans') await sendLogs(chatEvents(traceId, chat, T0));
      await sendSpans(spansBody(traceId, ids));
      if (order === 'logs after spans') await sendLogs(chatEvents(traceId, chat, T0));
      const before = await snapshot(traceId);
      expect(before.nodes.find((n) => n.node_id === chat)).toMatchObject({ content_source: 'logs' });
      expect(before.nodes.find((n) => n.node_id === refd)!.input_ref).not.toBeNull();
      const r = await repair(gw.db.pool, { runIds: [traceId] });
      expect(await snapshot(traceId)).toEqual(before);
      expect(r.changed).toBe(0);
    });
  }
});

describe('repair of corrupted rollups', () => {
  it('restores the runs row, the frontier and the tree of a run with log and reference content exactly', async () => {
    const [traceId, root, chat, refd] = [hex(16), hex(8), hex(8), hex(8)];
    await sendSpans(spansBody(traceId, { root, chat, refd }, 'chat'));
    await sendLogs(chatEvents(traceId, chat, T0));
    await sendSpans(spansBody(traceId, { root, chat, refd }, 'root'));
    const before = await snapshot(traceId);
    await gw.db.pool.query(`UPDATE runledger.runs SET total_cost = 99, llm_calls = 0, input_node_id = NULL, output_node_id = NULL,
      output_start_time = NULL, output_end_time = NULL, input_start_time = NULL, span_count = 1, status = 'RUNNING', models = '{}' WHERE run_id = $1`, [traceId]);
    await gw.db.pool.query(`UPDATE runledger.nodes SET usage_counted = NOT usage_counted, depth = 7, tree_path = NULL WHERE run_id = $1`, [traceId]);
    await gw.db.pool.query(`INSERT INTO runledger.usage_frontier (tenant_id, trace_id, span_id, parent_span_id, mask)
      VALUES ('default', $1, $2, 'ffffffffffffffff', 1)`, [traceId, chat]);
    await repair(gw.db.pool, { runIds: [traceId] });
    expect(await snapshot(traceId)).toEqual(before);
    expect((await repair(gw.db.pool, { runIds: [traceId] })).changed).toBe(0);
  });
});

const DAY_NS = 86_400_000_000_000n;
const count = async (sql: string, params: unknown[] = []) => Number((await gw.db.pool.query(sql, params)).rows[0].n);

describe('retention over content, resources and pending content', () => {
  it('removes the expired days and what only they reference, and keeps the rest exactly', async () => {
    // 40 days ago (default partitions) and 20 days ago (day partitions), cutoff 15 days ago
    const old = [40n, 20n].map((d) => ({ traceId: hex(16), ids: { root: hex(8), chat: hex(8), refd: hex(8) }, t0: T0 - d * DAY_NS }));
    for (const o of old) {
      await sendSpans(spansBody(o.traceId, o.ids, 'all', o.t0, 'old-svc'));
      await sendLogs(chatEvents(o.traceId, o.ids.chat, o.t0), 'default', 'old-svc');
      // a span whose records came, the span never: pending, of an expired day
      await sendLogs(chatEvents(o.traceId, hex(8), o.t0), 'default', 'old-svc');
      // a child whose parent never came: a frontier row of an expired run
      await sendSpans(Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'old-svc' } }] },
        scopeSpans: [{ spans: [{ traceId: o.traceId, spanId: hex(8), parentSpanId: hex(8), name: 'chat c', kind: 3,
          startTimeUnixNano: String(o.t0), endTimeUnixNano: String(o.t0 + 1000n), attributes: [
            { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }, { key: 'gen_ai.usage.input_tokens', value: { intValue: '3' } }] }] }] }] })));
    }
    // 'svc' is used by the old days and today: it stays
    await sendSpans(spansBody(old[0]!.traceId.replace(/^./, 'e'), old[0]!.ids, 'root', old[0]!.t0, 'svc'));
    const keep = { traceId: hex(16), ids: { root: hex(8), chat: hex(8), refd: hex(8) } };
    await sendSpans(spansBody(keep.traceId, keep.ids));
    await sendLogs(chatEvents(keep.traceId, keep.ids.chat, T0));
    const keptPending = hex(8);
    await sendLogs(chatEvents(keep.traceId, keptPending, T0));
    // a run today whose only span has no end time: started today, it is not expired. The gateway now stores
    // such a span ending at its start; earlier gateways stored end_time 0 (1970), as set here.
    const unended = hex(16);
    expect((await gw.pipeline.exportBody(Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ spans: [{ traceId: unended, spanId: hex(8), name: 'open', kind: 1, startTimeUnixNano: String(T0), endTimeUnixNano: '0' }] }] }] })), 'json', 'default')).message)
      .toMatch(/stored ending at their start time/);
    await gw.db.pool.query(`UPDATE runledger.spans SET end_time = 'epoch' WHERE trace_id = $1`, [unended]);
    await gw.db.pool.query(`UPDATE runledger.runs SET end_time = 'epoch' WHERE run_id = $1`, [unended]);
    const before = await snapshot(keep.traceId);
    const rawBefore = (await gw.db.pool.query(`SELECT span_id, resource FROM runledger.raw_spans WHERE trace_id = $1 ORDER BY span_id`, [keep.traceId])).rows;
    expect(rawBefore.every((r) => r.resource?.['service.name'] === 'svc')).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM runledger.usage_frontier WHERE trace_id = ANY($1::uuid[])`, [old.map((o) => o.traceId)])).toBe(2);
    expect(await count(`SELECT count(*) AS n FROM runledger.pending_content`)).toBe(3);

    const res = await applyRetention(gw.db.pool, { olderThan: new Date(Date.now() - 15 * 86_400_000) });
    expect(res.partitions.length).toBeGreaterThan(0);
    const olds = old.map((o) => o.traceId);
    for (const t of ['spans', 'nodes']) {
      expect(await count(`SELECT count(*) AS n FROM runledger.${t} WHERE ${t === 'spans' ? 'trace_id' : 'run_id'} = ANY($1::uuid[])`, [olds])).toBe(0);
    }
    expect(await count(`SELECT count(*) AS n FROM runledger.logs WHERE run_id = ANY($1::uuid[])`, [olds])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM runledger.runs WHERE run_id = ANY($1::uuid[])`, [olds])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM runledger.usage_frontier WHERE trace_id = ANY($1::uuid[])`, [olds])).toBe(0);
    expect((await gw.db.pool.query(`SELECT span_id FROM runledger.pending_content`)).rows.map((r) => r.span_id)).toEqual([keptPending]);
    expect((await gw.db.pool.query(`SELECT resource->>'service.name' AS s FROM runledger.resources ORDER BY 1`)).rows.map((r) => r.s)).toEqual(['svc']);
    // nothing kept references a missing resource
    expect(await count(`SELECT count(*) AS n FROM runledger.raw_spans WHERE resource IS NULL`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM runledger.raw_logs WHERE resource IS NULL`)).toBe(0);
    expect(await snapshot(keep.traceId)).toEqual(before);
    expect((await gw.db.pool.query(`SELECT span_id, resource FROM runledger.raw_spans WHERE trace_id = $1 ORDER BY span_id`, [keep.traceId])).rows).toEqual(rawBefore);
    // every kept span still has its run
    expect(await count(`SELECT count(*) AS n FROM runledger.spans s WHERE NOT EXISTS (SELECT 1 FROM runledger.runs r
      WHERE r.tenant_id = s.tenant_id AND r.run_id = s.trace_id)`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM runledger.runs WHERE run_id = $1`, [unended])).toBe(1);
    // a second run removes nothing more
    const again = await applyRetention(gw.db.pool, { olderThan: new Date(Date.now() - 15 * 86_400_000) });
    expect({ ...again, cutoff: 0, rollupDays: 0 }).toMatchObject({ partitions: [], defaultSpans: 0, defaultNodes: 0, defaultLogs: 0, runs: 0, frontier: 0, resources: 0 });
  });

  it('retries a delete that a writer deadlocked with, instead of failing', async () => {
    // Retention deletes rows in their physical order, writers lock them in key order. Here a writer's transaction
    // holds the second expired resource and then wants the first, which retention's DELETE holds: 40P01, and
    // retention (waiting first, it detects the cycle) was the one that failed.
    // Which side PostgreSQL aborts is whichever checks first, deadlock_timeout after it began to wait; with the
    // default 1 s both ways, a loaded machine (the full suite in CI) reached the writer's second UPDATE after
    // retention's only check and the writer was the victim. Retention checks at 3 s, the writer at 30 s: retention.
    const [r1, r2] = [hex(16), hex(16)];
    await gw.db.pool.query(`INSERT INTO runledger.resources (tenant_id, resource_hash, resource, max_span_day)
      VALUES ('dl', $1, '{"n":1}', '2000-01-01'), ('dl', $2, '{"n":2}', '2000-01-01')`, [r1, r2]);
    const retentionPool = new pg.Pool({ connectionString: gw.db.url, options: '-c deadlock_timeout=3s', max: 2 });
    const writer = await gw.db.pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`SET LOCAL deadlock_timeout = '30s'`);
      await writer.query(`UPDATE runledger.resources SET max_span_day = max_span_day WHERE tenant_id = 'dl' AND resource_hash = $1`, [r2]);
      const retention = applyRetention(retentionPool, { olderThan: new Date(Date.now() - 15 * 86_400_000) });
      retention.catch(() => {});
      const waiting = async () => Number((await gw.db.pool.query(`SELECT count(*) AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM runledger.resources%'`)).rows[0].n);
      for (let i = 0; i < 300 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await waiting()).toBe(1);
      await writer.query(`UPDATE runledger.resources SET max_span_day = max_span_day WHERE tenant_id = 'dl' AND resource_hash = $1`, [r1]);
      await writer.query('ROLLBACK');
      const res = await retention;
      expect(res.resources).toBeGreaterThanOrEqual(2);
    } finally {
      await writer.query('ROLLBACK').catch(() => {});
      writer.release();
      await retentionPool.end();
    }
    expect(await count(`SELECT count(*) AS n FROM runledger.resources WHERE tenant_id = 'dl'`)).toBe(0);
  });

  it('a late span of an expired day, after retention deleted its resource, is stored with its resource', async () => {
    // The gateway's resource cache saw 'late-svc' committed for 18 days ago; retention then deleted that row. Skipped
    // on the cache's word, a late span of 20 days ago referenced no row: its raw span's resource was NULL.
    const first = { traceId: hex(16), ids: { root: hex(8), chat: hex(8), refd: hex(8) } };
    await sendSpans(spansBody(first.traceId, first.ids, 'all', T0 - 18n * DAY_NS, 'late-svc'));
    await applyRetention(gw.db.pool, { olderThan: new Date(Date.now() - 15 * 86_400_000) });
    expect(await count(`SELECT count(*) AS n FROM runledger.resources WHERE resource->>'service.name' = 'late-svc'`)).toBe(0);
    const late = hex(16);
    await sendSpans(spansBody(late, { root: hex(8), chat: hex(8), refd: hex(8) }, 'all', T0 - 20n * DAY_NS, 'late-svc'));
    expect((await gw.db.pool.query(`SELECT resource->>'service.name' AS s FROM runledger.raw_spans WHERE trace_id = $1`, [late])).rows)
      .toEqual([{ s: 'late-svc' }, { s: 'late-svc' }, { s: 'late-svc' }]);
  });
});

describe('reprice over content and references', () => {
  it('changes the costs where the price changed, and nothing else', async () => {
    const [traceId, root, chat, refd] = [hex(16), hex(8), hex(8), hex(8)];
    await sendSpans(spansBody(traceId, { root, chat, refd }));
    await sendLogs(chatEvents(traceId, chat, T0));
    const before = await snapshot(traceId);
    const dir = mkdtempSync(join(tmpdir(), 'runledger-prices-'));
    try {
      const file = join(dir, 'prices.json');
      writeFileSync(file, JSON.stringify({ models: [{ match: '^gpt-4o-mini(?:-|$)', input: 1, output: 10 }] }));
      const r = await reprice(gw.db.pool, { prices: loadPriceTable(file), force: true });
      expect(r.repriced).toBeGreaterThanOrEqual(2);
      const after = await snapshot(traceId);
      // two calls of 20 input and 5 output tokens at 1 and 10 USD per 1M
      const cost = (20 * 1 + 5 * 10) / 1e6;
      for (const n of after.nodes) {
        const was = before.nodes.find((b) => b.node_id === n.node_id)!;
        if (n.node_id === root) expect(n).toEqual(was);
        else expect(n).toEqual({ ...was, total_cost: cost.toFixed(10) });
      }
      expect(Number(after.run[0].total_cost)).toBeCloseTo(2 * cost, 12);
      const { total_cost: _a, ...runAfter } = after.run[0];
      const { total_cost: _b, ...runBefore } = before.run[0];
      expect(runAfter).toEqual(runBefore);
      expect({ ...after, nodes: 0, run: 0 }).toEqual({ ...before, nodes: 0, run: 0 });
      expect((await reprice(gw.db.pool, { prices: loadPriceTable(file), force: true })).repriced).toBe(0);
      expect((await repair(gw.db.pool, { runIds: [traceId] })).changed).toBe(0);
    } finally {
      await reprice(gw.db.pool, { prices: loadPriceTable() });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Send until accepted: 503 / 429 are retried as an exporter retries them; anything else is returned. */
async function deliver(send: () => Promise<unknown>): Promise<string | null> {
  for (let i = 0; i < 200; i++) {
    try {
      const out = await send();
      return JSON.stringify(out) === JSON.stringify({ rejected: 0, message: '' }) ? null : `partial: ${JSON.stringify(out)}`;
    } catch (e) {
      if (e instanceof GatewayError && e.retryable) { await new Promise((r) => setTimeout(r, 50)); continue; }
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  }
  return 'never accepted';
}

describe('maintenance while spans and logs arrive', () => {
  it('repair, reprice, retention and refresh side by side with ingestion: no error, no lost span, nothing left to repair', async () => {
    const runs = Array.from({ length: 60 }, () => ({ traceId: hex(16), ids: { root: hex(8), chat: hex(8), refd: hex(8) } }));
    // runs of an expired day (20 days ago: partitions created by the writers, dropped by retention meanwhile)
    const expired = Array.from({ length: 30 }, () => ({ traceId: hex(16), ids: { root: hex(8), chat: hex(8), refd: hex(8) } }));
    const t20 = T0 - 20n * DAY_NS;
    const dir = mkdtempSync(join(tmpdir(), 'runledger-prices-'));
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ models: [{ match: '^gpt-4o-mini(?:-|$)', input: 2, output: 3 }] }));
    const errors: string[] = [];
    let done = false;
    const ingest = (async () => {
      try {
        await Promise.all(runs.map(async (r, i) => {
          const steps = [
            () => gw.pipeline.exportBody(spansBody(r.traceId, r.ids, 'chat'), 'json', 'default'),
            () => gw.pipeline.exportLogsBody(logsProto(chatEvents(r.traceId, r.ids.chat, T0)), 'proto', 'default'),
            () => gw.pipeline.exportBody(spansBody(r.traceId, r.ids, 'root'), 'json', 'default'),
          ];
          if (i % 2) steps.reverse();
          for (const s of [...steps, steps[0]!]) { const e = await deliver(s); if (e) errors.push(e); }
        }), ...expired.map(async (r) => {
          for (const s of [
            () => gw.pipeline.exportLogsBody(logsProto(chatEvents(r.traceId, r.ids.chat, t20), 'old-svc'), 'proto', 'default'),
            () => gw.pipeline.exportBody(spansBody(r.traceId, r.ids, 'all', t20, 'old-svc'), 'json', 'default'),
          ]) { const e = await deliver(s); if (e) errors.push(e); }
        }));
      } finally { done = true; }
    })();
    const maint = async (name: string, f: () => Promise<unknown>) => {
      while (!done) {
        try { await f(); } catch (e) { errors.push(`${name}: ${(e as Error).message} ${(e as { detail?: string }).detail ?? ""}`); }
      }
    };
    const old = new Date(Date.now() - 15 * 86_400_000);
    await Promise.all([
      ingest,
      maint('repair', () => repair(gw.db.pool, { batch: 5 })),
      maint('reprice', () => reprice(gw.db.pool, { prices: loadPriceTable(file), force: true, batch: 7 })),
      maint('retention', () => applyRetention(gw.db.pool, { olderThan: old })),
      maint('repair 2', () => repair(gw.db.pool, { batch: 3, since: new Date(Date.now() - 3_600_000) })),
      maint('retention 2', () => applyRetention(gw.db.pool, { olderThan: old, chunkRows: 2 })),
      maint('reprice 2', () => reprice(gw.db.pool, { prices: loadPriceTable(file), batch: 2 })),
      maint('refresh', () => refreshDailyUsage(gw.db.pool, { since: new Date(Date.now() - 30 * 86_400_000) })),
    ]);
    rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
    const ids = runs.map((r) => r.traceId);
    expect(await count(`SELECT count(*) AS n FROM runledger.spans WHERE trace_id = ANY($1::uuid[])`, [ids])).toBe(3 * runs.length);
    expect(await count(`SELECT count(*) AS n FROM runledger.logs WHERE run_id = ANY($1::uuid[])`, [ids])).toBe(3 * runs.length);
    expect(await count(`SELECT count(*) AS n FROM runledger.nodes WHERE run_id = ANY($1::uuid[]) AND content_source = 'logs'`, [ids])).toBe(runs.length);
    expect(await count(`SELECT count(*) AS n FROM runledger.pending_content WHERE run_id = ANY($1::uuid[])`, [ids])).toBe(0);
    const snaps = await Promise.all(ids.map(snapshot));
    const r = await repair(gw.db.pool, { runIds: ids });
    expect(r.changed).toBe(0);
    expect(await Promise.all(ids.map(snapshot))).toEqual(snaps);
    // the expired runs: whatever retention left of them is consistent, and the next retention removes it all
    await applyRetention(gw.db.pool, { olderThan: old });
    const gone = expired.map((r) => r.traceId);
    for (const [t, c] of [['spans', 'trace_id'], ['nodes', 'run_id'], ['logs', 'run_id'], ['runs', 'run_id'], ['pending_content', 'run_id'], ['usage_frontier', 'trace_id']]) {
      expect(await count(`SELECT count(*) AS n FROM runledger.${t} WHERE ${c} = ANY($1::uuid[])`, [gone]), t).toBe(0);
    }
    expect(await count(`SELECT count(*) AS n FROM runledger.resources WHERE resource->>'service.name' = 'old-svc'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM runledger.raw_spans WHERE resource IS NULL`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM runledger.raw_logs WHERE resource IS NULL`)).toBe(0);
  });
});

describe('repair recreating a deleted runs row', () => {
  it('derives pipeline and environment from resources stored once, and the compat ids stay', async () => {
    const [traceId, root, chat, refd] = [hex(16), hex(8), hex(8), hex(8)];
    const body = JSON.parse(spansBody(traceId, { root, chat, refd }).toString());
    body.resourceSpans[0].resource.attributes.push({ key: 'deployment.environment.name', value: { stringValue: 'staging' } });
    body.resourceSpans[0].resource.attributes[0].value.stringValue = 'svc/with\\slash';
    await sendSpans(Buffer.from(JSON.stringify(body)));
    await sendLogs(chatEvents(traceId, chat, T0));
    const compat = async () => (await gw.db.pool.query(`SELECT e.task_id, e.agent_id, e.environment, r.workflow_id, r.mode, r.input, r.output
      FROM compat.executions e JOIN compat.runs r USING (id) WHERE e.id = $1`, [traceId])).rows;
    const before = await snapshot(traceId);
    const ids = await compat();
    expect(ids).toHaveLength(1);
    expect(before.run[0]).toMatchObject({ environment: 'staging' });
    await gw.db.pool.query(`DELETE FROM runledger.runs WHERE run_id = $1`, [traceId]);
    expect((await repair(gw.db.pool, { runIds: [traceId] })).recreated).toBe(1);
    const after = await snapshot(traceId);
    const { created_at: _a, ...run } = after.run[0];
    const { created_at: _b, ...run0 } = before.run[0];
    expect(run).toEqual(run0);
    expect({ ...after, run: 0 }).toEqual({ ...before, run: 0 });
    expect(await compat()).toEqual(ids);
  });
});

describe('retention of pending content', () => {
  it('removes a pending span whose content records are gone though a later record without content of its span is kept', async () => {
    const [traceId, span] = [hex(16), hex(8)];
    const old = T0 - 20n * DAY_NS;
    await sendLogs(chatEvents(traceId, span, old));
    // an application log of the same span, days later (a long call): no GenAI content
    await sendLogs([{ traceId, spanId: span, timeNs: T0, body: { msg: 'still waiting' } as Record<string, unknown> }]);
    expect(await count(`SELECT count(*) AS n FROM runledger.pending_content WHERE run_id = $1`, [traceId])).toBe(1);
    await applyRetention(gw.db.pool, { olderThan: new Date(Date.now() - 15 * 86_400_000) });
    expect(await count(`SELECT count(*) AS n FROM runledger.logs WHERE run_id = $1`, [traceId])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM runledger.pending_content WHERE run_id = $1`, [traceId])).toBe(0);
  });
});

describe('repair after retention', () => {
  it('recomputes a run that straddles the cutoff from the spans and log content left, once', async () => {
    const [traceId, root, chat, refd, early] = [hex(16), hex(8), hex(8), hex(8), hex(8)];
    const old = T0 - 20n * DAY_NS;
    // a long-running agent: its root started 20 days ago, an early call then, two calls today
    const body = JSON.parse(spansBody(traceId, { root, chat, refd }).toString());
    body.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano = String(old);
    body.resourceSpans[0].scopeSpans[0].spans.push({ ...body.resourceSpans[0].scopeSpans[0].spans[2], spanId: early,
      startTimeUnixNano: String(old + 1000n), endTimeUnixNano: String(old + 2000n) });
    await sendSpans(Buffer.from(JSON.stringify(body)));
    await sendLogs(chatEvents(traceId, chat, T0));
    await sendLogs(chatEvents(traceId, early, old));
    const before = await snapshot(traceId);
    expect(before.run[0]).toMatchObject({ span_count: '4', llm_calls: '3', input_node_id: early });
    await applyRetention(gw.db.pool, { olderThan: new Date(Date.now() - 15 * 86_400_000) });
    expect((await snapshot(traceId)).run).toEqual(before.run); // its row kept as it was, totals included
    await repair(gw.db.pool, { runIds: [traceId] });
    const after = await snapshot(traceId);
    expect(after.run[0]).toMatchObject({ span_count: '2', llm_calls: '2', input_node_id: refd, output_node_id: chat });
    expect(after.nodes.map(({ parent_missing: _p, parent_node_id: _q, depth: _d, tree_path: _t, step_order: _s, attempt: _at, ...n }) => n))
      .toEqual(before.nodes.filter((n) => n.node_id !== early).map(({ parent_missing: _p, parent_node_id: _q, depth: _d, tree_path: _t, step_order: _s, attempt: _at, ...n }) => n));
    expect(after.compat[0].run_input).toEqual([{ role: 'user', content: 'from the span' }]);
    expect((await repair(gw.db.pool, { runIds: [traceId] })).changed).toBe(0);
  });
});
