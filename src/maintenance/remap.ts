/**
 * `runledger repair --remap`: map the stored spans of runs again with this version's mapping and write their
 * nodes anew, inside a repair batch (its run locks held), so that runs an earlier version stored read as a
 * fresh ingest of the same spans: a node is otherwise mapped once, when its span is stored (docs/mapping.md).
 */
import type pg from 'pg';
import { mapSpans, type SpanMapper } from '../mapping/index.js';
import { SPAN_KINDS, STATUS_CODES, type SpanRecord } from '../otlp/types.js';
import { copyRows } from '../sink/copy.js';
import { NODE_COLUMNS } from '../sink/encoder.js';
import { prepareSpans } from '../sink/prepare.js';
import type { RunIds } from '../rollup/locks.js';
import { runKey } from '../rollup/usage.js';

export interface RemapOptions {
  mapper: SpanMapper;
  /** the content limit of log records' content (the writers': null without content capture) */
  logContentChars: number | null;
  /** spans read, mapped and written at a time (default REMAP_PAGE_SPANS) */
  pageSpans?: number;
}

/**
 * Spans in memory at a time; a page's node rows are written before the next page is read. A run of 20k spans of
 * 8 KB content, remapped (RSS peak above the start, PostgreSQL 15): loaded whole +395 MB (40k: +729 MB); pages of
 * 2,000 +159-170 MB (40k: +164 MB: bounded by the page, not the run); pages of 500 +66 MB, in the same time
 * (12.8 s). The tree columns a page's prepareSpans gives are provisional: repairLocked's settle_tree sets them
 * from all the run's nodes.
 */
export const REMAP_PAGE_SPANS = 500;

const RUNS = '(SELECT * FROM unnest($1::text[], $2::uuid[]))';

/**
 * The spans as sent (raw_spans: the resource whichever way it is stored), times to the microsecond (a Date
 * would keep milliseconds), in the order the decoders give no meaning to.
 */
const SPANS_SQL = `
SELECT replace(trace_id::text, '-', '') AS trace_id, span_id, parent_span_id, tenant_id, name, kind,
  (extract(epoch FROM start_time) * 1000000)::bigint::text AS start_us, (extract(epoch FROM end_time) * 1000000)::bigint::text AS end_us,
  status_code, status_message, service_name, scope_name, attributes, resource, events, links,
  trace_id::text AS k_trace, start_time::text AS k_start
FROM runledger.raw_spans WHERE (tenant_id, trace_id) IN ${RUNS}
  AND ($3::text IS NULL OR (tenant_id, trace_id, start_time, span_id) > ($3::text, $4::uuid, $5::timestamptz, $6::text))
ORDER BY tenant_id, trace_id, start_time, span_id LIMIT $7`;

interface SpanRow {
  trace_id: string; span_id: string; parent_span_id: string | null; tenant_id: string; name: string; kind: string;
  start_us: string; end_us: string; status_code: string; status_message: string | null; service_name: string | null;
  scope_name: string | null; attributes: SpanRecord['attributes']; resource: SpanRecord['resource'] | null;
  events: SpanRecord['events'] | null; links: SpanRecord['links'] | null;
  /** the page's keyset position: the trace id and start time as PostgreSQL writes them */
  k_trace: string; k_start: string;
}

function spanOf(r: SpanRow): SpanRecord {
  return {
    traceId: r.trace_id, spanId: r.span_id, parentSpanId: r.parent_span_id, name: r.name,
    kind: Math.max(0, SPAN_KINDS.indexOf(r.kind as (typeof SPAN_KINDS)[number])),
    startUs: Number(r.start_us), endUs: Number(r.end_us),
    statusCode: Math.max(0, STATUS_CODES.indexOf(r.status_code as (typeof STATUS_CODES)[number])), statusMessage: r.status_message ?? '',
    attributes: r.attributes, events: r.events ?? [], links: r.links ?? [], resource: r.resource ?? {},
    serviceName: r.service_name, scopeName: r.scope_name, scopeVersion: null, tenantId: r.tenant_id,
  };
}

/**
 * Replace the nodes of these runs (locked by the caller) by the nodes this version maps from their spans, and
 * give nodes without content of their span the content of their GenAI log records, as the writers do. The
 * caller then repairs the runs as recreated (repairLocked): counted flags, tree, frontier and every runs
 * column, the descriptive ones included, from the new nodes. Returns the nodes written.
 */
