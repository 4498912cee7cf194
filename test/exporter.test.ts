/**
 * PostgresSpanExporter (in process, no gateway): real instrumentation spans from a BasicTracerProvider go
 * straight into a test database through the same mapping and sink; failures are reported, never thrown.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { PostgresSpanExporter } from '../src/exporter.js';
import { silentLogger } from '../src/log.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { emitAgentRun } from './helpers/otel.js';
import {
  createSpanCapture, runOtelOpenAIScenarios, runVercelAiScenarios, startMockOpenAI, type MockOpenAIServer,
} from './helpers/genai-fixtures.js';
import { expectOpenAILedger, expectVercelAiLedger, OTEL_OPENAI } from './helpers/genai-ledger.js';

let server: MockOpenAIServer;
beforeAll(async () => { server = await startMockOpenAI(); });
afterAll(async () => { await server?.close(); });

const exportOnce = (exporter: PostgresSpanExporter, spans: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

/** Runs `f` on a client of the admin database (or of database `name` on the same server). */
async function withAdmin<T>(f: (c: pg.Client) => Promise<T>, name?: string): Promise<T> {
  const u = new URL(inject('adminDatabaseUrl'));
  if (name) u.pathname = '/' + name;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try { return await f(c); } finally { await c.end(); }
}

/** Finished spans of one OTel GenAI agent run (4 spans), not exported anywhere yet. */
async function agentRunSpans(): Promise<{ traceId: string; spans: ReadableSpan[] }> {
  const c = createSpanCapture({ 'service.name': 'exporter-agent' });
  const traceId = emitAgentRun(c.tracer());
  const spans = c.exporter.getFinishedSpans().slice();
  await c.shutdown();
  return { traceId, spans };
}

