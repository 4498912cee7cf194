-- The run's input stored on its row (issue 12). compat's run input (seed 000's olo_run.input_json, seed 001's
-- runs.input, seed 002's traces.query, seed 003's params) was found per run by a lookup of its root or first
-- input node and of that node's span, and parsed from the span's attribute (content is stored once, sql/015):
-- ~35 µs a run, so seed 000's input search over every run (`input_json->>'userId' = …`) took 4.3–6.9 s at
-- 2M spans (162,620 runs) as the tables' owner. Now runs.run_input holds that value, computed by the same
-- lookup (runledger.run_input_of) when it can change, so the search reads one row per run.
-- What it costs: a second copy of one node's input per run (the root's, usually): ~165 B a run on the
-- bench's default mix (~21 B/span), ~395 B on its content mix (README, *Benchmark*).
-- How it is kept (any arrival order gives the value of that lookup): the span writer folds it in the statements
-- that insert and update the runs rows (src/rollup/delta-columns.ts): its batch's root and first input node carry
-- their input, and only a new root that is not a node reads the stored first input node back; fold_content_refs
-- recomputes it whenever log records fill nodes' content, and `runledger repair` (so remap) recomputes it.
-- Recomputing it apart after the writer's update (the first version of this change) wrote every new run twice:
-- +100 B/span on disk and ~+19% PostgreSQL CPU per span in `npm run bench`.
ALTER TABLE runledger.runs ADD COLUMN run_input jsonb;

-- The run's input as compat defines it (sql/015): its root node's input when the root span is a node, else its
-- first input node's; a node's input is its stored content or the span attribute its reference names. A
-- set-returning SQL function, so that PostgreSQL inlines it into the calling query (LATERAL) and plans its two
-- lookups there, pruned to the nodes' day at run time: called as a scalar function it was planned and started
-- on every call, ~400 µs a run against ~30 µs inlined (PostgreSQL 15, 2M spans).
CREATE FUNCTION runledger.run_input_of(p_tenant text, p_run uuid, p_root text, p_root_start timestamptz,
  p_in text, p_in_start timestamptz) RETURNS TABLE (input jsonb)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1
AS $$
  SELECT CASE WHEN n.input IS NOT NULL OR n.input_ref IS NULL THEN n.input
      ELSE (SELECT runledger.ref_content(s.attributes, n.input_ref) FROM runledger.spans s
            WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
              AND s.start_time = n.start_time) END
  FROM runledger.nodes n WHERE n.tenant_id = p_tenant COLLATE "C" AND n.run_id = p_run
    AND ((n.node_id = p_root COLLATE "C" AND n.start_time = p_root_start)
      OR (n.node_id = p_in COLLATE "C" AND n.start_time = p_in_start))
  ORDER BY n.node_id = p_root COLLATE "C" AND n.start_time = p_root_start DESC LIMIT 1
$$;

-- Recompute run_input of these runs (their rows locked by the caller); returns the runs it changed. Rows whose
-- value is unchanged are not written (no new row version).
CREATE FUNCTION runledger.refresh_run_inputs(tenant_ids text[], run_ids uuid[]) RETURNS TABLE (tenant_id text, run_id uuid)
LANGUAGE sql AS $$
  WITH v AS (
    SELECT r.tenant_id, r.run_id, i.input
    FROM runledger.runs r LEFT JOIN LATERAL runledger.run_input_of(r.tenant_id, r.run_id, r.root_span_id,
      r.root_start_time, r.input_node_id, r.input_start_time) i ON true
    WHERE (r.tenant_id, r.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids))
  ), u AS (
    UPDATE runledger.runs r SET run_input = v.input FROM v
    WHERE r.tenant_id = v.tenant_id AND r.run_id = v.run_id AND r.run_input IS DISTINCT FROM v.input
    RETURNING r.tenant_id, r.run_id
  )
  SELECT u.tenant_id, u.run_id FROM u
$$;
REVOKE EXECUTE ON FUNCTION runledger.refresh_run_inputs(text[], uuid[]) FROM PUBLIC;

