-- Tenant isolation: what one tenant (or one tenant's analyst) can do must not stall the others.
--
-- 1. No lock a writer or a refresh needs can be taken by an analyst. An advisory lock can be taken by any role
-- on any key, and a session-level one is held however long its session idles (idle_in_transaction_session_timeout
-- does not end it): a login bound to one tenant that took these keys kept the daily usage rollup of every tenant
-- from being refreshed or finalized (sql/004, 007, 010) and every new day from getting its partitions (sql/011,
-- 016), as the migrations' key kept every gateway start-up at 503 (src/db/migrate.ts, which now locks
-- runledger.schema_migrations instead). Run locks left advisory locks in 007 for the same reason.
--
-- The functions below are those of 010, 004 and 016 with their advisory lock replaced:
-- - a refresh or finalize locks runledger.rollup_refreshes in SHARE ROW EXCLUSIVE mode: one at a time, as before;
--   analysts may read the table (ACCESS SHARE, which this mode does not conflict with) but cannot take any
--   stronger lock on it (LOCK TABLE needs UPDATE, DELETE, TRUNCATE or MAINTAIN for that);
-- - ensure_day_partitions takes no lock of its own: its ACCESS EXCLUSIVE locks on the default partitions, taken
--   next, already make two callers take turns (in the same order: no deadlock), and only writers may take them.
--   An analyst's read of the default partitions still defers a day, bounded by that analyst's statement and
--   transaction timeouts (README, "Analysts and maintenance beside ingestion").
-- test/analyst-locks.test.ts

