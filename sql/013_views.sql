-- The analyst and compat views read the tree and run columns stored at ingest (sql/012) instead of walking
-- spans and recounting nodes per row, and every lookup from a run to its rows is bounded by the run's time
-- range [start_time, last_start_time], so a plan reads the partitions of the run's days only (issue 12).
-- Every view keeps its columns, types and collations: the rows are the same (test/views-golden.test.ts).

-- ---------------------------------------------------------------------------------------------------------
-- Indexes

-- compat's "children of a node" (seed 000: olo_run_node WHERE parent_node_id = …) names no run: an index on
-- the parent alone. The column is varchar(255), the type olo_run_node exposes it as, so the view needs no
-- cast: a length cast (varchar(x, 255)) is not leakproof, and PostgreSQL never lets a condition with a
-- function that is not leakproof run before row-level security's — a tenant's analyst got no index
-- (939 ms instead of 14 ms at 2M spans, measured). In the default collation for the same reason (a COLLATE
-- pulled up from a view matched no index). Node ids are span ids: 16 hex digits. Replaces 012's
-- (tenant_id, run_id, parent_node_id), which no query used.
DROP INDEX runledger.nodes_parent;
ALTER TABLE runledger.nodes ALTER COLUMN parent_node_id TYPE varchar(255) COLLATE "default";

-- The node's path from the top of its tree (node_tree().tree_path: step_order + 1 of each node ancestor,
-- then its own), stored like the rest of the tree: node_trees read it per node by walking up the parents
-- (one primary-key lookup per ancestor per node) otherwise.
ALTER TABLE runledger.nodes ADD COLUMN tree_path integer[];
CREATE INDEX nodes_parent ON runledger.nodes (parent_node_id);

-- Failed nodes by day (failed_nodes WHERE day = …): a day's failed nodes from each partition's small index
-- instead of a scan of every partition (`day` is an expression on start_time, which no plan prunes by).
CREATE INDEX nodes_failed_day ON runledger.nodes (((start_time AT TIME ZONE 'UTC')::date)) WHERE status = 'FAILED';

-- Runs by trace id alone (compat and node_tree() look runs up without the tenant: RLS or the query picks it),
-- and by the trace id as compat's text ids spell it (seed 002 traces.execution_id, seed 003 run_id),
-- stored (generated) so that comparing it needs no function that is not leakproof (replace, uuid_out):
-- PostgreSQL runs such conditions only after row-level security's, never as an index condition, and a
-- tenant's analyst computed the id for each of the tenant's runs per lookup (60 ms at 8k runs, measured).
CREATE INDEX runs_run_id ON runledger.runs (run_id);
-- varchar(255), the type seed 002's execution_id has: traces needs no length cast (not leakproof either).
ALTER TABLE runledger.runs ADD COLUMN trace_hex varchar(255) GENERATED ALWAYS AS (replace(run_id::text, '-', '')) STORED;
CREATE INDEX runs_trace_hex ON runledger.runs (trace_hex);

-- Not indexed: a span's children by compat's span uuid alone (seed 002: spans WHERE parent_span_id = <uuid>).
-- An index on the view's md5 expression served it in 39 ms instead of 2 s at 2M spans, but cost 3.5 µs of
-- PostgreSQL CPU per span written (+17% of the writer's, measured: 66,676 spans inserted in 0.50-0.54 s
-- with it, 0.28-0.30 s without), for one compat pattern; and a tenant's analyst could not use it (the
-- text-to-uuid cast is not leakproof). Giving the trace id as well reads the run's spans by key (docs/compat.md).

-- ---------------------------------------------------------------------------------------------------------
-- A node whose walk up comes back to itself with no other node on the way (a cycle of parent ids: only
-- malformed input makes one) is stored as its own parent, as compat's walk (node_ancestors) names it; it
-- is a top-level node (depth 0) for node_tree(), node_trees and failed_nodes, which read
-- nullif(parent_node_id, node_id). 012 stored NULL: settle_tree as in 012 but for that, and the runs that
-- may have such a node (a top-level node with a parent span that is stored) are queued for repair.

/**
 * (as in sql/012) Recompute the tree columns of the runs' nodes from their stored spans and nodes.
 */
CREATE OR REPLACE FUNCTION runledger.settle_tree(tenant_ids text[], run_ids uuid[]) RETURNS integer
LANGUAGE plpgsql
-- Every join here is a lookup by id: index nested loops only. Without these settings the planner, on a day's
-- partitions not analyzed yet (no statistics: "16 rows"), hash-joined or scanned the whole staged run and
-- the day's spans per level of a walk: 2-9 s for a run of 5,600 nodes (measured); by index it is one probe
-- per node (0.3 s). The penalty these put on the plans' costs would make PostgreSQL compile them with JIT
-- (1.4 s per call on PG 15, measured): no JIT either.
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off SET enable_bitmapscan = off
SET enable_material = off SET jit = off
AS $$
DECLARE
  changed integer;
  lo timestamptz;
  hi timestamptz;