-- Log records filling nodes' content (apply_log_content, fill_pending_content) may change a run's input: the
-- function of sql/015, then the runs' inputs recomputed.
CREATE OR REPLACE FUNCTION runledger.fold_content_refs(tenant_ids text[], run_ids uuid[], node_ids text[]) RETURNS void
LANGUAGE sql AS $$
  WITH f AS (
    SELECT n.tenant_id, n.run_id,
      (array_agg(n.node_id ORDER BY n.start_time, n.node_id) FILTER (WHERE n.input IS NOT NULL OR n.input_ref IS NOT NULL))[1] AS in_node,
      (array_agg(n.start_time ORDER BY n.start_time, n.node_id) FILTER (WHERE n.input IS NOT NULL OR n.input_ref IS NOT NULL))[1] AS in_start,
      (array_agg(n.node_id ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL OR n.output_ref IS NOT NULL))[1] AS out_node,
      (array_agg(n.start_time ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL OR n.output_ref IS NOT NULL))[1] AS out_start,
      (array_agg(n.end_time ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL OR n.output_ref IS NOT NULL))[1] AS out_end
    FROM runledger.nodes n JOIN (SELECT DISTINCT * FROM unnest(tenant_ids, run_ids, node_ids)) AS x(tenant_id, run_id, node_id)
      ON n.tenant_id = x.tenant_id AND n.run_id = x.run_id AND n.node_id = x.node_id
    GROUP BY n.tenant_id, n.run_id
  ), d AS (
    SELECT f.*, r.tenant_id AS t, r.run_id AS id,
      f.in_node IS NOT NULL AND (r.input_node_id IS NULL OR (f.in_start, f.in_node) < (r.input_start_time, r.input_node_id)) AS new_in,
      f.out_node IS NOT NULL AND (r.output_node_id IS NULL OR (f.out_end, f.out_node) > (r.output_end_time, r.output_node_id)) AS new_out
    FROM f JOIN runledger.runs r ON r.tenant_id = f.tenant_id AND r.run_id = f.run_id
  )
  UPDATE runledger.runs r SET
    input_node_id = CASE WHEN d.new_in THEN d.in_node ELSE r.input_node_id END,
    input_start_time = CASE WHEN d.new_in THEN d.in_start ELSE r.input_start_time END,
    output_node_id = CASE WHEN d.new_out THEN d.out_node ELSE r.output_node_id END,
    output_start_time = CASE WHEN d.new_out THEN d.out_start ELSE r.output_start_time END,
    output_end_time = CASE WHEN d.new_out THEN d.out_end ELSE r.output_end_time END
  FROM d WHERE r.tenant_id = d.t AND r.run_id = d.id AND (d.new_in OR d.new_out);
  SELECT count(*) FROM runledger.refresh_run_inputs(tenant_ids, run_ids)
$$;

-- Existing runs: their input computed once (a read of one node and one span per run and one new row version:
-- 20 s at 162,620 runs, PostgreSQL 15; the runs rows are locked meanwhile, so writers wait: README, "Upgrading").
SELECT count(*) FROM runledger.refresh_run_inputs((SELECT array_agg(tenant_id) FROM runledger.runs),
  (SELECT array_agg(run_id) FROM runledger.runs));

-- compat's run base (sql/017) reads the stored input.
CREATE OR REPLACE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.service_name, r.environment, r.session_id, r.user_id, r.name,
  r.status, r.start_time, r.end_time, r.duration_ms, r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens,
  r.total_tokens, r.total_cost, r.currency, r.models, r.error_message, r.root_span_id, r.root_start_time,
  r.pipeline_rank, r.created_at, r.updated_at,
  r.trace_hex,
  r.run_input,
  (SELECT CASE WHEN n.output IS NOT NULL OR n.output_ref IS NULL THEN n.output
            ELSE (SELECT runledger.ref_content(s.attributes, n.output_ref) FROM runledger.spans s
                  WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
                    AND s.start_time = n.start_time) END
   FROM runledger.nodes n WHERE r.status <> 'RUNNING' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id
     AND ((n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
       OR (n.node_id = r.output_node_id AND n.start_time = r.output_start_time))
   ORDER BY n.node_id = r.root_span_id AND n.start_time = r.root_start_time DESC LIMIT 1) AS run_output,
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
  (SELECT s.resource ->> 'service.version' FROM runledger.raw_spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS service_version,
  (SELECT nullif(s.links -> 0 ->> 'traceId', '') FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS parent_trace_hex
FROM runledger.runs r;
