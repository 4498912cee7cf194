-- No lock a writer or a refresh needs can be taken by an analyst. An advisory lock can be taken by any role
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