BEGIN
  SELECT min(r.start_time), max(coalesce(r.last_start_time, 'infinity')) INTO lo, hi FROM runledger.runs r
  WHERE (r.tenant_id, r.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids));
  IF lo IS NULL THEN RETURN 0; END IF;
  -- (012's runledger_tree, which sessions opened before this migration may still hold, has no tree_path)
  IF to_regclass('pg_temp.runledger_place') IS NULL THEN  -- once per session (IF NOT EXISTS would notice every call)
    CREATE TEMP TABLE runledger_place (
      tenant_id text COLLATE "C", run_id uuid, node_id text COLLATE "C", parent_span_id text COLLATE "C",
      step_order integer, attempt integer, parent_node_id text COLLATE "C", parent_missing boolean, depth integer,
      tree_path integer[]
    ) ON COMMIT DELETE ROWS;
    CREATE INDEX runledger_place_node ON runledger_place (node_id);  -- the id first: the planner, without statistics, picks by it
    CREATE INDEX runledger_place_parent ON runledger_place (parent_node_id);
  END IF;
  DELETE FROM runledger_place;

  INSERT INTO runledger_place (tenant_id, run_id, node_id, parent_span_id, step_order, attempt, parent_missing)
  SELECT n.tenant_id, n.run_id, n.node_id, n.parent_span_id,
    (row_number() OVER (PARTITION BY n.tenant_id, n.run_id ORDER BY n.start_time, n.node_id))::integer - 1,
    (row_number() OVER (PARTITION BY n.tenant_id, n.run_id, runledger.step_name(n.node_type, n.name, n.tool_name, n.agent_name)
      ORDER BY n.start_time, n.node_id))::integer,
    false
  FROM runledger.nodes n JOIN (SELECT DISTINCT * FROM unnest(tenant_ids, run_ids)) AS t(tenant_id, run_id)
    ON n.tenant_id = t.tenant_id AND n.run_id = t.run_id
  WHERE n.start_time >= lo AND n.start_time <= hi;

  -- each node's walk up: its parent span, then up through stored spans that are not nodes
  WITH RECURSIVE up (tenant_id, run_id, node_id, anc) AS (
    SELECT m.tenant_id, m.run_id, m.node_id, m.parent_span_id FROM runledger_place m WHERE m.parent_span_id IS NOT NULL
    UNION
    SELECT u.tenant_id, u.run_id, u.node_id, s.parent_span_id
    FROM up u JOIN runledger.spans s ON s.tenant_id = u.tenant_id AND s.trace_id = u.run_id AND s.span_id = u.anc
      AND s.start_time >= lo AND s.start_time <= hi
    WHERE s.parent_span_id IS NOT NULL AND u.anc <> u.node_id
      AND NOT EXISTS (SELECT 1 FROM runledger_place m WHERE m.tenant_id = u.tenant_id AND m.run_id = u.run_id AND m.node_id = u.anc)
  ), walk AS (
    SELECT u.*, p.node_id AS found,
      NOT EXISTS (SELECT 1 FROM runledger.spans s WHERE s.tenant_id = u.tenant_id AND s.trace_id = u.run_id
        AND s.span_id = u.anc AND s.start_time >= lo AND s.start_time <= hi) AS missing
    FROM up u LEFT JOIN runledger_place p ON p.tenant_id = u.tenant_id AND p.run_id = u.run_id AND p.node_id = u.anc
  ), links AS (
    SELECT w.tenant_id, w.run_id, w.node_id, min(w.found) AS parent_node_id, bool_or(w.missing) AS parent_missing
    FROM walk w GROUP BY w.tenant_id, w.run_id, w.node_id
  )
  UPDATE runledger_place m SET parent_node_id = l.parent_node_id, parent_missing = l.parent_missing
  FROM links l WHERE m.tenant_id = l.tenant_id AND m.run_id = l.run_id AND m.node_id = l.node_id;

  -- depth: down from the nodes without a parent node (nodes on or below a cycle are never reached: NULL)
  WITH RECURSIVE tree (tenant_id, run_id, node_id, depth, tree_path) AS (
    SELECT m.tenant_id, m.run_id, m.node_id, 0, ARRAY[m.step_order + 1] FROM runledger_place m
    WHERE m.parent_node_id IS NULL OR m.parent_node_id = m.node_id
    UNION ALL
    SELECT c.tenant_id, c.run_id, c.node_id, t.depth + 1, t.tree_path || (c.step_order + 1)
    FROM tree t JOIN runledger_place c ON c.tenant_id = t.tenant_id AND c.run_id = t.run_id AND c.parent_node_id = t.node_id
      AND c.node_id <> t.node_id
  )
  UPDATE runledger_place m SET depth = t.depth, tree_path = t.tree_path
  FROM tree t WHERE m.tenant_id = t.tenant_id AND m.run_id = t.run_id AND m.node_id = t.node_id;

  UPDATE runledger.nodes n SET parent_node_id = v.parent_node_id, parent_missing = v.parent_missing, depth = v.depth,
    step_order = v.step_order, attempt = v.attempt, tree_path = v.tree_path
  FROM runledger_place v
  WHERE n.tenant_id = v.tenant_id AND n.run_id = v.run_id AND n.node_id = v.node_id AND n.start_time >= lo AND n.start_time <= hi
    AND (n.parent_node_id COLLATE "C", n.parent_missing, n.depth, n.step_order, n.attempt, n.tree_path)
      IS DISTINCT FROM (v.parent_node_id, v.parent_missing, v.depth, v.step_order, v.attempt, v.tree_path);
  GET DIAGNOSTICS changed = ROW_COUNT;
  DELETE FROM runledger_place;
  RETURN changed;
END $$;

-- tree_path of the stored nodes, down the stored parents (runs not settled yet keep NULL: their repair,
-- queued by 012, computes it). One pass per tree level; the whole of this migration took 3.3-5.4 min at
-- 2M spans, 1.4M nodes (PostgreSQL 15, busy 2-core machine; every node and runs row is rewritten once).
WITH RECURSIVE p (tenant_id, run_id, node_id, start_time, depth, path) AS (
  SELECT n.tenant_id, n.run_id, n.node_id, n.start_time, 0, ARRAY[n.step_order + 1] FROM runledger.nodes n
  WHERE n.depth = 0 AND n.step_order IS NOT NULL
  UNION ALL
  SELECT c.tenant_id, c.run_id, c.node_id, c.start_time, p.depth + 1, p.path || (c.step_order + 1)
  FROM p JOIN runledger.nodes c ON c.tenant_id = p.tenant_id AND c.run_id = p.run_id
    AND c.parent_node_id COLLATE "C" = p.node_id AND c.node_id <> p.node_id
    AND c.depth = p.depth + 1  -- strictly down: ends whatever the stored values
)
UPDATE runledger.nodes n SET tree_path = p.path
FROM p WHERE n.tenant_id = p.tenant_id AND n.run_id = p.run_id AND n.node_id = p.node_id AND n.start_time = p.start_time;

INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT DISTINCT n.tenant_id, n.run_id, 'a node on a cycle of parent ids is its own parent from migration 013 on'
FROM runledger.nodes n WHERE n.parent_node_id IS NULL AND n.parent_span_id IS NOT NULL AND NOT n.parent_missing
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------------------------
-- runledger views (columns as in 007)

CREATE OR REPLACE VIEW runledger.run_summary WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.name, r.service_name, r.environment, r.session_id, r.user_id,
  r.status, r.error_message,
  (r.start_time AT TIME ZONE 'UTC')::date AS day,
  r.start_time, r.end_time, r.duration_ms,
  r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count AS error_spans,
  r.failed_nodes,
  r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens,
  r.total_cost, r.currency, r.models,
  cardinality(r.models) AS model_count,
  round(r.total_cost * 1000 / NULLIF(r.total_tokens, 0), 10) AS cost_per_1k_tokens,
  r.llm_calls::double precision / NULLIF(r.total_nodes, 0) AS llm_call_share,
  l.llm_time_ms,
  l.llm_time_ms / NULLIF(r.duration_ms, 0) AS llm_time_share
FROM runledger.runs r,
LATERAL (SELECT (SELECT sum(n.duration_ms) FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
  AND n.run_id = r.run_id AND n.node_type = 'LLM'
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')) AS llm_time_ms OFFSET 0) l;

-- The node trees of the runs with this id, from the stored tree: exec_order is step_order + 1.
CREATE OR REPLACE FUNCTION runledger.node_tree(run_id uuid, tenant_id text DEFAULT NULL)
RETURNS TABLE (
  node_id text, parent_node_id text, depth integer, exec_order integer, tree_path integer[],
  parent_missing boolean, parent_span_id text, tenant_id text, node_type text, name text, status text,
  start_time timestamptz, end_time timestamptz, duration_ms double precision, provider text, model_name text,
  total_tokens bigint, total_cost numeric, usage_counted boolean
)
LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
SELECT n.node_id, nullif(n.parent_node_id, n.node_id COLLATE "default")::text, n.depth, n.step_order + 1, n.tree_path,
  n.parent_missing, n.parent_span_id, n.tenant_id, n.node_type, n.name, n.status,
  n.start_time, n.end_time, n.duration_ms, n.provider, n.model_name, n.total_tokens, n.total_cost, n.usage_counted
FROM runledger.runs r
JOIN runledger.nodes n ON n.tenant_id = r.tenant_id AND n.run_id = r.run_id
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')
WHERE r.run_id = node_tree.run_id AND (node_tree.tenant_id IS NULL OR r.tenant_id = node_tree.tenant_id)
$$;

-- A plain join (no function per run): a condition on node columns filters nodes before anything else.
CREATE OR REPLACE VIEW runledger.node_trees WITH (security_invoker = true) AS
SELECT r.run_id, r.pipeline, r.start_time AS run_start_time,
  n.node_id COLLATE "default" AS node_id, nullif(n.parent_node_id, n.node_id COLLATE "default")::text AS parent_node_id, n.depth,
  n.step_order + 1 AS exec_order,
  n.tree_path,
  n.parent_missing, n.parent_span_id COLLATE "default" AS parent_span_id, n.tenant_id COLLATE "default" AS tenant_id,
  n.node_type, n.name, n.status, n.start_time, n.end_time, n.duration_ms, n.provider, n.model_name,
  n.total_tokens, n.total_cost::numeric AS total_cost, n.usage_counted
FROM runledger.runs r
JOIN runledger.nodes n ON n.tenant_id = r.tenant_id AND n.run_id = r.run_id
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity');

CREATE OR REPLACE VIEW runledger.failed_nodes WITH (security_invoker = true) AS
SELECT n.run_id, n.node_id, n.tenant_id, r.pipeline, r.name AS run_name, r.status AS run_status,
  (n.start_time AT TIME ZONE 'UTC')::date AS day,
  n.node_type, n.operation, n.name, n.error_type, n.error_message,
  n.start_time, n.end_time, n.duration_ms, n.provider, n.model_name, n.tool_name, n.agent_name,
  a.node_id AS parent_node_id, a.name AS parent_node_name, a.node_type AS parent_node_type,
  a.status AS parent_node_status
FROM runledger.nodes n
LEFT JOIN runledger.runs r ON r.tenant_id = n.tenant_id AND r.run_id = n.run_id
LEFT JOIN LATERAL (
  SELECT p.node_id, p.name, p.node_type, p.status FROM runledger.nodes p
  WHERE p.tenant_id = n.tenant_id AND p.run_id = n.run_id AND p.node_id = n.parent_node_id COLLATE "C" AND p.node_id <> n.node_id
    AND p.start_time >= r.start_time AND p.start_time <= coalesce(r.last_start_time, 'infinity')
  LIMIT 1
) a ON true
WHERE n.status = 'FAILED';

-- ---------------------------------------------------------------------------------------------------------
-- compat.ledger_runs / ledger_nodes: the bases of every compat view (columns as in 007; the runs and nodes
-- columns listed, since 012 added columns of the same names as the derived ones)

-- ledger_runs' trace_hex is varchar(255) now (runs.trace_hex above): its dependents are created again, as
-- 007 defined them, those that expose it as text with a cast to text (binary, leakproof).
DROP VIEW compat.ledger_runs CASCADE;
CREATE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.service_name, r.environment, r.session_id, r.user_id, r.name,
  r.status, r.start_time, r.end_time, r.duration_ms, r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens,
  r.total_tokens, r.total_cost, r.currency, r.models, r.error_message, r.root_span_id, r.root_start_time,
  r.pipeline_rank, r.created_at, r.updated_at,
  r.trace_hex,
  -- the root node's content when the root is a node, else the run's first input / last output (stored refs)
  CASE WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.input FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.input FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.input_node_id AND n.start_time = r.input_start_time) END AS run_input,
  CASE WHEN r.status = 'RUNNING' THEN NULL
    WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.output FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.output FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.output_node_id AND n.start_time = r.output_start_time) END AS run_output,
  (SELECT n.name FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.status = 'FAILED'
     AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_name,
  (SELECT n.error_type FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.status = 'FAILED'
     AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_error_type,
  r.total_nodes - r.failed_nodes AS completed_nodes,  -- a node is COMPLETED or FAILED
  r.failed_nodes,
  r.agent_name,
  (SELECT s.kind FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS root_kind,
  (SELECT s.resource ->> 'service.version' FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS service_version,
  (SELECT nullif(s.links -> 0 ->> 'traceId', '') FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS parent_trace_hex
FROM runledger.runs r;

CREATE VIEW compat.olo_run WITH (security_invoker = true) AS
SELECT r.run_id::uuid AS run_id,
  r.tenant_id::varchar(255) AS tenant_id,
  coalesce(r.pipeline, '')::varchar(255) AS pipeline,
  NULL::varchar(128) AS pipeline_checksum,
  r.service_version::varchar(64) AS execution_engine_version,
  r.run_input AS input_json,
  r.start_time,
  CASE WHEN r.status <> 'RUNNING' THEN r.end_time END AS end_time,
  r.run_output #>> '{}' AS final_output,
  r.status::varchar(32) AS status,
  compat.fit_int4(r.total_nodes) AS total_nodes,
  compat.fit_numeric(r.total_cost, 10, 6)::numeric(10,6) AS total_cost,
  compat.fit_int4(r.total_tokens) AS total_tokens,
  CASE WHEN r.status <> 'RUNNING' THEN round(r.duration_ms)::bigint END AS duration_ms,
  r.error_message,
  r.failed_node_name::varchar(128) AS failure_stage,
  compat.fit_int4(r.input_tokens) AS total_prompt_tokens,
  compat.fit_int4(r.output_tokens) AS total_completion_tokens,
  r.currency::varchar(8) AS currency
FROM compat.ledger_runs r;

CREATE VIEW compat.runs WITH (security_invoker = true) AS
SELECT r.run_id AS id,
  compat.tenant_uuid(r.tenant_id) AS tenant_id,
  compat.ledger_uuid('pipeline', r.tenant_id || '/' || coalesce(r.pipeline, '')) AS workflow_id,
  1 AS workflow_version,
  lower(r.status)::varchar(50) AS status,
  (CASE WHEN r.environment IS NULL OR r.environment ~* '^(prod|production|live)$' THEN 'production'
     ELSE 'test' END)::varchar(50) AS mode,
  r.run_input AS input,
  r.run_output AS output,
  r.error_message AS error,
  (CASE WHEN r.root_kind = 'SERVER' THEN 'webhook' ELSE 'manual' END)::varchar(50) AS triggered_by,
  compat.user_uuid(r.tenant_id, r.user_id) AS triggered_by_user,
  r.start_time AS started_at,
  CASE WHEN r.status <> 'RUNNING' THEN r.end_time END AS completed_at,
  r.start_time AS created_at
FROM compat.ledger_runs r;

CREATE VIEW compat.traces WITH (security_invoker = true) AS
SELECT r.run_id AS trace_id,
  coalesce(r.pipeline, '')::varchar(255) AS workflow_id,
  r.trace_hex::varchar(255) AS execution_id,
  compat.user_uuid(r.tenant_id, r.user_id) AS user_id,
  r.run_input #>> '{}' AS query,
  r.start_time AT TIME ZONE 'UTC' AS started_at,
  CASE WHEN r.status <> 'RUNNING' THEN r.end_time AT TIME ZONE 'UTC' END AS completed_at,
  CASE WHEN r.status <> 'RUNNING' THEN compat.fit_int4(r.duration_ms::numeric) ELSE 0 END AS total_duration_ms,
  lower(r.status)::varchar(50) AS status,
  r.error_message AS error,
  compat.fit_numeric(r.total_cost, 10, 6)::numeric(10,6) AS total_cost,
  jsonb_build_object('input', r.input_tokens, 'output', r.output_tokens, 'total', r.total_tokens,
    'cache_read', r.cache_read_tokens, 'cache_write', r.cache_write_tokens, 'reasoning', r.reasoning_tokens)
    AS total_tokens,
  jsonb_strip_nulls(jsonb_build_object('tenant_id', r.tenant_id, 'pipeline', r.pipeline, 'name', r.name,
    'service_name', r.service_name, 'environment', r.environment, 'session_id', r.session_id,
    'user_id', r.user_id, 'models', to_jsonb(r.models), 'span_count', r.span_count, 'total_nodes', r.total_nodes,
    'llm_calls', r.llm_calls, 'tool_calls', r.tool_calls, 'error_count', r.error_count, 'currency', r.currency))
    AS metadata
FROM compat.ledger_runs r;

CREATE VIEW compat.core_workflow_runs WITH (security_invoker = true) AS
SELECT r.trace_hex::text AS run_id,
  r.pipeline AS workflow_name,
  NULL::integer AS workflow_version,
  r.service_name AS domain,
  NULL::text AS partition_key,
  r.status,
  compat.iso_utc(r.start_time) COLLATE "C" AS started_at,
  CASE WHEN r.status <> 'RUNNING' THEN compat.iso_utc(r.end_time) END COLLATE "C" AS completed_at,
  CASE WHEN r.status <> 'RUNNING' THEN compat.fit_int4(r.duration_ms::numeric) END AS duration_ms,
  r.run_input::text AS params,
  r.run_output::text AS outputs,
  r.error_message AS error,
  r.failed_node_error_type AS error_category,
  NULL::integer AS error_retryable,
  compat.fit_int4(r.total_nodes) AS total_steps,
  compat.fit_int4(r.completed_nodes) AS completed_steps,
  compat.fit_int4(r.failed_nodes) AS failed_steps,
  0 AS skipped_steps,
  CASE WHEN r.parent_trace_hex IS NOT NULL THEN 'parent_workflow' WHEN r.root_kind = 'SERVER' THEN 'api'
    ELSE 'manual' END AS triggered_by,
  r.parent_trace_hex AS parent_run_id,
  NULL::text AS schedule_id,
  compat.iso_utc(r.start_time) COLLATE "C" AS created_at,
  r.user_id AS created_by,
  NULL::text AS capture_id
FROM compat.ledger_runs r;

CREATE VIEW compat.executions WITH (security_invoker = true) AS
SELECT r.run_id AS id,
  compat.ledger_uuid('pipeline', r.tenant_id || '/' || coalesce(r.pipeline, '')) AS task_id,
  compat.ledger_uuid('agent', r.tenant_id || '/' || coalesce(r.agent_name, r.service_name, r.pipeline, '')) AS agent_id,
  r.trace_hex::text AS run_key,
  CASE WHEN r.environment IS NULL OR r.environment ~* '^(prod|production|live)$' THEN 'prod'
    WHEN r.environment ~* '^(stag|staging|stage|preprod|pre-prod|uat|qa)$' THEN 'staging'
    ELSE 'dev' END AS environment,
  CASE r.status WHEN 'RUNNING' THEN 'running' WHEN 'COMPLETED' THEN 'succeeded'
    ELSE CASE WHEN r.error_message ~* '(time ?out|timed out|deadline exceeded)' THEN 'timeout' ELSE 'failed' END
  END AS status,
  r.start_time AS started_at,
  CASE WHEN r.status <> 'RUNNING' THEN greatest(r.end_time, r.start_time) END AS ended_at,
  CASE WHEN r.status <> 'RUNNING' THEN compat.fit_int4(greatest(r.duration_ms, 0)::numeric) END AS duration_ms,
  compat.fit_numeric(r.total_cost, 12, 4)::numeric(12,4) AS cost_usd,
  compat.fit_int4(r.input_tokens) AS token_input,
  compat.fit_int4(r.output_tokens) AS token_output
FROM compat.ledger_runs r;

GRANT SELECT ON compat.ledger_runs, compat.olo_run, compat.runs, compat.traces, compat.core_workflow_runs,
  compat.executions TO runledger_analyst;

-- ledger_nodes' parent_node_id is varchar(255) now (see nodes_parent above): its dependents are created
-- again, as 007 defined them (compat.spans as below).
DROP VIEW compat.ledger_nodes CASCADE;
CREATE VIEW compat.ledger_nodes WITH (security_invoker = true) AS
SELECT n.run_id, n.node_id, n.parent_span_id, n.tenant_id, n.node_type, n.operation, n.name, n.status,
  n.error_type, n.error_message, n.start_time, n.end_time, n.duration_ms, n.provider, n.request_model,
  n.response_model, n.model_name, n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens,
  n.reasoning_tokens, n.total_tokens, n.input_cost, n.output_cost, n.total_cost, n.cost_source, n.temperature,
  n.top_p, n.max_tokens, n.finish_reasons, n.response_id, n.tool_name, n.tool_call_id, n.agent_name,
  n.session_id, n.user_id, n.prompt_hash, n.input, n.output, n.usage_counted,
  r.pipeline AS run_pipeline, r.start_time AS run_start_time, r.status AS run_status,
  r.trace_hex::text AS trace_hex,
  compat.span_uuid(n.run_id, n.node_id) AS node_uuid,
  compat.step_name(n.node_type, n.name, n.tool_name, n.agent_name) AS step_name,
  n.step_order,
  n.attempt,
  n.parent_node_id,
  -- on or below a cycle of parent ids the stored depth is NULL (or 0 for a node that is its own parent):
  -- compat counts the node ancestors up to where the walk repeats
  CASE WHEN n.depth IS NULL OR n.parent_node_id COLLATE "C" = n.node_id
    THEN (SELECT count(*) FROM compat.node_ancestors(n.tenant_id, n.run_id, n.parent_span_id, r.start_time))::integer
    ELSE n.depth END AS depth,
  (SELECT (SELECT ev -> 'attributes' FROM jsonb_array_elements(s.events) ev
           WHERE ev ->> 'name' = 'exception' LIMIT 1)
   FROM runledger.spans s
   WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
     AND s.start_time = n.start_time) AS exception
FROM runledger.nodes n
JOIN runledger.runs r ON r.tenant_id = n.tenant_id AND r.run_id = n.run_id
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity');

-- compat.spans (seed 002): the child spans bounded by the run's days on both sides, and every span joined
-- to its run within the run's time range (lookups by trace id read the run's days only).
CREATE VIEW compat.spans WITH (security_invoker = true) AS
SELECT compat.span_uuid(s.trace_id, s.span_id) AS span_id,
  s.trace_id,
  CASE WHEN s.parent_span_id IS NOT NULL THEN compat.span_uuid(s.trace_id, s.parent_span_id) END AS parent_span_id,
  coalesce(lower(n.node_type), 'span')::varchar(50) AS span_type,
  s.name::varchar(255) AS name,
  (CASE WHEN s.status_code = 'ERROR' THEN 'failed' ELSE 'completed' END)::varchar(50) AS status,
  s.start_time AT TIME ZONE 'UTC' AS started_at,
  s.end_time AT TIME ZONE 'UTC' AS completed_at,
  compat.fit_int4(extract(epoch FROM s.end_time - s.start_time) * 1000) AS duration_ms,
  coalesce(n.input, '{}'::jsonb) AS inputs,
  coalesce(n.output, '{}'::jsonb) AS outputs,
  jsonb_strip_nulls(jsonb_build_object('input', n.input_tokens, 'output', n.output_tokens, 'total', n.total_tokens,
    'cache_read', n.cache_read_tokens, 'cache_write', n.cache_write_tokens, 'reasoning', n.reasoning_tokens))
    AS tokens,
  coalesce(compat.fit_numeric(n.total_cost, 10, 6), 0)::numeric(10,6) AS cost,
  n.model_name::varchar(255) AS model,
  n.provider::varchar(100) AS provider,
  coalesce(n.error_message, CASE WHEN s.status_code = 'ERROR' THEN coalesce(nullif(s.status_message, ''),
    (SELECT ev -> 'attributes' ->> 'exception.message' FROM jsonb_array_elements(s.events) ev
     WHERE ev ->> 'name' = 'exception' LIMIT 1)) END) AS error,
  coalesce(n.error_type, CASE WHEN s.status_code = 'ERROR' THEN coalesce(
    (SELECT ev -> 'attributes' ->> 'exception.type' FROM jsonb_array_elements(s.events) ev
     WHERE ev ->> 'name' = 'exception' LIMIT 1), 'ERROR') END)::varchar(100) AS error_type,
  (SELECT ev -> 'attributes' ->> 'exception.stacktrace' FROM jsonb_array_elements(s.events) ev
   WHERE ev ->> 'name' = 'exception' LIMIT 1) AS error_stack,
  '{}'::jsonb AS api_limits,
  coalesce(n.attempt - 1, 0) AS retry_count,
  NULL::integer AS timeout,
  coalesce((SELECT jsonb_build_object('results', jsonb_agg(ev -> 'attributes'))
            FROM jsonb_array_elements(s.events) ev WHERE ev ->> 'name' = 'gen_ai.evaluation.result'
            HAVING count(*) > 0), '{}'::jsonb) AS evaluation,
  jsonb_strip_nulls(jsonb_build_object('otel_span_id', s.span_id, 'otel_parent_span_id', s.parent_span_id,
    'kind', s.kind, 'service_name', s.service_name, 'scope_name', s.scope_name, 'operation', n.operation,
    'request_model', n.request_model, 'response_model', n.response_model, 'finish_reasons', to_jsonb(n.finish_reasons),
    'tool_name', n.tool_name, 'tool_call_id', n.tool_call_id, 'agent_name', n.agent_name,
    'session_id', n.session_id, 'user_id', n.user_id, 'cost_source', n.cost_source,
    'usage_counted', n.usage_counted)) AS metadata,
  ARRAY(SELECT compat.span_uuid(c.trace_id, c.span_id)::text FROM runledger.spans c
        WHERE c.tenant_id = s.tenant_id AND c.trace_id = s.trace_id AND c.parent_span_id = s.span_id
          AND c.start_time >= r.start_time AND c.start_time <= coalesce(r.last_start_time, 'infinity')
        ORDER BY c.start_time, c.span_id) AS child_spans
FROM runledger.spans s
JOIN runledger.runs r ON r.tenant_id = s.tenant_id AND r.run_id = s.trace_id
  AND s.start_time >= r.start_time AND s.start_time <= coalesce(r.last_start_time, 'infinity')
LEFT JOIN compat.ledger_nodes n ON n.tenant_id = s.tenant_id AND n.run_id = s.trace_id AND n.node_id = s.span_id
  AND n.start_time = s.start_time;

CREATE VIEW compat.olo_run_node WITH (security_invoker = true) AS
SELECT n.run_id::uuid AS run_id,
  n.tenant_id::varchar(255) AS tenant_id,
  n.node_id::varchar(255) AS node_id,
  (CASE n.node_type
     WHEN 'LLM' THEN 'MODEL' WHEN 'EMBEDDING' THEN 'MODEL' WHEN 'RERANKER' THEN 'MODEL'
     WHEN 'AGENT' THEN 'PLANNER' WHEN 'TOOL' THEN 'TOOL' WHEN 'CHAIN' THEN 'SEQUENCE'
     WHEN 'EVALUATOR' THEN 'EVALUATION' ELSE 'PLUGIN' END)::varchar(64) AS node_type,
  n.input AS input_snapshot,
  n.start_time,
  n.output AS output_snapshot,
  n.end_time,
  n.status::varchar(32) AS status,
  n.error_message,
  compat.fit_int4(n.input_tokens) AS token_input_count,
  compat.fit_int4(n.output_tokens) AS token_output_count,
  compat.fit_numeric(n.total_cost, 10, 6)::numeric(10,6) AS estimated_cost,
  n.model_name::varchar(128) AS model_name,
  n.provider::varchar(64) AS provider,
  n.prompt_hash::varchar(128) AS prompt_hash,
  nullif(jsonb_strip_nulls(jsonb_build_object('request_model', n.request_model, 'temperature', n.temperature,
    'top_p', n.top_p, 'max_tokens', n.max_tokens)), '{}'::jsonb) AS model_config_json,
  CASE WHEN n.node_type = 'TOOL' THEN jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
    'id', n.tool_call_id, 'name', n.tool_name, 'arguments', n.input, 'result', n.output))) END AS tool_calls_json,
  NULL::varchar(512) AS external_payload_ref,
  n.attempt - 1 AS retry_count,
  n.operation::varchar(64) AS execution_stage,
  n.error_type::varchar(128) AS failure_type,
  n.error_type::varchar(64) AS error_code,
  CASE WHEN n.status = 'FAILED' OR n.error_type IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
    'type', n.error_type, 'message', n.error_message, 'stacktrace', n.exception ->> 'exception.stacktrace')) END
    AS error_details,
  compat.fit_numeric(n.input_cost, 10, 6)::numeric(10,6) AS prompt_cost,
  compat.fit_numeric(n.output_cost, 10, 6)::numeric(10,6) AS completion_cost,
  compat.fit_numeric(n.total_cost, 10, 6)::numeric(10,6) AS total_cost,
  compat.fit_numeric(n.temperature::numeric, 5, 4)::numeric(5,4) AS temperature,
  compat.fit_numeric(n.top_p::numeric, 5, 4)::numeric(5,4) AS top_p,
  n.response_id::varchar(255) AS provider_request_id,
  n.attempt,
  NULL::integer AS max_attempts,
  NULL::bigint AS backoff_ms,
  n.parent_node_id::varchar(255) AS parent_node_id,
  n.step_order AS execution_order,
  n.depth
