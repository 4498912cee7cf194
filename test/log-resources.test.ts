/**
 * Log records' resources stored once (sql/019), through the gateway's logs path on real PostgreSQL: records
 * reference runledger.resources by key, runledger.raw_logs returns each record's resource as sent, re-sends add
 * nothing, records stored before 019 (resource inline) meet their re-sends, each tenant has its own resource
 * rows and sees only them, and a row's day covers its records' days (what retention deletes by).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { anyValue, chatEvents, logsJson } from './helpers/logs.js';
import { applyRetention } from '../src/maintenance/retention.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const DAY = new Date(Number(T0 / 1_000_000n)).toISOString().slice(0, 10);
/** an SDK-like resource: what every record of a service repeats */
const RESOURCE = { 'service.name': 'svc', 'service.version': '1.2.3', 'host.name': 'h1', 'process.pid': 42,
  'process.runtime.name': 'nodejs', 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.version': '2.12.0' };
const [TRACE, SPAN] = [hex(16), hex(8)];

function body(resource: Record<string, unknown> = RESOURCE, trace = TRACE, t0 = T0): Buffer {
  const b = logsJson(chatEvents(trace, SPAN, t0)) as { resourceLogs: { resource: unknown }[] };
  b.resourceLogs[0]!.resource = { attributes: Object.entries(resource).map(([key, v]) => ({ key, value: anyValue(v) })) };
  return Buffer.from(JSON.stringify(b));
}
async function send(tenant: string) {
  expect(await gw.pipeline.exportLogsBody(body(), 'json', tenant)).toEqual({ rejected: 0, message: '' });
}
const q = async (sql: string, params: unknown[] = []) => (await gw.db.pool.query(sql, params)).rows;
const stored = (tenant: string) => q(`SELECT resource IS NULL AS inline_null, resource_hash::text AS hash
  FROM runledger.logs WHERE tenant_id = $1 AND run_id = $2 ORDER BY time`, [tenant, TRACE]);

describe('log records\' resources (sql/019)', () => {
  it('are stored once, by key, and raw_logs returns each record\'s resource as sent', async () => {
    await send('acme');
    const rows = await stored('acme');
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toEqual({ inline_null: true, hash: rows[0]!.hash });
    expect(await q(`SELECT resource, max_span_day::text AS day FROM runledger.resources WHERE tenant_id = 'acme' AND resource_hash = $1`,
      [rows[0]!.hash])).toEqual([{ resource: RESOURCE, day: DAY }]);
    const raw = await q(`SELECT resource FROM runledger.raw_logs WHERE tenant_id = 'acme' AND run_id = $1`, [TRACE]);
    expect(raw).toEqual(Array(3).fill({ resource: RESOURCE }));
  });

  it('add nothing when re-sent; another tenant gets its own row and its analyst sees only that', async () => {
    await send('acme');
    await send('globex');
    expect(await stored('acme')).toHaveLength(3);
    const hash = (await stored('acme'))[0]!.hash;
    expect(await q(`SELECT tenant_id FROM runledger.resources WHERE resource_hash = $1 ORDER BY tenant_id`, [hash]))
      .toEqual([{ tenant_id: 'acme' }, { tenant_id: 'globex' }]);
    const c = new pg.Client({ connectionString: gw.db.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE runledger_analyst');
      await c.query(`SELECT set_config('runledger.tenant_id', 'globex', true)`);
      expect((await c.query(`SELECT tenant_id, resource FROM runledger.raw_logs WHERE run_id = $1`, [TRACE])).rows)
        .toEqual(Array(3).fill({ tenant_id: 'globex', resource: RESOURCE }));
      expect((await c.query(`SELECT DISTINCT tenant_id FROM runledger.resources`)).rows).toEqual([{ tenant_id: 'globex' }]);
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      await c.end();
    }
  });

  it('keep a record stored before 019 (resource inline) one row when it is re-sent: its identity is unchanged', async () => {
    // the records as a gateway before 019 stored them: resource inline, no key
    await gw.db.pool.query(`INSERT INTO runledger.logs (tenant_id, run_id, span_id, time, observed_time, severity_number,
        severity_text, event_name, body, attributes, resource, resource_hash, service_name, scope_name, record_hash,
        content_input, content_output, content_whole, content_rank)
      SELECT 'initech', run_id, span_id, time, observed_time, severity_number, severity_text, event_name, body, attributes,
        resource, NULL, service_name, scope_name, record_hash, content_input, content_output, content_whole, content_rank
      FROM runledger.raw_logs WHERE tenant_id = 'acme' AND run_id = $1`, [TRACE]);
    await send('initech');
    expect(await stored('initech')).toEqual(Array(3).fill({ inline_null: false, hash: null }));
    expect(await q(`SELECT resource FROM runledger.raw_logs WHERE tenant_id = 'initech' AND run_id = $1`, [TRACE]))
      .toEqual(Array(3).fill({ resource: RESOURCE }));
  });

  it('live as long as the records that reference them: retention deletes a resource only its dropped days used', async () => {
    const DAY_NS = 86_400_000_000_000n;
    const midnight = BigInt(Date.now()) * 1_000_000n / DAY_NS * DAY_NS;
    const [oldOnly, both] = [{ ...RESOURCE, 'service.name': 'old-only' }, { ...RESOURCE, 'service.name': 'both' }];
    const at = async (resource: Record<string, unknown>, daysAgo: bigint) => expect(await gw.pipeline.exportLogsBody(
      body(resource, hex(16), midnight - daysAgo * DAY_NS + 3_600_000_000_000n), 'json', 'umbrella')).toEqual({ rejected: 0, message: '' });
    await at(oldOnly, 10n);
    await at(both, 10n);
    await at(both, 1n);
    const days = await q(`SELECT resource->>'service.name' AS s, max_span_day::text AS d FROM runledger.resources
      WHERE tenant_id = 'umbrella' ORDER BY 1`);
    const dayText = (n: bigint) => new Date(Number((midnight - n * DAY_NS) / 1_000_000n)).toISOString().slice(0, 10);
    expect(days).toEqual([{ s: 'both', d: dayText(1n) }, { s: 'old-only', d: dayText(10n) }]);
    await applyRetention(gw.db.pool, { olderThan: new Date(Number((midnight - 5n * DAY_NS) / 1_000_000n)) });
    expect(await q(`SELECT resource->>'service.name' AS s FROM runledger.resources WHERE tenant_id = 'umbrella'`)).toEqual([{ s: 'both' }]);
    expect(await q(`SELECT count(*)::int AS n FROM runledger.raw_logs WHERE tenant_id = 'umbrella'`)).toEqual([{ n: 3 }]);
    expect(await q(`SELECT count(*)::int AS n FROM runledger.raw_logs WHERE resource IS NULL`)).toEqual([{ n: 0 }]);
  });
});
