-- Stable views for analysts (docs/queries.md). Views over the ledger run with the caller's rights
-- (security_invoker, PostgreSQL >= 15), so row-level security applies to runledger_analyst as on the tables.

-- One row per run: the runs row plus derived columns. Columns computed from nodes (failed_nodes,
-- llm_time_*) are subqueries evaluated only when selected; the run's start (its earliest span's) bounds its nodes' start
-- times, which skips earlier days' partitions.
CREATE VIEW runledger.run_summary WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.name, r.service_name, r.environment, r.session_id, r.user_id,
  r.status, r.error_message,
  (r.start_time AT TIME ZONE 'UTC')::date AS day,
  r.start_time, r.end_time, r.duration_ms,
  r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count AS error_spans,
  (SELECT count(*) FROM runledger.nodes n WHERE n.run_id = r.run_id AND n.status = 'FAILED'
     AND n.start_time >= r.start_time) AS failed_nodes,
  r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens,
  r.total_cost, r.currency, r.models,
  cardinality(r.models) AS model_count,
  round(r.total_cost * 1000 / NULLIF(r.total_tokens, 0), 10) AS cost_per_1k_tokens,
  r.llm_calls::double precision / NULLIF(r.total_nodes, 0) AS llm_call_share,
  l.llm_time_ms,
  l.llm_time_ms / NULLIF(r.duration_ms, 0) AS llm_time_share
FROM runledger.runs r,
LATERAL (SELECT (SELECT sum(n.duration_ms) FROM runledger.nodes n WHERE n.run_id = r.run_id AND n.node_type = 'LLM'
  AND n.start_time >= r.start_time) AS llm_time_ms OFFSET 0) l;  -- OFFSET 0: computed once

-- The node tree of one run. parent_node_id is the nearest ancestor that is a node (found by walking up
-- through spans that are not nodes); depth counts node ancestors (0: none). A node whose chain of spans
-- breaks (a parent span not stored yet) starts a tree of its own: depth 0, parent_node_id NULL,
-- parent_missing true. exec_order numbers the run's nodes by (start_time, node_id); ordering by
-- tree_path (exec_order of every node ancestor, then its own) lists the tree depth-first.
-- Nodes on a cycle of parent ids (malformed input) are listed with depth and tree_path NULL.
CREATE FUNCTION runledger.node_tree(run_id uuid)
RETURNS TABLE (
  node_id text, parent_node_id text, depth integer, exec_order integer, tree_path integer[],
  parent_missing boolean, parent_span_id text, tenant_id text, node_type text, name text, status text,
  start_time timestamptz, end_time timestamptz, duration_ms double precision, provider text, model_name text,
  total_tokens bigint, total_cost numeric, usage_counted boolean
)
LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
WITH RECURSIVE
-- the run's start (its earliest span's start) bounds its rows' start times: earlier partitions are skipped
-- (not its end: a span whose clock put its end before its start may start after the run ended)
bounds AS MATERIALIZED (
  SELECT coalesce(min(r.start_time), '-infinity') AS lo
  FROM runledger.runs r WHERE r.run_id = node_tree.run_id
),
run_nodes AS MATERIALIZED (
  SELECT n.*, row_number() OVER (ORDER BY n.start_time, n.node_id)::integer AS exec_order
  FROM runledger.nodes n
  WHERE n.run_id = node_tree.run_id
    AND n.start_time >= (SELECT lo FROM bounds)
),
-- candidate ancestors of each node: its parent span, then up through stored spans that are not nodes
up (node_id, anc) AS (
  SELECT m.node_id, m.parent_span_id FROM run_nodes m WHERE m.parent_span_id IS NOT NULL
  UNION
  SELECT u.node_id, s.parent_span_id
  FROM up u JOIN runledger.spans s ON s.trace_id = node_tree.run_id AND s.span_id = u.anc
    AND s.start_time >= (SELECT lo FROM bounds)
  WHERE s.parent_span_id IS NOT NULL AND u.anc <> u.node_id
    AND NOT EXISTS (SELECT 1 FROM run_nodes m WHERE m.node_id = u.anc)
),
links AS (
  SELECT m.node_id,
    (SELECT p.node_id FROM up u JOIN run_nodes p ON p.node_id = u.anc
     WHERE u.node_id = m.node_id AND u.anc <> m.node_id LIMIT 1) AS parent_node_id,
    EXISTS (SELECT 1 FROM up u WHERE u.node_id = m.node_id
      AND NOT EXISTS (SELECT 1 FROM runledger.spans s WHERE s.trace_id = node_tree.run_id AND s.span_id = u.anc
        AND s.start_time >= (SELECT lo FROM bounds))
    ) AS parent_missing
  FROM run_nodes m
),
tree (node_id, depth, tree_path) AS (
  SELECT l.node_id, 0, ARRAY[m.exec_order]
  FROM links l JOIN run_nodes m USING (node_id) WHERE l.parent_node_id IS NULL
  UNION ALL
  SELECT l.node_id, t.depth + 1, t.tree_path || m.exec_order
  FROM tree t JOIN links l ON l.parent_node_id = t.node_id JOIN run_nodes m ON m.node_id = l.node_id
)
SELECT m.node_id, l.parent_node_id, t.depth, m.exec_order, t.tree_path,
  l.parent_missing, m.parent_span_id, m.tenant_id, m.node_type, m.name, m.status,
  m.start_time, m.end_time, m.duration_ms, m.provider, m.model_name, m.total_tokens, m.total_cost, m.usage_counted