FROM compat.ledger_nodes n;

CREATE VIEW compat.step_runs WITH (security_invoker = true) AS
SELECT n.node_uuid AS id,
  n.run_id,
  compat.ledger_uuid('step', n.tenant_id || '/' || coalesce(n.run_pipeline, '') || '/' || n.step_name) AS step_id,
  n.step_name::varchar(255) AS step_name,
  lower(n.status)::varchar(50) AS status,
  n.attempt,
  n.input,
  n.output,
  coalesce(n.error_message, n.error_type) AS error,
  n.start_time AS started_at,
  n.end_time AS completed_at,
  compat.fit_int4(n.duration_ms::numeric) AS duration_ms,
  n.start_time AS created_at
FROM compat.ledger_nodes n;

CREATE VIEW compat.core_workflow_steps WITH (security_invoker = true) AS
SELECT n.node_uuid::text AS step_id,
  n.trace_hex AS run_id,
  n.step_name,
  lower(n.node_type) AS step_type,
  n.step_order,
  n.status,
  compat.iso_utc(n.start_time) COLLATE "C" AS started_at,
  compat.iso_utc(n.end_time) COLLATE "C" AS completed_at,
  compat.fit_int4(n.duration_ms::numeric) AS duration_ms,
  n.input::text AS params,
  n.output::text AS outputs,
  coalesce(n.error_message, n.error_type) AS error,
  n.error_type AS error_category,
  NULL::integer AS row_count,
  jsonb_strip_nulls(jsonb_build_object('span_id', n.node_id, 'operation', n.operation, 'provider', n.provider,
    'model', n.model_name, 'input_tokens', n.input_tokens, 'output_tokens', n.output_tokens,
    'total_tokens', n.total_tokens, 'cost_usd', n.total_cost, 'usage_counted', n.usage_counted))::text AS metrics,
  n.attempt,
  NULL::integer AS max_attempts,
  NULL::text AS execution_id
