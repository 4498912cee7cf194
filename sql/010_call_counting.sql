-- Calls counted once by the tree rule (issue 10): an LLM node with an LLM node below it is the same call
-- instrumented twice (OpenLLMetry's span over the Anthropic SDK's own span), a tool node with a tool node
-- below it the same tool call: runs.llm_calls and tool_calls count the innermost one only, as usage is counted
-- once (rollup/usage.ts). The frontier carries which marks (usage 1, LLM 2, tool 4) wait for a parent.

-- true when the node counts as a call of its run (LLM or TOOL, and no node of its type below it)
ALTER TABLE runledger.nodes ADD COLUMN call_counted boolean NOT NULL DEFAULT false;
UPDATE runledger.nodes SET call_counted = true WHERE node_type IN ('LLM', 'TOOL');
ALTER TABLE runledger.nodes ALTER COLUMN call_counted DROP DEFAULT;

ALTER TABLE runledger.usage_frontier ADD COLUMN mask smallint NOT NULL DEFAULT 1;  -- rows so far: usage
ALTER TABLE runledger.usage_frontier ALTER COLUMN mask DROP DEFAULT;

-- Runs with a call nested in a call of the same type counted both; `runledger repair` recomputes them (the
-- gateway and `runledger migrate` work the queue off). Nesting is found through direct parents, as the
-- instrumentations nest them; a deeper nesting is fixed by a `runledger repair` over the runs.
INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT DISTINCT c.tenant_id, c.run_id, 'a call nested in a call of the same type was counted twice before migration 010'
FROM runledger.nodes c JOIN runledger.nodes p
  ON p.tenant_id = c.tenant_id AND p.run_id = c.run_id AND p.node_id = c.parent_span_id AND p.node_type = c.node_type
WHERE c.node_type IN ('LLM', 'TOOL')
ON CONFLICT DO NOTHING;
-- Runs waiting for a parent: their frontier rows carry usage marks only; the repair adds the call marks.
INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT DISTINCT f.tenant_id, f.trace_id, 'its frontier gains call marks (migration 010)' FROM runledger.usage_frontier f
ON CONFLICT DO NOTHING;

-- The daily usage rollup counts calls the same way: an LLM call nested in another is one call.
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
