-- A run belongs to one tenant: run identity is (tenant_id, trace_id) everywhere.
--
-- Until now a trace id alone named a run, so a tenant that learnt another tenant's trace id (they travel
-- in traceparent headers) could send spans into that run: change its status, name and root, un-count its
-- usage (a child span under the other tenant's LLM span), or own the runs row if it came first. From here
-- on every key starts with tenant_id (runs, nodes, spans, usage_frontier), every join between them matches
-- tenant_id, and a span can only be the child of a span of its own tenant. tenant_id first is also the
-- column a Citus deployment would distribute these tables by.
--
-- Sums that a tenant controls cannot overflow any more: the runs' token and cost totals and the daily
-- usage rollup are numeric(38, 0) / numeric(38, 10) (a bigint or numeric(20,10) total could be driven
-- past its limit by one tenant's absurd values, after which PostgreSQL refused every further span of that
-- run and every rollup refresh of every tenant).
--
-- Writers lock runs by their rows (see "Run locks" below), not by advisory locks: FOR UPDATE needs
-- UPDATE rights on runledger.runs, so no read-only login (an analyst) can take or hold a lock a writer needs.

-- ---------------------------------------------------------------------------------------------------------
-- Views and functions over the changed keys and columns are recreated below.

DROP VIEW compat.executions, compat.core_workflow_steps, compat.core_workflow_runs, compat.spans, compat.traces,
  compat.step_runs, compat.runs, compat.olo_run_node, compat.olo_run, compat.ledger_nodes, compat.ledger_runs;
DROP FUNCTION compat.node_ancestors(uuid, text, timestamptz);
DROP VIEW runledger.node_trees, runledger.run_summary, runledger.failed_nodes, runledger.daily_usage;
DROP FUNCTION runledger.node_tree(uuid);

-- ---------------------------------------------------------------------------------------------------------
-- Existing data. A trace that holds spans of several tenants had one runs row mixing their values (and
-- usage flags set across tenants): those runs rows and frontier rows go, and each (tenant, trace) of such a
-- trace is queued for `runledger repair`, which recomputes usage_counted, the frontier and the runs row of
-- each tenant's run from its own spans (the gateway and `runledger migrate` work the queue off).

CREATE TABLE runledger.repair_queue (
  tenant_id  text COLLATE "C" NOT NULL,
  run_id     uuid NOT NULL,
  queued_at  timestamptz NOT NULL DEFAULT now(),
  reason     text NOT NULL,
  PRIMARY KEY (tenant_id, run_id)
);

CREATE TEMP TABLE mixed_traces ON COMMIT DROP AS
SELECT s.trace_id FROM runledger.spans s GROUP BY s.trace_id HAVING count(DISTINCT s.tenant_id) > 1;

INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT DISTINCT s.tenant_id, s.trace_id, 'trace shared by several tenants before migration 007'
FROM runledger.spans s JOIN mixed_traces m ON m.trace_id = s.trace_id;

DELETE FROM runledger.runs r USING mixed_traces m WHERE r.run_id = m.trace_id;
DELETE FROM runledger.usage_frontier f USING mixed_traces m WHERE f.trace_id = m.trace_id;

-- ---------------------------------------------------------------------------------------------------------
-- Keys: tenant_id first. Tenant ids are identifiers: COLLATE "C" compares them byte-wise, as the span ids,
-- where a locale collation calls strcoll at every comparison of every key insert.

DROP POLICY tenant_isolation ON runledger.spans;
DROP POLICY tenant_isolation ON runledger.nodes;
DROP POLICY tenant_isolation ON runledger.runs;
ALTER TABLE runledger.runs ALTER COLUMN tenant_id TYPE text COLLATE "C";
ALTER TABLE runledger.spans ALTER COLUMN tenant_id TYPE text COLLATE "C";
ALTER TABLE runledger.nodes ALTER COLUMN tenant_id TYPE text COLLATE "C";
ALTER TABLE runledger.daily_usage_rollup ALTER COLUMN tenant_id TYPE text COLLATE "C";
CREATE POLICY tenant_isolation ON runledger.spans FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));
CREATE POLICY tenant_isolation ON runledger.nodes FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));
CREATE POLICY tenant_isolation ON runledger.runs FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));

