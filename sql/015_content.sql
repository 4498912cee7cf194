-- Content once (issue 14): a node's prompt / completion content that is exactly one attribute of its span is
-- not copied into nodes.input / nodes.output; the node stores a reference (input_ref / output_ref) to the span's
-- attribute, which spans.attributes keeps whole and exact. Readers get the content through
-- runledger.node_content(...), the view runledger.nodes_full (every nodes column, content resolved) and the
-- compat views, which return what they returned before. docs/schema.md, *Content once*, has the design, the
-- alternative measured against it, and the figures.

-- 'json:<key>': the content is the span attribute <key>'s string, a JSON text kept verbatim
--               ((attributes ->> key)::jsonb: the same text the node would have stored, so the same jsonb);
-- 'text:<key>': the content is that string as a JSON string (attributes -> key);
-- 'flat:<n>:<head>:<tail>': flattened messages, exactly [{"role": ..., "content": ...}] x n, from the attributes
--               <head><i><tail>.role / .content, i = 0 .. n-1 (gen_ai.prompt.N.*: head 'gen_ai.prompt.', tail '';
--               OpenInference llm.input_messages.N.message.*: head 'llm.input_messages.', tail '.message');
-- NULL: the node's content, if any, is stored in input / output (other flattened shapes, composed or truncated
-- content, content from log records, rows written before this migration).
-- A node never has both: the writer stores one or the other (the readers prefer a stored value).
ALTER TABLE runledger.nodes ADD COLUMN input_ref text, ADD COLUMN output_ref text;
-- tool_definitions likewise (gen_ai.tool.definitions, ai.prompt.tools sent as one JSON string)
ALTER TABLE runledger.nodes ADD COLUMN tool_definitions_ref text;

/**
 * A node's content: the stored value, else what its reference names in its span's attributes (the span is
 * found by its primary key, start time included, so only its day's partition is read). Not inlined by the
 * planner (it holds a subquery): a call per row. sql/017 has the views read content without it.
 */
CREATE FUNCTION runledger.node_content(stored jsonb, ref text, p_tenant text, p_run uuid, p_node text, p_start timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN stored IS NOT NULL OR ref IS NULL THEN stored
  ELSE (SELECT CASE WHEN left(ref, 5) = 'json:' THEN (s.attributes ->> substr(ref, 6))::jsonb
                    WHEN left(ref, 5) = 'text:' THEN s.attributes -> substr(ref, 6)
                    WHEN left(ref, 5) = 'flat:' THEN
                      (SELECT jsonb_agg(jsonb_build_object(
                                'role', s.attributes ->> (split_part(ref, ':', 3) || i || split_part(ref, ':', 4) || '.role'),
                                'content', s.attributes ->> (split_part(ref, ':', 3) || i || split_part(ref, ':', 4) || '.content'))
                              ORDER BY i)
                       FROM generate_series(0, split_part(ref, ':', 2)::integer - 1) AS i) END
        FROM runledger.spans s
        WHERE s.tenant_id = p_tenant COLLATE "C" AND s.trace_id = p_run AND s.span_id = p_node COLLATE "C"
          AND s.start_time = p_start) END;

-- Every column of nodes, input and output resolved: what `SELECT input FROM runledger.nodes` gave before.
CREATE VIEW runledger.nodes_full WITH (security_invoker = true) AS
SELECT
  n.run_id, n.node_id, n.parent_span_id, n.tenant_id, n.node_type, n.operation, n.name, n.status, n.error_type,
  n.error_message, n.start_time, n.end_time, n.duration_ms, n.provider, n.request_model, n.response_model,
  n.model_name, n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens,
  n.total_tokens, n.input_cost, n.output_cost, n.total_cost, n.cost_source, n.temperature, n.top_p,
  n.max_tokens, n.finish_reasons, n.response_id, n.tool_name, n.tool_call_id, n.agent_name, n.session_id,
  n.user_id, n.prompt_hash,
  runledger.node_content(n.input, n.input_ref, n.tenant_id, n.run_id, n.node_id, n.start_time) AS input,
  runledger.node_content(n.output, n.output_ref, n.tenant_id, n.run_id, n.node_id, n.start_time) AS output,
  n.usage_counted, n.price_ref, n.usage_normalized,
  runledger.node_content(n.tool_definitions, n.tool_definitions_ref, n.tenant_id, n.run_id, n.node_id, n.start_time)
    AS tool_definitions,
  n.call_counted, n.content_source, n.parent_node_id, n.parent_missing, n.depth, n.step_order, n.attempt, n.tree_path,
  n.input_ref, n.output_ref, n.tool_definitions_ref
FROM runledger.nodes n;
GRANT SELECT ON runledger.nodes_full TO runledger_analyst;

-- compat's two bases read content through node_content (same columns, same rows as 013's definitions, with
-- 014's service_version read through raw_spans: a span written since 014 has its resource by reference).
CREATE OR REPLACE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.service_name, r.environment, r.session_id, r.user_id, r.name,
  r.status, r.start_time, r.end_time, r.duration_ms, r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens,
  r.total_tokens, r.total_cost, r.currency, r.models, r.error_message, r.root_span_id, r.root_start_time,
  r.pipeline_rank, r.created_at, r.updated_at,
  r.trace_hex,
  -- the root node's content when the root is a node, else the run's first input / last output (stored refs)
  CASE WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT runledger.node_content(n.input, n.input_ref, n.tenant_id, n.run_id, n.node_id, n.start_time)
          FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT runledger.node_content(n.input, n.input_ref, n.tenant_id, n.run_id, n.node_id, n.start_time)
          FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.input_node_id AND n.start_time = r.input_start_time) END AS run_input,
  CASE WHEN r.status = 'RUNNING' THEN NULL
    WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT runledger.node_content(n.output, n.output_ref, n.tenant_id, n.run_id, n.node_id, n.start_time)
          FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT runledger.node_content(n.output, n.output_ref, n.tenant_id, n.run_id, n.node_id, n.start_time)
          FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
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
  runledger.node_content(n.input, n.input_ref, n.tenant_id, n.run_id, n.node_id, n.start_time) AS input,
  runledger.node_content(n.output, n.output_ref, n.tenant_id, n.run_id, n.node_id, n.start_time) AS output,
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

-- The runs' input / output node references (sql/012) count nodes whose content is a reference.
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
  FROM d WHERE r.tenant_id = d.t AND r.run_id = d.id AND (d.new_in OR d.new_out)
$$;
