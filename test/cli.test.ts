/**
 * The runledger process as a newcomer runs it: `serve` with embedded PostgreSQL by default, and
 * SIGTERM draining what was accepted before exiting cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { packageRoot } from '../src/db/paths.js';
import { freePort } from '../src/db/embedded.js';
import { writeBatch } from '../src/sink/writer.js';
import { holdRun } from './helpers/locks.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { miniSpans, protoRequest } from './helpers/otlp.js';
import { hex, mapped, node, span } from './helpers/spans.js';

const CLI = join(packageRoot(), 'dist/src/cli.js');

/** `group`: the gateway leads a process group of its own, which a test signals as a terminal's Ctrl-C does. */
function serve(env: Record<string, string>, group = false): { child: ChildProcess; ready: Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  child.stderr!.on('data', (d) => process.stderr.write('[gw] ' + d));
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { out += d; if (out.includes('OTLP/gRPC')) resolve(out); });
    child.once('exit', (code) => reject(new Error(`exited early (${code}): ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ready, exited };
}

let db: TestDb;
beforeAll(async () => { db = await createTestDb('cli'); });
afterAll(async () => { await db?.drop(); });

describe('runledger serve', () => {
  it('on SIGTERM commits the requests it accepted, answers them, and exits 0', async () => {
    const port = await freePort();
    const gw = serve({ DATABASE_URL: db.url, RUNLEDGER_HTTP_PORT: String(port), RUNLEDGER_GRPC_PORT: '0', RUNLEDGER_RUN_LOCK_WAIT_MS: '60000' });
    await gw.ready;
    const spans = miniSpans(5);
    const hold = await holdRun(db.url, 'default', spans[0]!.traceId);
    const inflight = fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans),
    });
    // the request is now waiting on the run lock (its spans are queued: deferred while the run is held)
    const queued = async () => /runledger_queue_spans 5\b/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    while (!(await queued())) await new Promise((r) => setTimeout(r, 20));
    gw.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    await hold.release();
    expect((await inflight).status).toBe(200);
    expect(await gw.exited).toBe(0);
    const n = await db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [spans[0]!.traceId]);
    expect(n.rows[0].n).toBe(5);
  });

  it('without DATABASE_URL runs embedded PostgreSQL with its data under RUNLEDGER_DATA_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runledger-cli-'));
    chmodSync(dir, 0o755);
    const env: Record<string, string> = {
      DATABASE_URL: '', RUNLEDGER_DATA_DIR: dir, RUNLEDGER_EMBEDDED_PG_PORT: String(await freePort()),
      RUNLEDGER_HTTP_PORT: String(await freePort()), RUNLEDGER_GRPC_PORT: String(await freePort()),
    };
    const gw = serve(env);
    try {
      const banner = await gw.ready;
      expect(banner).toContain(`http://127.0.0.1:${env.RUNLEDGER_HTTP_PORT}/v1/traces`);
      expect(banner).toContain(`127.0.0.1:${env.RUNLEDGER_GRPC_PORT}`);
      expect(banner).toMatch(/embedded/);
      expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
      const spans = miniSpans(2);
      const res = await fetch(`http://127.0.0.1:${env.RUNLEDGER_HTTP_PORT}/v1/traces`, {
        method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans),
      });
      expect(res.status).toBe(200);
      const c = new pg.Client({ connectionString: `postgres://postgres:runledger@127.0.0.1:${env.RUNLEDGER_EMBEDDED_PG_PORT}/runledger` });
      await c.connect();
      const n = await c.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [spans[0]!.traceId]);
      await c.end();
      expect(n.rows[0].n).toBe(2);
      // a maintenance command on the same data directory uses the server the gateway runs
      const r = await cli(['repair', '--since', '3650d'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^repair: 1 runs scanned, 0 changed/);
      // A gateway killed outright (SIGKILL, the OOM killer) leaves its PostgreSQL running; the next start used to
      // fail on its postmaster.pid. It now uses that server.
      gw.child.kill('SIGKILL');
      await gw.exited;
      const again = serve(env);
      try {
        await again.ready;
        const more = miniSpans(3);
        const res2 = await fetch(`http://127.0.0.1:${env.RUNLEDGER_HTTP_PORT}/v1/traces`, {
          method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(more),
        });
        expect(res2.status).toBe(200);
      } finally {
        again.child.kill('SIGTERM');
        expect(await again.exited).toBe(0);
      }
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
      // the server the killed gateway left (the second one does not stop what it did not start)
      const pid = Number(readFileSync(join(dir, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
      try { process.kill(pid, 'SIGINT'); } catch { /* gone */ }
      for (let i = 0; i < 100 && existsSync(join(dir, 'pgdata', 'postmaster.pid')); i++) await new Promise((r) => setTimeout(r, 100));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Ctrl-C (SIGINT to its process group) with embedded PostgreSQL drains what it accepted before the server stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runledger-cli-'));
    chmodSync(dir, 0o755);
    const env: Record<string, string> = {
      DATABASE_URL: '', RUNLEDGER_DATA_DIR: dir, RUNLEDGER_EMBEDDED_PG_PORT: String(await freePort()),
      RUNLEDGER_HTTP_PORT: String(await freePort()), RUNLEDGER_GRPC_PORT: '0', RUNLEDGER_RUN_LOCK_WAIT_MS: '60000',
    };
    const gw = serve(env, true);
    try {
      await gw.ready;
      const url = `postgres://postgres:runledger@127.0.0.1:${env.RUNLEDGER_EMBEDDED_PG_PORT}/runledger`;
      const spans = miniSpans(4);
      const hold = await holdRun(url, 'default', spans[0]!.traceId);
      const inflight = fetch(`http://127.0.0.1:${env.RUNLEDGER_HTTP_PORT}/v1/traces`, {
        method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans),
      });
      const queued = async () => /runledger_queue_spans 4\b/.test(await (await fetch(`http://127.0.0.1:${env.RUNLEDGER_HTTP_PORT}/metrics`)).text());
      while (!(await queued())) await new Promise((r) => setTimeout(r, 20));
      process.kill(-gw.child.pid!, 'SIGINT'); // PostgreSQL was in this group: it shut down as the drain began (503)
      await new Promise((r) => setTimeout(r, 300));
      await hold.release();
      expect((await inflight).status).toBe(200);
      expect(await gw.exited).toBe(0);
    } finally {
      gw.child.kill('SIGKILL');
      await gw.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port already taken ends the start with what to change, exit 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const gw = serve({ DATABASE_URL: db.url, RUNLEDGER_HTTP_PORT: String(port), RUNLEDGER_GRPC_PORT: '0' });
      let err = '';
      gw.child.stderr!.on('data', (d) => { err += d; });
      gw.ready.catch(() => {});
      expect(await gw.exited).toBe(1);
      expect(err).toContain(`cannot listen for OTLP/HTTP on 127.0.0.1:${port}: the address is already in use`);
      expect(err).toContain('set RUNLEDGER_HTTP_PORT');
      expect(err).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      taken.close();
    }
  });
});