ALTER TABLE runledger.runs DROP CONSTRAINT runs_pkey, ADD PRIMARY KEY (tenant_id, run_id);
ALTER TABLE runledger.spans DROP CONSTRAINT spans_pkey, ADD PRIMARY KEY (tenant_id, trace_id, span_id, start_time);
ALTER TABLE runledger.nodes DROP CONSTRAINT nodes_pkey, ADD PRIMARY KEY (tenant_id, run_id, node_id, start_time);

ALTER TABLE runledger.usage_frontier ADD COLUMN tenant_id text COLLATE "C";
UPDATE runledger.usage_frontier f SET tenant_id = (
  SELECT s.tenant_id FROM runledger.spans s WHERE s.trace_id = f.trace_id AND s.span_id = f.span_id LIMIT 1);
DELETE FROM runledger.usage_frontier WHERE tenant_id IS NULL;  -- its span is gone (retention): nothing waits on it
ALTER TABLE runledger.usage_frontier ALTER COLUMN tenant_id SET NOT NULL,
  DROP CONSTRAINT usage_frontier_pkey, ADD PRIMARY KEY (tenant_id, trace_id, span_id);

-- ---------------------------------------------------------------------------------------------------------
-- Totals that cannot overflow.

ALTER TABLE runledger.runs
  ALTER COLUMN input_tokens TYPE numeric(38, 0), ALTER COLUMN output_tokens TYPE numeric(38, 0),
  ALTER COLUMN cache_read_tokens TYPE numeric(38, 0), ALTER COLUMN cache_write_tokens TYPE numeric(38, 0),
  ALTER COLUMN reasoning_tokens TYPE numeric(38, 0), ALTER COLUMN total_tokens TYPE numeric(38, 0),
  ALTER COLUMN total_cost TYPE numeric(38, 10);

ALTER TABLE runledger.daily_usage_rollup
  ALTER COLUMN input_tokens TYPE numeric(38, 0), ALTER COLUMN output_tokens TYPE numeric(38, 0),
  ALTER COLUMN cache_read_tokens TYPE numeric(38, 0), ALTER COLUMN cache_write_tokens TYPE numeric(38, 0),
  ALTER COLUMN reasoning_tokens TYPE numeric(38, 0), ALTER COLUMN total_tokens TYPE numeric(38, 0),
  ALTER COLUMN total_cost TYPE numeric(38, 10);

-- ---------------------------------------------------------------------------------------------------------
-- Run locks. A transaction that changes a run holds its runs row: an existing row by FOR UPDATE (writers
-- skip rows others hold: SKIP LOCKED), a new run by inserting its row. Both need rights on runledger.runs
-- that no read-only login has. The writer's statements are in src/rollup/sql.ts; these two serve the writer's
-- re-send path and the maintenance commands.

/**
 * Create empty rows (status RUNNING, no spans, times ±infinity: neutral for every fold of the runs update)
 * for the runs that have none, in key order, and return them. The caller fills each before it commits, or
 * deletes it, so no other session ever sees one. Rows that exist are left alone, whoever holds them; a run
 * another transaction is creating now is waited for (then it exists, and is not returned).
 */
CREATE FUNCTION runledger.create_runs(tenant_ids text[], run_ids uuid[])
RETURNS TABLE (tenant_id text, run_id uuid)
LANGUAGE sql AS $$
  INSERT INTO runledger.runs AS r (tenant_id, run_id, status, start_time, end_time, duration_ms, span_count,
    total_nodes, llm_calls, tool_calls, error_count, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, reasoning_tokens, total_tokens, total_cost, models)
  SELECT w.tenant_id, w.run_id, 'RUNNING', 'infinity', '-infinity', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}'
  FROM (SELECT DISTINCT u.tenant_id, u.run_id FROM unnest(tenant_ids, run_ids) AS u(tenant_id, run_id)) w
  WHERE NOT EXISTS (SELECT 1 FROM runledger.runs x WHERE x.tenant_id = w.tenant_id AND x.run_id = w.run_id)
  ORDER BY w.tenant_id, w.run_id
  ON CONFLICT DO NOTHING
  RETURNING r.tenant_id, r.run_id
$$;

/**
 * Lock the runs (maintenance: repair, reprice; the logs writer), waiting for other holders (bounded by
 * lock_timeout), in key order: first the rows that exist, then empty rows for the runs that have none
 * (create_runs), then the rows another transaction created meanwhile. Returns the runs and whether their row
 * was created now.
 */