FROM compat.ledger_nodes n;

GRANT SELECT ON compat.ledger_nodes, compat.olo_run_node, compat.step_runs, compat.spans, compat.core_workflow_steps
  TO runledger_analyst;

-- ---------------------------------------------------------------------------------------------------------
-- The writers' walk up through stored spans (src/rollup/walk.ts), as a function so that its plan is index
-- lookups whatever the statistics: a day's partitions are not analyzed for hours after midnight (and never
-- while a bulk load fills them), and on such partitions the planner hash-joined or scanned every spans
-- partition per level of the walk — ingest of runs whose root comes after its children fell to ~700
-- spans/s at 400k spans (bench/analyst.ts, late roots). Lookups by id never want anything else.
CREATE FUNCTION runledger.walk_up(tenant_ids text[], trace_ids uuid[], span_ids text[], masks integer[])
RETURNS TABLE (tenant_id text, trace_id text, span_id text, parent_span_id text, start_time text, mask integer,
  parent_missing boolean)
LANGUAGE sql STABLE
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off SET enable_bitmapscan = off
SET enable_material = off SET jit = off
AS $$WITH RECURSIVE up AS (
  SELECT s.tenant_id, s.trace_id, s.span_id, s.parent_span_id, s.start_time, x.mask
  FROM unnest(tenant_ids, trace_ids, span_ids, masks) AS x(tenant_id, trace_id, span_id, mask)
  JOIN runledger.spans s ON s.tenant_id = x.tenant_id AND s.trace_id = x.trace_id AND s.span_id = x.span_id
  UNION
  SELECT s.tenant_id, s.trace_id, s.span_id, s.parent_span_id, s.start_time, up.mask
  FROM up JOIN runledger.spans s ON s.tenant_id = up.tenant_id AND s.trace_id = up.trace_id AND s.span_id = up.parent_span_id
)
SELECT up.tenant_id, replace(up.trace_id::text, '-', '') AS trace_id, up.span_id, up.parent_span_id,
  min(up.start_time)::text AS start_time, bit_or(up.mask) AS mask,
  (up.parent_span_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM runledger.spans p
    WHERE p.tenant_id = up.tenant_id AND p.trace_id = up.trace_id AND p.span_id = up.parent_span_id)) AS parent_missing