FROM run_nodes m JOIN links l USING (node_id) LEFT JOIN tree t USING (node_id)
$$;

-- The node trees of many runs: conditions on run_id, pipeline or run_start_time filter the runs first,
-- then node_tree() runs once per run left. Without such a condition it computes every run's tree.
CREATE VIEW runledger.node_trees WITH (security_invoker = true) AS
SELECT r.run_id, r.pipeline, r.start_time AS run_start_time, t.*
FROM runledger.runs r CROSS JOIN LATERAL runledger.node_tree(r.run_id) t;

-- Failed nodes with their run and nearest node ancestor (a walk up through the spans of each failed node).
CREATE VIEW runledger.failed_nodes WITH (security_invoker = true) AS
SELECT n.run_id, n.node_id, n.tenant_id, r.pipeline, r.name AS run_name, r.status AS run_status,
  (n.start_time AT TIME ZONE 'UTC')::date AS day,
  n.node_type, n.operation, n.name, n.error_type, n.error_message,
  n.start_time, n.end_time, n.duration_ms, n.provider, n.model_name, n.tool_name, n.agent_name,
  a.node_id AS parent_node_id, a.name AS parent_node_name, a.node_type AS parent_node_type,
  a.status AS parent_node_status
FROM runledger.nodes n
LEFT JOIN runledger.runs r ON r.run_id = n.run_id
LEFT JOIN LATERAL (
  -- a node's row has its span's start_time: (run_id, node_id, start_time) is the nodes' primary key
  WITH RECURSIVE up (span_id, start_time, parent_span_id, hops) AS (
    SELECT s.span_id, s.start_time, s.parent_span_id, 1 FROM runledger.spans s
    WHERE s.trace_id = n.run_id AND s.span_id = n.parent_span_id
      AND s.start_time >= coalesce(r.start_time, '-infinity')
    UNION ALL
    SELECT s.span_id, s.start_time, s.parent_span_id, up.hops + 1
    FROM up JOIN runledger.spans s ON s.trace_id = n.run_id AND s.span_id = up.parent_span_id
      AND s.start_time >= coalesce(r.start_time, '-infinity')
    WHERE up.hops < 1000 AND NOT EXISTS (SELECT 1 FROM runledger.nodes p
      WHERE p.run_id = n.run_id AND p.node_id = up.span_id AND p.start_time = up.start_time)
  )
  SELECT p.node_id, p.name, p.node_type, p.status
  FROM up JOIN runledger.nodes p ON p.run_id = n.run_id AND p.node_id = up.span_id AND p.start_time = up.start_time
  WHERE p.node_id <> n.node_id
  ORDER BY up.hops LIMIT 1
) a ON true
WHERE n.status = 'FAILED';

