/**
 * Compat ids of names joined with '/' (sql/020_compat_ids.sql): a '/' inside a tenant, pipeline or agent name
 * can no longer make two different keys one id, and names without '/' or '\' keep the ids docs/compat.md gives.
 * Runs are written through the real write path (writeBatch).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, node, span } from './helpers/spans.js';
import { writeBatch } from '../src/sink/writer.js';
import { ids as documented, uuid } from './compat/expectations.js';

const md5uuid = (s: string) => uuid(createHash('md5').update(s).digest('hex'));
const NOW_US = (Math.floor(Date.now() / 86_400_000) * 86_400_000 - 3_600_000) * 1000;

/** One run: an agent root with a tool call under it; returns its trace id. */
function run(tenantId: string, pipeline: string, agent: string, tool: string, userId: string) {
  const traceId = hex(16);
  const root = hex(8);
  return {
    traceId,
    spans: [
      mapped(span({ traceId, spanId: root, tenantId, name: `invoke_agent ${agent}`, startUs: NOW_US, endUs: NOW_US + 2_000_000 }),
        node({ nodeType: 'AGENT', agentName: agent, userId }), { rank: 0, value: pipeline }),
      mapped(span({ traceId, spanId: hex(8), parentSpanId: root, tenantId, name: `execute_tool ${tool}`, startUs: NOW_US + 1000, endUs: NOW_US + 1_000_000 }),
        node({ nodeType: 'TOOL', toolName: tool })),
    ],
  };
}

let db: TestDb;
const runs = {
  // tenant "org" with names that contain "org/team"'s remainder, and tenant "org/team"
  org: run('org', 'team/x', 'team/a', 'search', 'team/u'),
  orgTeam: run('org/team', 'x', 'a', 'search', 'u'),
  // one tenant: pipeline "a/b" with step "c", pipeline "a" with step "b/c"
  ab: run('acme', 'a/b', 'planner', 'c', 'u1'),
  a: run('acme', 'a', 'planner', 'b/c', 'u1'),
  plain: run('acme', 'support-bot', 'planner', 'search', 'u-42'),
};

beforeAll(async () => {
  db = await createTestDb('compat_ids');
  const c = await db.pool.connect();
  try {
    for (const r of Object.values(runs)) expect((await writeBatch(c, r.spans)).inserted).toBe(2);
  } finally {
    c.release();
  }
});
afterAll(async () => {
  await db?.drop();
});

async function ids(traceId: string) {
  const run = uuid(traceId);
  const r = (await db.pool.query(`SELECT r.workflow_id, r.triggered_by_user, e.task_id, e.agent_id FROM compat.runs r
    JOIN compat.executions e ON e.id = r.id WHERE r.id = $1`, [run])).rows[0];
  const step = (await db.pool.query(`SELECT step_id, step_name FROM compat.step_runs WHERE run_id = $1 AND step_name <> 'planner'`, [run])).rows[0];
  return { ...r, step_id: step.step_id, step_name: step.step_name };
}

describe('compat ids of names with "/"', () => {
  it('differ between tenant "org" + "team/x" and tenant "org/team" + "x" (workflow, task, agent, user)', async () => {
    const a = await ids(runs.org.traceId);
    const b = await ids(runs.orgTeam.traceId);
    for (const k of ['workflow_id', 'task_id', 'agent_id', 'triggered_by_user'] as const) expect(a[k], k).not.toBe(b[k]);
  });

  it('differ between pipeline "a/b" + step "c" and pipeline "a" + step "b/c" of one tenant', async () => {
    const ab = await ids(runs.ab.traceId);
    const a = await ids(runs.a.traceId);
    expect([ab.step_name, a.step_name]).toEqual(['c', 'b/c']);
    expect(ab.step_id).not.toBe(a.step_id);
  });

  it('are the documented md5 derivations for names without "/" or "\\", and the functions give the views\' ids', async () => {
    const p = await ids(runs.plain.traceId);
    expect(p).toEqual({
      workflow_id: documented.pipeline('acme', 'support-bot'), task_id: documented.pipeline('acme', 'support-bot'),
      agent_id: documented.agent('acme', 'planner'), triggered_by_user: documented.user('acme', 'u-42'),
      step_id: md5uuid('step:acme/support-bot/search'), step_name: 'search',
    });
    const f = (await db.pool.query(`SELECT compat.pipeline_uuid('org', 'team/x') AS p, compat.agent_uuid('org', 'team/a') AS a,
      compat.user_uuid('org', 'team/u') AS u, compat.step_uuid('acme', 'a/b', 'c') AS s, compat.step_uuid('acme', 'a', NULL) AS n`)).rows[0];
    const org = await ids(runs.org.traceId);
    const ab = await ids(runs.ab.traceId);
    expect(f).toEqual({ p: org.workflow_id, a: org.agent_id, u: org.triggered_by_user, s: ab.step_id, n: null });
    // the escaped form: tenant "org/team" is the key part "org\/team"
    expect((await db.pool.query(`SELECT compat.pipeline_uuid('org/team', 'x') AS id`)).rows[0].id).toBe(md5uuid('pipeline:org\\/team/x'));
  });

  it('are compat.ledger_uuid of their keys (sql/030 skips its uuid test, which a key with "/" never passes)', async () => {
    const parts = ['acme', 'org/team', 'a\\b', '', ' ', 'é/ü', '0f8fad5b-d9cb-469f-a165-70867728950e',
      '0F8FAD5B-D9CB-469F-A165-70867728950E', 'x\n0f8fad5b-d9cb-469f-a165-70867728950e', '/', '\\/'];
    const names = [...parts, null];
    const r = await db.pool.query(`
      SELECT count(*) FILTER (WHERE compat.pipeline_uuid(t, n) IS DISTINCT FROM
               compat.ledger_uuid('pipeline', compat.id_part(t) || '/' || coalesce(n, ''))) AS pipeline,
             count(*) FILTER (WHERE compat.agent_uuid(t, n) IS DISTINCT FROM
               compat.ledger_uuid('agent', compat.id_part(t) || '/' || coalesce(n, ''))) AS agent,
             count(*) FILTER (WHERE compat.step_uuid(t, n, s) IS DISTINCT FROM
               compat.ledger_uuid('step', compat.id_part(t) || '/' || compat.id_part(coalesce(n, '')) || '/' || s)) AS step,
             count(*) AS n
      FROM unnest($1::text[]) t, unnest($2::text[]) n, unnest($2::text[]) s`, [parts, names]);
    expect(r.rows[0]).toEqual({ pipeline: '0', agent: '0', step: '0', n: String(parts.length * names.length ** 2) });
  });
});