CREATE FUNCTION runledger.lock_runs(tenant_ids text[], run_ids uuid[])
RETURNS TABLE (tenant_id text, run_id uuid, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  had_tenants text[];
  had_runs uuid[];
  made_tenants text[];
  made_runs uuid[];
BEGIN
  WITH had AS (
    SELECT r.tenant_id, r.run_id FROM runledger.runs r
    WHERE (r.tenant_id, r.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids))
    ORDER BY r.tenant_id, r.run_id FOR UPDATE OF r
  )
  SELECT coalesce(array_agg(h.tenant_id), '{}'), coalesce(array_agg(h.run_id), '{}') INTO had_tenants, had_runs FROM had h;
  SELECT coalesce(array_agg(m.tenant_id), '{}'), coalesce(array_agg(m.run_id), '{}') INTO made_tenants, made_runs
  FROM runledger.create_runs(tenant_ids, run_ids) m;
  RETURN QUERY SELECT h.tenant_id, h.run_id, false FROM unnest(had_tenants, had_runs) AS h(tenant_id, run_id);
  RETURN QUERY SELECT m.tenant_id, m.run_id, true FROM unnest(made_tenants, made_runs) AS m(tenant_id, run_id);
  -- created by another transaction between the two steps above
  RETURN QUERY SELECT r.tenant_id, r.run_id, false FROM runledger.runs r
    WHERE (r.tenant_id, r.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids))
      AND (r.tenant_id, r.run_id) NOT IN (SELECT * FROM unnest(had_tenants || made_tenants, had_runs || made_runs))
    ORDER BY r.tenant_id, r.run_id FOR UPDATE OF r;
END $$;

REVOKE EXECUTE ON FUNCTION runledger.create_runs(text[], uuid[]), runledger.lock_runs(text[], uuid[]) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------------------
-- Analyst views (004), every run-to-node/span lookup within the run's tenant.

CREATE VIEW runledger.run_summary WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.name, r.service_name, r.environment, r.session_id, r.user_id,
  r.status, r.error_message,
  (r.start_time AT TIME ZONE 'UTC')::date AS day,
  r.start_time, r.end_time, r.duration_ms,
  r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count AS error_spans,
  (SELECT count(*) FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id
     AND n.status = 'FAILED' AND n.start_time >= r.start_time) AS failed_nodes,
  r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens,
  r.total_cost, r.currency, r.models,
  cardinality(r.models) AS model_count,
  round(r.total_cost * 1000 / NULLIF(r.total_tokens, 0), 10) AS cost_per_1k_tokens,
  r.llm_calls::double precision / NULLIF(r.total_nodes, 0) AS llm_call_share,
  l.llm_time_ms,
  l.llm_time_ms / NULLIF(r.duration_ms, 0) AS llm_time_share
FROM runledger.runs r,
LATERAL (SELECT (SELECT sum(n.duration_ms) FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
  AND n.run_id = r.run_id AND n.node_type = 'LLM' AND n.start_time >= r.start_time) AS llm_time_ms OFFSET 0) l;