describe('PostgresSpanExporter', () => {
  it('writes Vercel AI SDK and OpenAI instrumentation spans through a BatchSpanProcessor', async () => {
    const db = await createTestDb('exp');
    try {
      const exporter = new PostgresSpanExporter({ databaseUrl: db.url, logger: silentLogger });
      const capture = createSpanCapture({ 'service.name': 'exporter-e2e' }, [new BatchSpanProcessor(exporter)]);
      await runVercelAiScenarios(capture);
      await runOtelOpenAIScenarios(capture, server.baseURL);
      await capture.provider.forceFlush();
      await expectVercelAiLedger(db.pool, 'exporter-e2e');
      await expectOpenAILedger(db.pool, 'exporter-e2e', OTEL_OPENAI);
      const spans = (await db.pool.query('SELECT count(*)::int AS n FROM runledger.spans')).rows[0].n;
      expect(spans).toBe(capture.exporter.getFinishedSpans().length);
      // provider shutdown → processor → exporter.shutdown(): drains and closes its pool
      await expect(capture.shutdown()).resolves.toBeUndefined();
    } finally {
      await db.drop();
    }
  });

  it('reports FAILED with the reason when any span was not stored, and stores the others', async () => {
    const db = await createTestDb('exp');
    const exporter = new PostgresSpanExporter({ databaseUrl: db.url, logger: silentLogger });
    try {
      const run = await agentRunSpans();
      // one span of the export carries a trace id no ledger row can have (an odd IdGenerator)
      const bad = run.spans[0]!;
      const odd = Object.create(bad, {
        spanContext: { value: () => ({ ...bad.spanContext(), traceId: 'zz' + bad.spanContext().traceId.slice(2) }) },
      }) as ReadableSpan;
      const result = await exportOnce(exporter, [odd, ...run.spans.slice(1)]);
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(result.error?.message).toMatch(/^1 of 4 span\(s\) not stored: 1 span\(s\) rejected: .*invalid traceId/);
      const stored = await db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [run.traceId]);
      expect(stored.rows[0].n).toBe(3);
      expect(await exportOnce(exporter, run.spans.slice(0, 1))).toEqual({ code: ExportResultCode.SUCCESS }); // all stored

      // a span PostgreSQL refuses (isolated by bisection) fails the export the same way
      await db.pool.query(`ALTER TABLE runledger.spans ADD CONSTRAINT refuse_me CHECK (name <> 'refuse-me')`);
      const next = await agentRunSpans();
      const refused = Object.create(next.spans[1]!, { name: { value: 'refuse-me' } }) as ReadableSpan;
      const partial = await exportOnce(exporter, [next.spans[0]!, refused, ...next.spans.slice(2)]);
      expect(partial.code).toBe(ExportResultCode.FAILED);
      expect(partial.error?.message).toMatch(/^1 of 4 span\(s\) not stored: .*refused by the database.*refuse_me/);
      const kept = await db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [next.traceId]);
      expect(kept.rows[0].n).toBe(3);
      await exporter.shutdown();
    } finally {
      await db.drop();
    }
  });

  it('reports FAILED (not a throw) once its database is gone, and still shuts down', async () => {
    const db: TestDb = await createTestDb('exp');
    const exporter = new PostgresSpanExporter({ databaseUrl: db.url, logger: silentLogger });
    const first = await agentRunSpans();
    expect(await exportOnce(exporter, first.spans)).toEqual({ code: ExportResultCode.SUCCESS });
    const run = (await db.pool.query('SELECT input_tokens::int, llm_calls::int FROM runledger.runs WHERE run_id = $1', [first.traceId])).rows;
    expect(run).toEqual([{ input_tokens: 150, llm_calls: 2 }]);

    await db.drop(); // WITH (FORCE): the exporter's pooled connections are terminated too
    const second = await agentRunSpans();
    let result: ExportResult | undefined;
    expect(() => exporter.export(second.spans, (r) => { result = r; })).not.toThrow();
    await exporter.forceFlush();
    expect(result?.code).toBe(ExportResultCode.FAILED);
    expect(result?.error).toBeInstanceOf(Error);
    await expect(exporter.shutdown()).resolves.toBeUndefined();
  });

  it('shuts down once (a second call resolves), fails exports after it at once, and honours config.migrate', async () => {
    const db: TestDb = await createTestDb('exp');
    try {
      // config.migrate false (what RUNLEDGER_MIGRATE=false gives): it was ignored and the exporter migrated
      const unmigrated = await withAdmin(async (c) => {
        const name = `${new URL(db.url).pathname.slice(1)}_bare`;
        await c.query(`CREATE DATABASE "${name}"`);
        return name;
      });
      const bareUrl = Object.assign(new URL(db.url), { pathname: '/' + unmigrated }).toString();
      const bare = new PostgresSpanExporter({ databaseUrl: bareUrl, config: { migrate: false }, logger: silentLogger });
      const r = await exportOnce(bare, (await agentRunSpans()).spans);
      expect(r.code).toBe(ExportResultCode.FAILED);
      expect(await withAdmin((c) => c.query(`SELECT to_regclass('runledger.spans') AS t`), unmigrated).then((x) => x.rows[0].t)).toBeNull();
      await bare.shutdown();
      await withAdmin((c) => c.query(`DROP DATABASE "${unmigrated}" WITH (FORCE)`));

      const exporter = new PostgresSpanExporter({ databaseUrl: db.url, logger: silentLogger });
      expect(await exportOnce(exporter, (await agentRunSpans()).spans)).toEqual({ code: ExportResultCode.SUCCESS });
      await exporter.shutdown();
      await expect(exporter.shutdown()).resolves.toBeUndefined(); // was: "Called end on pool more than once"
      const t0 = performance.now();
      const after = await exportOnce(exporter, (await agentRunSpans()).spans);
      expect(after.code).toBe(ExportResultCode.FAILED);
      expect(String(after.error?.message)).toMatch(/shut down/);
      expect(performance.now() - t0).toBeLessThan(1000);

      // a span ending before it started (built by hand: the SDK clamps its own) is stored ending at its start,
      // SUCCESS, and the exporter's logger says so
      const warned: string[] = [];
      const logger = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => { warned.push(`${msg} ${JSON.stringify(f)}`); } };
      const again = new PostgresSpanExporter({ databaseUrl: db.url, logger });
      const one = (await agentRunSpans()).spans[0]!;
      const backwards = Object.assign(Object.create(Object.getPrototypeOf(one)), one, { endTime: [one.startTime[0] - 5, 0] });
      expect(await exportOnce(again, [backwards])).toEqual({ code: ExportResultCode.SUCCESS });
      expect(warned.join('\n')).toMatch(/stored ending at their start time: .*end time before its start time/);
      await again.shutdown();
    } finally {
      await db.drop();
    }
  });

  it('survives a database that is not there at start-up: FAILED, then SUCCESS once it exists', async () => {
    const db = await createTestDb('exp');
    const name = new URL(db.url).pathname.slice(1);
    await db.drop(); // the database is gone before the exporter starts
    const admin = (sql: string) => withAdmin((c) => c.query(sql));
    const exporter = new PostgresSpanExporter({ databaseUrl: db.url, logger: silentLogger });
    // the start-up migration fails while nothing is being exported: no unhandled rejection may escape
    await new Promise((r) => setTimeout(r, 200));
    const first = await agentRunSpans();
    const failed = await exportOnce(exporter, first.spans);
    expect(failed.code).toBe(ExportResultCode.FAILED);
    expect(String(failed.error?.message)).toMatch(/does not exist/);

    await admin(`CREATE DATABASE "${name}"`);
    try {
      const second = await agentRunSpans();
      expect(await exportOnce(exporter, second.spans)).toEqual({ code: ExportResultCode.SUCCESS }); // migrated now
      const runs = await withAdmin((c) => c.query('SELECT run_id::text FROM runledger.runs'), name);
      expect(runs.rows.map((r) => r.run_id.replaceAll('-', ''))).toEqual([second.traceId]);
      await expect(exporter.shutdown()).resolves.toBeUndefined();
    } finally {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });
});