/** Runs the built CLI to completion: exit code, stdout, stderr. */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('runledger maintenance commands', () => {
  it('repair recomputes a corrupted run, reports it, and exits 0', async () => {
    const ids = [hex(16), hex(16)];
    const c = await db.pool.connect();
    try {
      for (const traceId of ids) {
        const root = hex(8);
        await writeBatch(c, [
          mapped(span({ traceId, spanId: root, name: 'agent' }), node({ nodeType: 'AGENT' })),
          mapped(span({ traceId, spanId: hex(8), parentSpanId: root, name: 'chat' }), node({
            nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 10, outputTokens: 5, totalTokens: 15, totalCost: 0.0001, costSource: 'price_table',
          })),
        ]);
      }
    } finally { c.release(); }
    const q = `SELECT status, span_count::int, input_tokens::int, total_cost::text FROM runledger.runs WHERE run_id = $1`;
    const good = (await db.pool.query(q, [ids[0]])).rows[0];
    await db.pool.query(`UPDATE runledger.runs SET status = 'RUNNING', span_count = 0, input_tokens = 0, total_cost = 42 WHERE run_id = $1`, [ids[0]]);

    const r = await cli(['repair', '--run', ids[0]!, '--run', ids[1]!, '--batch', '1'], { DATABASE_URL: db.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^repair: 2 runs scanned, 1 changed \(0 recreated, 0 nodes' counted flags, 0 nodes' tree columns and 0 frontier rows fixed\); 1 days of daily_usage rewritten\n$/);
    expect(r.stderr).toMatch(/^repair {2}\[#+\] 100% {2}2\/2 runs/m); // not a terminal: plain progress lines
    expect(r.stderr).not.toContain('\r');
    expect((await db.pool.query(q, [ids[0]])).rows[0]).toEqual(good);
    expect(good).toEqual({ status: 'COMPLETED', span_count: 2, input_tokens: 10, total_cost: '0.0001000000' });

    const again = await cli(['repair', '--run', ids[0]!], { DATABASE_URL: db.url });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('repair: 1 runs scanned, 0 changed');
  });

  it('repair whose session the server ends (pg_terminate_backend) exits 1 with the reason, and runs again', async () => {
    const traceId = hex(16);
    const c = await db.pool.connect();
    try {
      await writeBatch(c, [mapped(span({ traceId, spanId: hex(8), name: 'agent' }), node({ nodeType: 'AGENT' }))]);
    } finally { c.release(); }
    const held = await holdRun(db.url, 'default', traceId);
    const child = spawn(process.execPath, [CLI, 'repair', '--run', traceId], { env: { ...process.env, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // the repair waits for the held run; a DBA (or a failover) ends its session
      let ended = 0;
      for (let i = 0; i < 300 && ended === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        ended = (await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%lock_runs%'`)).rowCount ?? 0;
      }
      expect(ended).toBe(1);
      expect(await exited).toBe(1);
      expect(stderr).toContain('runledger repair: terminating connection due to administrator command');
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      child.kill();
      await held.release();
    }
    const again = await cli(['repair', '--run', traceId], { DATABASE_URL: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('repair: 1 runs scanned, 0 changed');
  });

  it('reprice runs with a price file and reports what it changed', async () => {
    for (const force of [[], ['--force']]) {
      const r = await cli(['reprice', '--since', '3650d', '--prices', join(packageRoot(), 'testdata/prices/example-prices.json'), ...force], { DATABASE_URL: db.url });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^reprice: [\d,]+ nodes scanned, \d+ repriced, \d+ runs' totals changed(, \d+ days of daily_usage rewritten)?\n$/);
      expect(r.stderr).toMatch(/^reprice {2}\[#+\] 100% {2}[\d,]+\/[\d,]+ nodes/m); // its progress line (issue 11 item 3)
    }
  });

  it('retention and refresh run from the command line: a dry run changes nothing, refresh --since reaches older days', async () => {
    const traceId = hex(16);
    const t = Date.now() * 1000 - 10 * 86_400_000_000; // 10 days ago: outside refresh's default window
    const c = await db.pool.connect();
    try {
      await writeBatch(c, [mapped(span({ traceId, spanId: hex(8), name: 'chat', startUs: t, endUs: t + 1000, tenantId: 'cli-refresh' }), node({
        nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 7, totalTokens: 7, totalCost: 0.5, costSource: 'reported',
      }))]);
    } finally { c.release(); }
    const usage = async () => (await db.pool.query(
      `SELECT sum(input_tokens)::int AS tokens FROM runledger.daily_usage WHERE tenant_id = 'cli-refresh'`)).rows[0].tokens;

    const dflt = await cli(['refresh'], { DATABASE_URL: db.url });
    expect(dflt.code, dflt.stderr).toBe(0);
    expect(dflt.stdout).toMatch(/^refresh: \d+ days of daily_usage rewritten in \d+ ms\n$/);
    expect(await usage()).toBeNull();
    const wide = await cli(['refresh', '--since', '12d'], { DATABASE_URL: db.url });
    expect(wide.code, wide.stderr).toBe(0);
    expect(await usage()).toBe(7);

    const dry = await cli(['retention', '--older-than', '5d', '--dry-run'], { DATABASE_URL: db.url });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^retention \(dry run\): older than .*partitions 3,/m); // spans, nodes and logs of that day
    const runs = async () => (await db.pool.query('SELECT count(*)::int AS n FROM runledger.runs WHERE run_id = $1', [traceId])).rows[0].n;
    expect(await runs()).toBe(1);
    const real = await cli(['retention', '--older-than', '5d'], { DATABASE_URL: db.url });
    expect(real.code, real.stderr).toBe(0);
    expect(real.stderr).toMatch(/retention {2}\[#+\] 100%/);
    expect(await runs()).toBe(0);
    expect(await usage()).toBe(7); // the rollup keeps the dropped day
  });

  it('refuses bad command lines with exit code 2 and the usage', async () => {
    for (const args of [['repair', '--batch', '0'], ['repair', '--run', 'nope'], ['reprice', '--since', 'yesterday'], ['retention'], ['retention', '--older-than', '2025-01-01'], ['refresh', '--since', 'last week'], ['refresh', '--since', '2025-01-31', '--until', '2025-01-01'], ['frobnicate']]) {
      const r = await cli(args, { DATABASE_URL: db.url });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: runledger');
      expect(r.stdout).toBe('');
    }
    // serve and migrate take no options: they were ignored (`migrate --dry-run` migrated, `serve --port` listened on 4318)
    for (const args of [['serve', '--port', '9999'], ['migrate', '--dry-run']]) {
      const r = await cli(args, { DATABASE_URL: 'postgres://127.0.0.1:1/unreachable' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`runledger ${args[0]}: ${args[0]} takes no options`);
    }
    const help = await cli(['migrate', '--help'], { DATABASE_URL: 'postgres://127.0.0.1:1/unreachable' });
    expect(help.code).toBe(0);
    expect(help.stderr).toContain('usage: runledger');
    // migrate's failure is one line, like the other commands' (it was a JSON log line with a stack trace)
    const down = await cli(['migrate'], { DATABASE_URL: 'postgres://127.0.0.1:1/unreachable' });
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toMatch(/^runledger migrate: .*ECONNREFUSED/);
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const bad = await cli(['reprice', '--prices', '/nonexistent/prices.json'], { DATABASE_URL: db.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('cannot load price table /nonexistent/prices.json');
  });
});