-- The node trees of the runs with this id: one per tenant that has such a run (given tenant_id: that
-- tenant's only). Nodes never link across tenants. Columns as before (004); see docs/queries.md.
CREATE FUNCTION runledger.node_tree(run_id uuid, tenant_id text DEFAULT NULL)
RETURNS TABLE (
  node_id text, parent_node_id text, depth integer, exec_order integer, tree_path integer[],
  parent_missing boolean, parent_span_id text, tenant_id text, node_type text, name text, status text,
  start_time timestamptz, end_time timestamptz, duration_ms double precision, provider text, model_name text,
  total_tokens bigint, total_cost numeric, usage_counted boolean
)
LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
WITH RECURSIVE
-- the earliest start of the runs bounds their rows' start times: earlier partitions are skipped
bounds AS MATERIALIZED (
  SELECT coalesce(min(r.start_time), '-infinity') AS lo
  FROM runledger.runs r WHERE r.run_id = node_tree.run_id AND (node_tree.tenant_id IS NULL OR r.tenant_id = node_tree.tenant_id)
),
run_nodes AS MATERIALIZED (
  SELECT n.*, row_number() OVER (PARTITION BY n.tenant_id ORDER BY n.start_time, n.node_id)::integer AS exec_order
  FROM runledger.nodes n
  WHERE n.run_id = node_tree.run_id AND (node_tree.tenant_id IS NULL OR n.tenant_id = node_tree.tenant_id)
    AND n.start_time >= (SELECT lo FROM bounds)
),
up (tenant_id, node_id, anc) AS (
  SELECT m.tenant_id, m.node_id, m.parent_span_id FROM run_nodes m WHERE m.parent_span_id IS NOT NULL
  UNION
  SELECT u.tenant_id, u.node_id, s.parent_span_id
  FROM up u JOIN runledger.spans s ON s.tenant_id = u.tenant_id AND s.trace_id = node_tree.run_id AND s.span_id = u.anc
    AND s.start_time >= (SELECT lo FROM bounds)
  WHERE s.parent_span_id IS NOT NULL AND u.anc <> u.node_id
    AND NOT EXISTS (SELECT 1 FROM run_nodes m WHERE m.tenant_id = u.tenant_id AND m.node_id = u.anc)
),
links AS (
  SELECT m.tenant_id, m.node_id,
    (SELECT p.node_id FROM up u JOIN run_nodes p ON p.tenant_id = u.tenant_id AND p.node_id = u.anc
     WHERE u.tenant_id = m.tenant_id AND u.node_id = m.node_id AND u.anc <> m.node_id LIMIT 1) AS parent_node_id,
    EXISTS (SELECT 1 FROM up u WHERE u.tenant_id = m.tenant_id AND u.node_id = m.node_id
      AND NOT EXISTS (SELECT 1 FROM runledger.spans s WHERE s.tenant_id = u.tenant_id AND s.trace_id = node_tree.run_id
        AND s.span_id = u.anc AND s.start_time >= (SELECT lo FROM bounds))
    ) AS parent_missing
  FROM run_nodes m
),
tree (tenant_id, node_id, depth, tree_path) AS (
  SELECT l.tenant_id, l.node_id, 0, ARRAY[m.exec_order]
  FROM links l JOIN run_nodes m USING (tenant_id, node_id) WHERE l.parent_node_id IS NULL
  UNION ALL
  SELECT l.tenant_id, l.node_id, t.depth + 1, t.tree_path || m.exec_order
  FROM tree t JOIN links l ON l.tenant_id = t.tenant_id AND l.parent_node_id = t.node_id
    JOIN run_nodes m ON m.tenant_id = l.tenant_id AND m.node_id = l.node_id
)
SELECT m.node_id, l.parent_node_id, t.depth, m.exec_order, t.tree_path,
  l.parent_missing, m.parent_span_id, m.tenant_id, m.node_type, m.name, m.status,
  m.start_time, m.end_time, m.duration_ms, m.provider, m.model_name, m.total_tokens, m.total_cost, m.usage_counted
FROM run_nodes m JOIN links l USING (tenant_id, node_id) LEFT JOIN tree t USING (tenant_id, node_id)
$$;

CREATE VIEW runledger.node_trees WITH (security_invoker = true) AS
SELECT r.run_id, r.pipeline, r.start_time AS run_start_time, t.*
FROM runledger.runs r CROSS JOIN LATERAL runledger.node_tree(r.run_id, r.tenant_id) t;

CREATE VIEW runledger.failed_nodes WITH (security_invoker = true) AS
SELECT n.run_id, n.node_id, n.tenant_id, r.pipeline, r.name AS run_name, r.status AS run_status,
  (n.start_time AT TIME ZONE 'UTC')::date AS day,
  n.node_type, n.operation, n.name, n.error_type, n.error_message,
  n.start_time, n.end_time, n.duration_ms, n.provider, n.model_name, n.tool_name, n.agent_name,
  a.node_id AS parent_node_id, a.name AS parent_node_name, a.node_type AS parent_node_type,
  a.status AS parent_node_status
FROM runledger.nodes n
LEFT JOIN runledger.runs r ON r.tenant_id = n.tenant_id AND r.run_id = n.run_id
LEFT JOIN LATERAL (
  WITH RECURSIVE up (span_id, start_time, parent_span_id, hops) AS (
    SELECT s.span_id, s.start_time, s.parent_span_id, 1 FROM runledger.spans s
    WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.parent_span_id
      AND s.start_time >= coalesce(r.start_time, '-infinity')
    UNION ALL
    SELECT s.span_id, s.start_time, s.parent_span_id, up.hops + 1
    FROM up JOIN runledger.spans s ON s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = up.parent_span_id
      AND s.start_time >= coalesce(r.start_time, '-infinity')
    WHERE up.hops < 1000 AND NOT EXISTS (SELECT 1 FROM runledger.nodes p
      WHERE p.tenant_id = n.tenant_id AND p.run_id = n.run_id AND p.node_id = up.span_id AND p.start_time = up.start_time)
  )
  SELECT p.node_id, p.name, p.node_type, p.status
  FROM up JOIN runledger.nodes p ON p.tenant_id = n.tenant_id AND p.run_id = n.run_id AND p.node_id = up.span_id
    AND p.start_time = up.start_time
  WHERE p.node_id <> n.node_id
  ORDER BY up.hops LIMIT 1
) a ON true
WHERE n.status = 'FAILED';

CREATE VIEW runledger.daily_usage WITH (security_barrier = true) AS
SELECT u.day, u.tenant_id, u.pipeline, u.provider, u.model, u.runs, u.calls, u.llm_calls, u.embedding_calls,
  u.failed_calls, u.counted_calls, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
  u.reasoning_tokens, u.total_tokens, u.total_cost, u.unpriced_calls
FROM runledger.daily_usage_rollup u
WHERE NOT row_security_active('runledger.nodes')
   OR u.tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]);

