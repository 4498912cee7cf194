-- Content references read in the query's own plan (issue 12, after 015). 015's runledger.node_content() holds
-- a subquery, so PostgreSQL never inlines it: every call ran its own small executor over all ~34 daily spans
-- partitions, ~0.5 ms a node. Measured on PG 15 at 2M spans: seed 001's run with its step runs 60 ms, seed
-- 000's input search 1.7 s -> 7.7 s. The views now read the span in a scalar subquery of the view itself
-- (planned once, pruned per row at run time) and turn the attribute into content with ref_content(), an
-- expression PostgreSQL inlines. Same columns, same rows (test/content-once.test.ts, testdata/views).

-- The content a reference names, from its span's attributes (the reference kinds are in 015). ref_content() is
-- inlined into the query; flat_content(), which aggregates (a subquery), stays a call: flattened messages are rarer.
CREATE FUNCTION runledger.flat_content(attributes jsonb, ref text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT jsonb_agg(jsonb_build_object(
          'role', attributes ->> (split_part(ref, ':', 3) || i || split_part(ref, ':', 4) || '.role'),
          'content', attributes ->> (split_part(ref, ':', 3) || i || split_part(ref, ':', 4) || '.content'))
        ORDER BY i)
        FROM generate_series(0, split_part(ref, ':', 2)::integer - 1) AS i);

CREATE FUNCTION runledger.ref_content(attributes jsonb, ref text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE left(ref, 5) WHEN 'json:' THEN (attributes ->> substr(ref, 6))::jsonb
  WHEN 'text:' THEN attributes -> substr(ref, 6)
  WHEN 'flat:' THEN runledger.flat_content(attributes, ref) END;

-- Kept for callers outside the views (a function call per row: use runledger.nodes_full in queries).
CREATE OR REPLACE FUNCTION runledger.node_content(stored jsonb, ref text, p_tenant text, p_run uuid, p_node text, p_start timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN stored IS NOT NULL OR ref IS NULL THEN stored
  ELSE (SELECT runledger.ref_content(s.attributes, ref) FROM runledger.spans s
        WHERE s.tenant_id = p_tenant COLLATE "C" AND s.trace_id = p_run AND s.span_id = p_node COLLATE "C"
          AND s.start_time = p_start) END;

CREATE OR REPLACE VIEW runledger.nodes_full WITH (security_invoker = true) AS
SELECT
  n.run_id, n.node_id, n.parent_span_id, n.tenant_id, n.node_type, n.operation, n.name, n.status, n.error_type,
  n.error_message, n.start_time, n.end_time, n.duration_ms, n.provider, n.request_model, n.response_model,
  n.model_name, n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens,
  n.total_tokens, n.input_cost, n.output_cost, n.total_cost, n.cost_source, n.temperature, n.top_p,
  n.max_tokens, n.finish_reasons, n.response_id, n.tool_name, n.tool_call_id, n.agent_name, n.session_id,
  n.user_id, n.prompt_hash,
  CASE WHEN n.input IS NOT NULL OR n.input_ref IS NULL THEN n.input
    ELSE (SELECT runledger.ref_content(s.attributes, n.input_ref) FROM runledger.spans s WHERE s.tenant_id = n.tenant_id
          AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) END AS input,
  CASE WHEN n.output IS NOT NULL OR n.output_ref IS NULL THEN n.output
    ELSE (SELECT runledger.ref_content(s.attributes, n.output_ref) FROM runledger.spans s WHERE s.tenant_id = n.tenant_id
          AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) END AS output,
  n.usage_counted, n.price_ref, n.usage_normalized,
  CASE WHEN n.tool_definitions IS NOT NULL OR n.tool_definitions_ref IS NULL THEN n.tool_definitions
    ELSE (SELECT runledger.ref_content(s.attributes, n.tool_definitions_ref) FROM runledger.spans s
          WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
            AND s.start_time = n.start_time) END AS tool_definitions,
  n.call_counted, n.content_source, n.parent_node_id, n.parent_missing, n.depth, n.step_order, n.attempt, n.tree_path,
  n.input_ref, n.output_ref, n.tool_definitions_ref
FROM runledger.nodes n;

-- compat's run base: the run's input (output) is its root node's when the root is a node, else its first
-- input (last output) node's, as in 015, now found by one node lookup instead of three (the planner planned
-- each lookup over every partition: half of a one-run query's planning time).
CREATE OR REPLACE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.service_name, r.environment, r.session_id, r.user_id, r.name,
  r.status, r.start_time, r.end_time, r.duration_ms, r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens,
  r.total_tokens, r.total_cost, r.currency, r.models, r.error_message, r.root_span_id, r.root_start_time,
  r.pipeline_rank, r.created_at, r.updated_at,
  r.trace_hex,
  (SELECT CASE WHEN n.input IS NOT NULL OR n.input_ref IS NULL THEN n.input
            ELSE (SELECT runledger.ref_content(s.attributes, n.input_ref) FROM runledger.spans s
                  WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
                    AND s.start_time = n.start_time) END
   FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id
     AND ((n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
       OR (n.node_id = r.input_node_id AND n.start_time = r.input_start_time))
   ORDER BY n.node_id = r.root_span_id AND n.start_time = r.root_start_time DESC LIMIT 1) AS run_input,
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

CREATE OR REPLACE VIEW compat.ledger_nodes WITH (security_invoker = true) AS
SELECT n.run_id, n.node_id, n.parent_span_id, n.tenant_id, n.node_type, n.operation, n.name, n.status,
  n.error_type, n.error_message, n.start_time, n.end_time, n.duration_ms, n.provider, n.request_model,
  n.response_model, n.model_name, n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens,
  n.reasoning_tokens, n.total_tokens, n.input_cost, n.output_cost, n.total_cost, n.cost_source, n.temperature,
  n.top_p, n.max_tokens, n.finish_reasons, n.response_id, n.tool_name, n.tool_call_id, n.agent_name,
  n.session_id, n.user_id, n.prompt_hash,
  CASE WHEN n.input IS NOT NULL OR n.input_ref IS NULL THEN n.input
    ELSE (SELECT runledger.ref_content(s.attributes, n.input_ref) FROM runledger.spans s WHERE s.tenant_id = n.tenant_id
          AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) END AS input,
  CASE WHEN n.output IS NOT NULL OR n.output_ref IS NULL THEN n.output
    ELSE (SELECT runledger.ref_content(s.attributes, n.output_ref) FROM runledger.spans s WHERE s.tenant_id = n.tenant_id
          AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) END AS output,
  n.usage_counted,
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
