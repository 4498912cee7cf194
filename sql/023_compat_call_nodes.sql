-- A call instrumented twice (OpenLLMetry's anthropic.chat span over the Anthropic SDK's own chat span) is two LLM
-- nodes, the outer one not call_counted (sql/010). Two views still counted it twice:
--  * compat.olo_run_node typed both nodes MODEL, and compat.md tells seed-000 analysts that only MODEL nodes are
--    model calls (aggregates are SEQUENCE): summing MODEL nodes doubled that call's tokens and calls. The outer
--    node is now SEQUENCE, as the AI SDK's ai.generateText aggregate is.
--  * runledger.run_summary.llm_time_ms summed both nodes' durations (llm_time_share 1.8 for one sequential call);
--    it now sums the counted calls, as runs.llm_calls counts them.
-- And olo_run_node.error_details is set for failed nodes only, as compat.md says (a COMPLETED call carrying an
-- error.type attribute was listed by `error_details IS NOT NULL`).
-- compat.ledger_nodes gains call_counted (appended: CREATE OR REPLACE keeps the columns before it).

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
     AND s.start_time = n.start_time) AS exception,
  n.call_counted
FROM runledger.nodes n
JOIN runledger.runs r ON r.tenant_id = n.tenant_id AND r.run_id = n.run_id
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity');

CREATE OR REPLACE VIEW compat.olo_run_node WITH (security_invoker = true) AS
SELECT n.run_id::uuid AS run_id,
  n.tenant_id::varchar(255) AS tenant_id,
  n.node_id::varchar(255) AS node_id,
  (CASE n.node_type
     WHEN 'LLM' THEN (CASE WHEN n.call_counted THEN 'MODEL' ELSE 'SEQUENCE' END) WHEN 'EMBEDDING' THEN 'MODEL' WHEN 'RERANKER' THEN 'MODEL'
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
  CASE WHEN n.status = 'FAILED' THEN jsonb_strip_nulls(jsonb_build_object(
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
  AND n.run_id = r.run_id AND n.node_type = 'LLM' AND n.call_counted
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')) AS llm_time_ms OFFSET 0) l;