-- Cost and tokens per UTC day (of the node's start) x tenant x pipeline x provider x model. Usage sums
-- take counted nodes only (usage_counted), so they add up to the runs' totals; the LLM and EMBEDDING
-- nodes are all listed for the call counts.
--
-- A table, rewritten a few days at a time by runledger.refresh_daily_usage(): a refresh reads only the
-- nodes of its window (the other days' partitions are skipped), and a day whose nodes are gone (dropped
-- by retention) keeps its rows, so the rollup outlives the spans. Analysts read it through
-- runledger.daily_usage.
CREATE TABLE runledger.daily_usage_rollup (
  day                 date        NOT NULL,
  tenant_id           text        NOT NULL,
  pipeline            text,
  provider            text,
  model               text,
  runs                bigint      NOT NULL,
  calls               bigint      NOT NULL,
  llm_calls           bigint      NOT NULL,
  embedding_calls     bigint      NOT NULL,
  failed_calls        bigint      NOT NULL,
  counted_calls       bigint      NOT NULL,
  input_tokens        bigint      NOT NULL,
  output_tokens       bigint      NOT NULL,
  cache_read_tokens   bigint      NOT NULL,
  cache_write_tokens  bigint      NOT NULL,
  reasoning_tokens    bigint      NOT NULL,
  total_tokens        bigint      NOT NULL,
  total_cost          numeric(20,10) NOT NULL,
  unpriced_calls      bigint      NOT NULL,
  refreshed_at        timestamptz NOT NULL   -- when the refresh that wrote the row ran
);

-- NULLS NOT DISTINCT: a group without pipeline, provider or model is one row too.
CREATE UNIQUE INDEX daily_usage_rollup_key ON runledger.daily_usage_rollup (day, tenant_id, pipeline, provider, model)
  NULLS NOT DISTINCT;

-- The last refresh of each rollup (written by refresh_daily_usage). sealed_before: days before it are
-- final (retention dropped their nodes after rolling them up, see finalize_daily_usage); refreshes
-- leave them alone.
CREATE TABLE runledger.rollup_refreshes (
  name          text PRIMARY KEY,
  refreshed_at  timestamptz NOT NULL,
  duration_ms   double precision NOT NULL,
  since         date,       -- the window of the last refresh (UTC days, both included)
  until         date,
  days          integer,    -- days it rewrote
  sealed_before date
);

-- Analysts read the rollup through this view, which runs with the owner's rights and shows the
-- caller's tenant only when row-level security applies to the caller on runledger.nodes (as it does
-- for runledger_analyst). security_barrier keeps the callers' own conditions from being evaluated
-- before the tenant filter.
CREATE VIEW runledger.daily_usage WITH (security_barrier = true) AS
SELECT u.day, u.tenant_id, u.pipeline, u.provider, u.model, u.runs, u.calls, u.llm_calls, u.embedding_calls,
  u.failed_calls, u.counted_calls, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
  u.reasoning_tokens, u.total_tokens, u.total_cost, u.unpriced_calls
FROM runledger.daily_usage_rollup u
WHERE NOT row_security_active('runledger.nodes')
   OR u.tenant_id = current_setting('runledger.tenant_id', true);