FROM up GROUP BY up.tenant_id, up.trace_id, up.span_id, up.parent_span_id
$$;
REVOKE EXECUTE ON FUNCTION runledger.walk_up(text[], uuid[], text[], integer[]) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------------------
-- JIT off for the ledger's database, where this role may set it and nobody has set jit on it. The ledger's
-- tables are partitioned by day: a plan over a month of partitions repeats its expressions per partition,
-- and PostgreSQL's default thresholds (jit_above_cost 100000) compile them all — 2,741 functions and 34.8 s
-- for one run's 24 nodes on PostgreSQL 15 at 2M spans (issue 12), where the query itself takes milliseconds.
-- The analyst queries are index lookups and aggregates over a few days' partitions, which JIT does not
-- speed up measurably (bench/analyst.ts prints both). Shared servers: docs/queries.md, "JIT".
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
             WHERE d.datname = current_database() AND s.setrole = 0
               AND EXISTS (SELECT 1 FROM unnest(s.setconfig) c WHERE c LIKE 'jit=%')) THEN
    RAISE NOTICE 'runledger: jit is set on database % already: left as it is', current_database();
  ELSIF EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = current_database()
                AND (pg_has_role(current_user, d.datdba, 'MEMBER')
                     OR (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user))) THEN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
  ELSE
    RAISE NOTICE 'runledger: % does not own database %: jit left as it is (docs/queries.md, "JIT")', current_user, current_database();
  END IF;
END $$;