export async function remapLocked(client: pg.ClientBase, runs: RunIds, opts: RemapOptions): Promise<number> {
  const target = [runs.tenants, runs.runIds];
  // Times as a gateway now stores them (sql/024 did it once; gateways of earlier releases still running during a
  // rolling upgrade store them after it): a span without a start time goes, one ending before it ends at it.
  const epoch = await client.query<{ tenant_id: string; run_id: string }>(`DELETE FROM runledger.spans
    WHERE (tenant_id, trace_id) IN ${RUNS} AND start_time = 'epoch' RETURNING tenant_id, replace(trace_id::text, '-', '') AS run_id`, target);
  await client.query(`UPDATE runledger.spans SET end_time = start_time WHERE (tenant_id, trace_id) IN ${RUNS} AND end_time < start_time`, target);
  // prompt_hash hashes the input's source text as sent: structured and flattened attributes in the order the
  // request listed them, which jsonb does not keep. A node whose content comes out the same keeps its hash.
  await client.query(`DROP TABLE IF EXISTS pg_temp.runledger_remap_old`);
  await client.query(`CREATE TEMP TABLE runledger_remap_old ON COMMIT DROP AS SELECT tenant_id, run_id, node_id, start_time, prompt_hash, input
    FROM runledger.nodes_full WHERE (tenant_id, run_id) IN ${RUNS} AND prompt_hash IS NOT NULL AND input IS NOT NULL`, target);
  await client.query(`DELETE FROM runledger.nodes WHERE (tenant_id, run_id) IN ${RUNS}`, target);
  const seen = new Set<string>();
  let written = 0;
  const page = opts.pageSpans ?? REMAP_PAGE_SPANS;
  for (let after: SpanRow | null = null; ;) {
    const rows: SpanRow[] = (await client.query<SpanRow>(SPANS_SQL, [...target, after?.tenant_id ?? null, after?.k_trace ?? null,
      after?.k_start ?? null, after?.span_id ?? null, page])).rows;
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!;
    for (const r of rows) seen.add(runKey(r.tenant_id, r.trace_id));
    const nodes = prepareSpans(mapSpans(rows.map(spanOf), opts.mapper)).items.filter((p) => p.nodeRow !== null);
    // the counted flags are written false; repairLocked sets them by the tree rule, settle_tree the tree columns
    if (nodes.length > 0) await copyRows(client as pg.PoolClient, 'runledger.nodes', NODE_COLUMNS, nodes, (p) => p.nodeRow!);
    written += nodes.length;
    if (rows.length < page) break;
  }
  // a run whose only spans had no start time: no run, as after a fresh ingest (repair leaves rows without spans alone)
  const gone = [...new Map(epoch.rows.map((r) => [runKey(r.tenant_id, r.run_id), r])).values()]
    .filter((r) => !seen.has(runKey(r.tenant_id, r.run_id)));
  if (gone.length > 0) {
    await client.query(`DELETE FROM runledger.runs WHERE (tenant_id, run_id) IN ${RUNS}`, [gone.map((r) => r.tenant_id), gone.map((r) => r.run_id)]);
  }
  if (opts.logContentChars !== null) {
    const logged = await client.query<{ tenant_id: string; run_id: string; span_id: string }>(`SELECT DISTINCT tenant_id, run_id, span_id
      FROM runledger.logs WHERE (tenant_id, run_id) IN ${RUNS} AND span_id IS NOT NULL
        AND (content_input IS NOT NULL OR content_output IS NOT NULL)`, target);
    if (logged.rows.length > 0) {
      await client.query('SELECT runledger.apply_log_content($1::text[], $2::uuid[], $3::text[], $4::integer)',
        [logged.rows.map((r) => r.tenant_id), logged.rows.map((r) => r.run_id), logged.rows.map((r) => r.span_id), opts.logContentChars]);
    }
    // spans whose records waited for a node the earlier mapping did not make have one now
    await client.query(`DELETE FROM runledger.pending_content p WHERE (p.tenant_id, p.run_id) IN ${RUNS}
      AND EXISTS (SELECT FROM runledger.nodes n WHERE n.tenant_id = p.tenant_id AND n.run_id = p.run_id AND n.node_id = p.span_id)`, target);
  }
  await client.query(`UPDATE runledger.nodes n SET prompt_hash = o.prompt_hash FROM runledger_remap_old o, runledger.nodes_full f
    WHERE n.tenant_id = o.tenant_id AND n.run_id = o.run_id AND n.node_id = o.node_id AND n.start_time = o.start_time
      AND f.tenant_id = n.tenant_id AND f.run_id = n.run_id AND f.node_id = n.node_id AND f.start_time = n.start_time
      AND f.input = o.input AND n.prompt_hash IS DISTINCT FROM o.prompt_hash`);
  await client.query('DROP TABLE runledger_remap_old');
  return written;
}