-- 010's daily usage refresh, its lock on runledger.rollup_refreshes.
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
  LOCK TABLE runledger.rollup_refreshes IN SHARE ROW EXCLUSIVE MODE;
  SELECT f.sealed_before INTO sealed FROM runledger.rollup_refreshes f WHERE f.name = 'daily_usage';
  lo := greatest(lo, sealed);  -- NULL (nothing sealed) is ignored

  IF lo <= hi THEN
    WITH per_run AS (
      SELECT s.day, s.tenant_id, s.run_id, s.provider, s.model,
        count(*) FILTER (WHERE s.listed) AS calls,
        count(*) FILTER (WHERE s.node_type = 'LLM' AND s.call_counted) AS llm_calls,
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
          n.model_name AS model, n.node_type, n.status, n.usage_counted, n.call_counted,
          n.usage_counted OR (n.node_type = 'LLM' AND n.call_counted) OR n.node_type = 'EMBEDDING' AS listed,
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

-- 004's finalize, the same lock (held to its commit, as the refresh it calls takes it again).
CREATE OR REPLACE FUNCTION runledger.finalize_daily_usage(before date) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  rewritten integer;
BEGIN
  LOCK TABLE runledger.rollup_refreshes IN SHARE ROW EXCLUSIVE MODE;  -- held until commit: no refresh between the two steps
  rewritten := runledger.refresh_daily_usage('-infinity', before - 1);
  UPDATE runledger.rollup_refreshes f SET sealed_before = greatest(f.sealed_before, before) WHERE f.name = 'daily_usage';
  RETURN rewritten;
END $$;

-- 016's partitions, without the advisory lock.
CREATE OR REPLACE FUNCTION runledger.ensure_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  t text;
  part text;
  col text;
  opts text;
  lo timestamptz;
  hi timestamptz;
  created integer := 0;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM unnest(days) AS x(day), unnest(ARRAY['spans', 'nodes', 'logs']) AS y(tbl)
    WHERE to_regclass(format('runledger.%I', y.tbl || '_' || to_char(x.day, 'YYYYMMDD'))) IS NULL
  ) THEN
    RETURN 0;
  END IF;
  -- Rows are moved out of the default partitions before the day is attached: no writer may be adding
  -- one of that day's rows to them meanwhile (it would not be moved, and the attach would fail). These locks
  -- also make concurrent callers (gateways, retention) take turns: the second finds the day's tables made.
  LOCK TABLE runledger.spans_default, runledger.nodes_default, runledger.logs_default IN ACCESS EXCLUSIVE MODE;
  FOREACH d IN ARRAY days LOOP
    lo := d::timestamp AT TIME ZONE 'UTC';
    hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
    FOREACH t IN ARRAY ARRAY['spans', 'nodes', 'logs'] LOOP
      part := t || '_' || to_char(d, 'YYYYMMDD');
      CONTINUE WHEN to_regclass(format('runledger.%I', part)) IS NOT NULL;
      SELECT array_to_string(c.reloptions, ', ') INTO opts FROM pg_class c WHERE c.oid = format('runledger.%I', t || '_default')::regclass;
      EXECUTE format('CREATE TABLE runledger.%I (LIKE runledger.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION) %s',
        part, t, CASE WHEN opts IS NULL OR opts = '' THEN '' ELSE 'WITH (' || opts || ')' END);
      -- The constraint lets ATTACH skip scanning the new partition.
      col := CASE t WHEN 'logs' THEN 'time' ELSE 'start_time' END;
      EXECUTE format('ALTER TABLE runledger.%I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
        part, part || '_range', col, lo, col, hi);
      EXECUTE format('WITH moved AS (DELETE FROM runledger.%I WHERE %I >= $1 AND %I < $2 RETURNING *)
        INSERT INTO runledger.%I SELECT * FROM moved', t || '_default', col, col, part) USING lo, hi;
      EXECUTE format('ALTER TABLE runledger.%I ATTACH PARTITION runledger.%I FOR VALUES FROM (%L) TO (%L)', t, part, lo, hi);
      EXECUTE format('ALTER TABLE runledger.%I DROP CONSTRAINT %I', part, part || '_range');
      created := created + 1;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;

-- ---------------------------------------------------------------------------------------------------------
-- 2. A node's tree columns stop at depth 256 (MAX_TREE_DEPTH, src/constants.ts; sink/tree.ts computes the same
-- for a request's spans): depth and tree_path are NULL below it, as below a cycle. A run whose nodes nest
-- thousands deep costs one request's few MB to send: tree_path held every ancestor's place per node (a chain of
-- 8,000 LLM spans stored 128 MB of paths), and settle_tree, walking down one level per step, took 6 s for such a
-- run at every batch that touched it, holding a writer all tenants share (another tenant's one-span export
-- waited as long). test/deep-tree.test.ts.

/**
 * (as in sql/013) Recompute the tree columns of the runs' nodes from their stored spans and nodes; the walk
 * down ends at depth 256.
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
    -- LATERAL: a probe of the spans' key per row of the walk. As a join, PostgreSQL 18 looped over the run's spans
    -- and scanned the whole walk for each (3,000 nodes: 9M rows, 2.8 s, at every batch of the run)
    FROM up u CROSS JOIN LATERAL (SELECT s.parent_span_id FROM runledger.spans s
      WHERE s.tenant_id = u.tenant_id AND s.trace_id = u.run_id AND s.span_id = u.anc
        AND s.start_time >= lo AND s.start_time <= hi OFFSET 0) s  -- OFFSET 0: not flattened back into a join
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

  -- depth: down from the nodes without a parent node (nodes on or below a cycle, or below depth 256, are never
  -- reached: NULL)
  WITH RECURSIVE tree (tenant_id, run_id, node_id, depth, tree_path) AS (
    SELECT m.tenant_id, m.run_id, m.node_id, 0, ARRAY[m.step_order + 1] FROM runledger_place m
    WHERE m.parent_node_id IS NULL OR m.parent_node_id = m.node_id
    UNION ALL
    SELECT c.tenant_id, c.run_id, c.node_id, t.depth + 1, t.tree_path || (c.step_order + 1)
    FROM tree t JOIN runledger_place c ON c.tenant_id = t.tenant_id AND c.run_id = t.run_id AND c.parent_node_id = t.node_id
      AND c.node_id <> t.node_id
    WHERE t.depth < 256  -- MAX_TREE_DEPTH (src/constants.ts): deeper nodes are never reached, NULL
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

-- Runs stored with deeper nodes are recomputed by `runledger repair` (the gateway works the queue off).
INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT DISTINCT n.tenant_id, n.run_id, 'nodes deeper than 256 keep no depth or tree_path from migration 026 on'
FROM runledger.nodes n WHERE n.depth > 256
ON CONFLICT DO NOTHING;