-- Recompute the rollup of the UTC days since .. until (both included; default: until today, since two
-- days before until) from the nodes that start in them, and return how many days it rewrote. Each day
-- that has nodes in the window gets exactly the rows computed now (its old rows are deleted, whatever
-- they were); a day without nodes (dropped by retention, or never written) keeps its rows. Days before
-- rollup_refreshes.sealed_before are skipped.
--
-- One statement computes and writes (one snapshot: the rows it deletes and inserts describe the same
-- ledger state); readers see the old or the new rows of a day, never a mix, and are not blocked.
-- Concurrent callers run one after the other (advisory lock, taken before that statement's snapshot).
-- Call it in its own READ COMMITTED transaction (as autocommit does).
CREATE FUNCTION runledger.refresh_daily_usage(since date DEFAULT NULL, until date DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  started timestamptz := clock_timestamp();
  hi date := coalesce(until, (now() AT TIME ZONE 'UTC')::date);
  lo date := coalesce(since, hi - 2);
  sealed date;
  rewritten integer := 0;
BEGIN
  IF lo > hi THEN
    RAISE EXCEPTION 'refresh_daily_usage: since (%) is after until (%)', lo, hi USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pg_advisory_xact_lock(1919117679);
  SELECT f.sealed_before INTO sealed FROM runledger.rollup_refreshes f WHERE f.name = 'daily_usage';
  lo := greatest(lo, sealed);  -- NULL (nothing sealed) is ignored

  IF lo <= hi THEN
    WITH per_run AS (
      -- per day x tenant x run x provider x model over all the window's nodes: a group of nodes that are
      -- not listed (agents, tools, ...) has calls = 0 and only tells that its day has nodes. Every day
      -- with nodes is rewritten, also when none of them is listed any more (a node's usage_counted
      -- turned false when a child arrived).
      SELECT s.day, s.tenant_id, s.run_id, s.provider, s.model,
        count(*) FILTER (WHERE s.listed) AS calls,
        count(*) FILTER (WHERE s.node_type = 'LLM') AS llm_calls,
        count(*) FILTER (WHERE s.node_type = 'EMBEDDING') AS embedding_calls,
        count(*) FILTER (WHERE s.listed AND s.status = 'FAILED') AS failed_calls,
        count(*) FILTER (WHERE s.usage_counted) AS counted_calls,
        sum(s.input_tokens) FILTER (WHERE s.usage_counted) AS input_tokens,
        sum(s.output_tokens) FILTER (WHERE s.usage_counted) AS output_tokens,
        sum(s.cache_read_tokens) FILTER (WHERE s.usage_counted) AS cache_read_tokens,
        sum(s.cache_write_tokens) FILTER (WHERE s.usage_counted) AS cache_write_tokens,
        sum(s.reasoning_tokens) FILTER (WHERE s.usage_counted) AS reasoning_tokens,
        sum(s.total_tokens) FILTER (WHERE s.usage_counted) AS total_tokens,
        sum(s.total_cost) FILTER (WHERE s.usage_counted) AS total_cost,
        count(*) FILTER (WHERE s.usage_counted AND s.total_cost IS NULL) AS unpriced_calls
      FROM (
        SELECT (n.start_time AT TIME ZONE 'UTC')::date AS day, n.tenant_id, n.run_id, n.provider,
          n.model_name AS model, n.node_type, n.status, n.usage_counted,
          n.usage_counted OR n.node_type IN ('LLM', 'EMBEDDING') AS listed,
          n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens,
          n.total_tokens, n.total_cost
        FROM runledger.nodes n
        WHERE n.start_time >= (lo::timestamp AT TIME ZONE 'UTC') AND n.start_time < ((hi + 1)::timestamp AT TIME ZONE 'UTC')
      ) s
      GROUP BY s.day, s.tenant_id, s.run_id, s.provider, s.model
    ),
    days AS (SELECT DISTINCT p.day FROM per_run p),
    gone AS (
      DELETE FROM runledger.daily_usage_rollup u USING days d WHERE u.day = d.day RETURNING 1
    ),
    fresh AS (
      INSERT INTO runledger.daily_usage_rollup (day, tenant_id, pipeline, provider, model, runs, calls, llm_calls,
        embedding_calls, failed_calls, counted_calls, input_tokens, output_tokens, cache_read_tokens,
        cache_write_tokens, reasoning_tokens, total_tokens, total_cost, unpriced_calls, refreshed_at)
      SELECT g.day, g.tenant_id, g.pipeline, g.provider, g.model,
        count(DISTINCT g.run_id), sum(g.calls), sum(g.llm_calls), sum(g.embedding_calls), sum(g.failed_calls),
        sum(g.counted_calls),
        coalesce(sum(g.input_tokens), 0), coalesce(sum(g.output_tokens), 0), coalesce(sum(g.cache_read_tokens), 0),
        coalesce(sum(g.cache_write_tokens), 0), coalesce(sum(g.reasoning_tokens), 0), coalesce(sum(g.total_tokens), 0),
        coalesce(sum(g.total_cost), 0), sum(g.unpriced_calls), now()
      FROM (
        -- the run's pipeline: one primary-key lookup per group (a join could scan all of runs)
        SELECT p.*, (SELECT r.pipeline FROM runledger.runs r WHERE r.run_id = p.run_id) AS pipeline
        FROM per_run p
        WHERE p.calls > 0
      ) g
      -- reads all of "gone" first: the old rows are deleted before any new one is inserted
      WHERE (SELECT count(*) FROM gone) >= 0
      GROUP BY g.day, g.tenant_id, g.pipeline, g.provider, g.model
      RETURNING 1
    )
    SELECT count(*) INTO rewritten FROM days;
  END IF;

  INSERT INTO runledger.rollup_refreshes AS f (name, refreshed_at, duration_ms, since, until, days)
  VALUES ('daily_usage', now(), extract(epoch FROM clock_timestamp() - started) * 1000, lo, hi, rewritten)
  ON CONFLICT (name) DO UPDATE SET refreshed_at = excluded.refreshed_at, duration_ms = excluded.duration_ms,
    since = excluded.since, until = excluded.until, days = excluded.days;
  RETURN rewritten;
END $$;

-- Before retention drops the nodes of the days before `before`: roll those days up one last time
-- (those still stored; days already sealed are skipped) and seal them, so that later refreshes keep
-- their rows even if late spans for them arrive (retention would delete those too). Returns the days
-- rewritten.
CREATE FUNCTION runledger.finalize_daily_usage(before date) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  rewritten integer;
BEGIN
  PERFORM pg_advisory_xact_lock(1919117679);  -- held until commit: no refresh between the two steps
  rewritten := runledger.refresh_daily_usage('-infinity', before - 1);
  UPDATE runledger.rollup_refreshes f SET sealed_before = greatest(f.sealed_before, before) WHERE f.name = 'daily_usage';
  RETURN rewritten;
END $$;

REVOKE EXECUTE ON FUNCTION runledger.refresh_daily_usage(date, date), runledger.finalize_daily_usage(date) FROM PUBLIC;

-- The rows the ledger holds now.
SELECT runledger.refresh_daily_usage('-infinity', 'infinity');

GRANT SELECT ON runledger.run_summary, runledger.node_trees, runledger.failed_nodes, runledger.daily_usage,
  runledger.rollup_refreshes TO runledger_analyst;
GRANT EXECUTE ON FUNCTION runledger.node_tree(uuid) TO runledger_analyst;