-- refresh_daily_usage (004) with each run's pipeline looked up within its tenant.
CREATE OR REPLACE FUNCTION runledger.refresh_daily_usage(since date DEFAULT NULL, until date DEFAULT NULL) RETURNS integer
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
        SELECT p.*, (SELECT r.pipeline FROM runledger.runs r WHERE r.tenant_id = p.tenant_id AND r.run_id = p.run_id) AS pipeline
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

-- ---------------------------------------------------------------------------------------------------------
-- Compat (005), every lookup within the tenant.

CREATE FUNCTION compat.node_ancestors(tenant_id text, run_id uuid, parent_span_id text, since timestamptz)
RETURNS TABLE (node_id text, hops integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  WITH RECURSIVE up (span_id, hops) AS (
    SELECT node_ancestors.parent_span_id COLLATE "C", 1
    UNION ALL
    SELECT (SELECT s.parent_span_id FROM runledger.spans s
            WHERE s.tenant_id = node_ancestors.tenant_id AND s.trace_id = node_ancestors.run_id
              AND s.span_id = up.span_id AND s.start_time >= since LIMIT 1),
      up.hops + 1
    FROM up WHERE up.span_id IS NOT NULL
  ) CYCLE span_id SET is_cycle USING path
  SELECT up.span_id, up.hops FROM up
  WHERE NOT up.is_cycle AND EXISTS (SELECT 1 FROM runledger.nodes a
    WHERE a.tenant_id = node_ancestors.tenant_id AND a.run_id = node_ancestors.run_id AND a.node_id = up.span_id
      AND a.start_time >= since)
$$;

CREATE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.*,
  compat.trace_hex(r.run_id) AS trace_hex,
  CASE WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.input FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.input FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.start_time >= r.start_time AND n.input IS NOT NULL
          ORDER BY n.start_time, n.node_id LIMIT 1) END AS run_input,
  CASE WHEN r.status = 'RUNNING' THEN NULL
    WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.output FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.output FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.start_time >= r.start_time AND n.output IS NOT NULL
          ORDER BY n.end_time DESC, n.node_id DESC LIMIT 1) END AS run_output,
  (SELECT n.name FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.start_time >= r.start_time
     AND n.status = 'FAILED'
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_name,
  (SELECT n.error_type FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.start_time >= r.start_time
     AND n.status = 'FAILED'
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_error_type,
  (SELECT count(*) FROM runledger.nodes n
   WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.start_time >= r.start_time
     AND n.status = 'COMPLETED') AS completed_nodes,
  (SELECT count(*) FROM runledger.nodes n
   WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.start_time >= r.start_time
     AND n.status = 'FAILED') AS failed_nodes,
  (SELECT n.agent_name FROM runledger.nodes n
   WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.start_time >= r.start_time AND n.agent_name IS NOT NULL
   ORDER BY n.start_time, n.node_id LIMIT 1) AS agent_name,
  (SELECT s.kind FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS root_kind,
  (SELECT s.resource ->> 'service.version' FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS service_version,
  (SELECT nullif(s.links -> 0 ->> 'traceId', '') FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS parent_trace_hex
FROM runledger.runs r;

CREATE VIEW compat.ledger_nodes WITH (security_invoker = true) AS
SELECT n.*,
  r.pipeline AS run_pipeline, r.start_time AS run_start_time, r.status AS run_status,
  compat.trace_hex(r.run_id) AS trace_hex,
  compat.span_uuid(n.run_id, n.node_id) AS node_uuid,
  compat.step_name(n.node_type, n.name, n.tool_name, n.agent_name) AS step_name,
  (SELECT count(*) FROM runledger.nodes e
   WHERE e.tenant_id = n.tenant_id AND e.run_id = n.run_id AND e.start_time >= r.start_time
     AND e.start_time <= n.start_time AND (e.start_time, e.node_id) < (n.start_time, n.node_id))::integer AS step_order,
  1 + (SELECT count(*) FROM runledger.nodes e
   WHERE e.tenant_id = n.tenant_id AND e.run_id = n.run_id AND e.start_time >= r.start_time
     AND e.start_time <= n.start_time AND (e.start_time, e.node_id) < (n.start_time, n.node_id)
     AND compat.step_name(e.node_type, e.name, e.tool_name, e.agent_name)
       = compat.step_name(n.node_type, n.name, n.tool_name, n.agent_name))::integer AS attempt,
  (SELECT x.node_id FROM compat.node_ancestors(n.tenant_id, n.run_id, n.parent_span_id, r.start_time) x
   ORDER BY x.hops LIMIT 1) AS parent_node_id,
  (SELECT count(*) FROM compat.node_ancestors(n.tenant_id, n.run_id, n.parent_span_id, r.start_time))::integer AS depth,
  (SELECT (SELECT ev -> 'attributes' FROM jsonb_array_elements(s.events) ev
           WHERE ev ->> 'name' = 'exception' LIMIT 1)
   FROM runledger.spans s
   WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
     AND s.start_time = n.start_time) AS exception
FROM runledger.nodes n
JOIN runledger.runs r ON r.tenant_id = n.tenant_id AND r.run_id = n.run_id;

-- ---------------------------------------------------------------------------------------------------------
-- Seed 000: olo_run / olo_run_node (base schema and every column its migrations add)

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

-- ---------------------------------------------------------------------------------------------------------
-- Seed 001: runs / step_runs

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

-- ---------------------------------------------------------------------------------------------------------
-- Seed 002: traces / spans (times are timestamp without time zone: UTC)

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
        WHERE c.tenant_id = s.tenant_id AND c.trace_id = s.trace_id AND c.parent_span_id = s.span_id AND c.start_time >= r.start_time
        ORDER BY c.start_time, c.span_id) AS child_spans
FROM runledger.spans s
JOIN runledger.runs r ON r.tenant_id = s.tenant_id AND r.run_id = s.trace_id
LEFT JOIN compat.ledger_nodes n ON n.tenant_id = s.tenant_id AND n.run_id = s.trace_id AND n.node_id = s.span_id
  AND n.start_time = s.start_time;

-- ---------------------------------------------------------------------------------------------------------
-- Seed 003: core_workflow_runs / core_workflow_steps (SQLite heritage: ids, times and JSON are text;
-- times are ISO-8601 UTC, collated "C" so they sort as times)

CREATE VIEW compat.core_workflow_runs WITH (security_invoker = true) AS
SELECT r.trace_hex AS run_id,
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

-- ---------------------------------------------------------------------------------------------------------
-- Seed 004: executions

CREATE VIEW compat.executions WITH (security_invoker = true) AS
SELECT r.run_id AS id,
  compat.ledger_uuid('pipeline', r.tenant_id || '/' || coalesce(r.pipeline, '')) AS task_id,
  compat.ledger_uuid('agent', r.tenant_id || '/' || coalesce(r.agent_name, r.service_name, r.pipeline, '')) AS agent_id,
  r.trace_hex AS run_key,
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


-- ---------------------------------------------------------------------------------------------------------
-- Grants, as 004 and 005 gave them.

GRANT SELECT ON runledger.run_summary, runledger.node_trees, runledger.failed_nodes, runledger.daily_usage TO runledger_analyst;
GRANT EXECUTE ON FUNCTION runledger.node_tree(uuid, text) TO runledger_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA compat TO runledger_analyst;
GRANT EXECUTE ON FUNCTION compat.node_ancestors(text, uuid, text, timestamptz) TO runledger_analyst;
