-- Compatibility views: the five schemas runledger grew from (docs/compat.md), served from the ledger.
--
--   000 olo_run, olo_run_node        001 runs, step_runs        002 traces, spans
--   003 core_workflow_runs, core_workflow_steps                004 executions
--
-- Every view runs with the caller's rights (security_invoker), so row-level security on runledger.runs,
-- nodes and spans applies to runledger_analyst through them. Values that need other rows (root node
-- content, step order, attempts, the node ancestry) are correlated scalar subqueries: they are computed
-- only for the columns a query selects, and conditions on a view's plain columns (run ids, times) reach
-- the ledger's indexes and partitions. Conditions on derived text ids (seed 003) are filters instead.
-- Run-level tokens and cost are runledger.runs totals (nodes with usage_counted only); per-node views show
-- each node's own usage, so summing an aggregate and its children there counts that usage twice.

CREATE SCHEMA IF NOT EXISTS compat;

-- ---------------------------------------------------------------------------------------------------------
-- Id derivations and conversions (documented in docs/compat.md; analysts use them to build filter values)

-- A uuid for a ledger key: the key itself when it is a uuid, else md5('<kind>:<key>') read as a uuid.
CREATE FUNCTION compat.ledger_uuid(kind text, key text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN key ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN key::uuid
  WHEN key IS NOT NULL THEN md5(kind || ':' || key)::uuid
END;

-- A tenant's uuid: the ledger's default tenant is seed 001's default tenant.
CREATE FUNCTION compat.tenant_uuid(tenant_id text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN tenant_id = 'default' THEN '00000000-0000-0000-0000-000000000001'::uuid
  ELSE compat.ledger_uuid('tenant', tenant_id) END;

-- A user's uuid: the user id itself when it is a uuid, else md5('user:<tenant>/<user id>') (users belong to a tenant).
CREATE FUNCTION compat.user_uuid(tenant_id text, user_id text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN user_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN user_id::uuid
  WHEN user_id IS NOT NULL THEN md5('user:' || tenant_id || '/' || user_id)::uuid
END;

-- The uuid of a span (and of its node): md5 of the 32 hex digits of the trace id and the 16 of the span id.
CREATE FUNCTION compat.span_uuid(trace_id uuid, span_id text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5(replace(trace_id::text, '-', '') || span_id)::uuid;

-- The trace id as OpenTelemetry writes it: 32 lowercase hex digits.
CREATE FUNCTION compat.trace_hex(trace_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN replace(trace_id::text, '-', '');

-- ISO-8601 UTC text with microseconds (fixed width: sorts like the time).
CREATE FUNCTION compat.iso_utc(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- Narrowing to the seeds' integer and decimal types: NULL (unknown) when the value does not fit, so one
-- outsized row cannot make a whole query fail.
CREATE FUNCTION compat.fit_int4(v numeric) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN round(v) BETWEEN -2147483648 AND 2147483647 THEN round(v)::integer END;

CREATE FUNCTION compat.fit_numeric(v numeric, prec integer, scale integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN abs(round(v, scale)) < 10::numeric ^ (prec - scale) THEN round(v, scale) END;

-- The name a step goes by: the tool's name for tool calls, the agent's for agents, else the span name.
CREATE FUNCTION compat.step_name(node_type text, name text, tool_name text, agent_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE node_type WHEN 'TOOL' THEN coalesce(tool_name, name) WHEN 'AGENT' THEN coalesce(agent_name, name)
  ELSE name END;

-- The node ancestors of a node, nearest first (hops: spans walked up), found by walking up through the
-- run's spans from the node's parent span, node or not; `since` (the run's start) bounds the partitions read.
CREATE FUNCTION compat.node_ancestors(run_id uuid, parent_span_id text, since timestamptz)
RETURNS TABLE (node_id text, hops integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  WITH RECURSIVE up (span_id, hops) AS (
    SELECT node_ancestors.parent_span_id COLLATE "C", 1
    UNION ALL
    SELECT (SELECT s.parent_span_id FROM runledger.spans s
            WHERE s.trace_id = node_ancestors.run_id AND s.span_id = up.span_id AND s.start_time >= since LIMIT 1),
      up.hops + 1
    FROM up WHERE up.span_id IS NOT NULL
  ) CYCLE span_id SET is_cycle USING path
  SELECT up.span_id, up.hops FROM up
  WHERE NOT up.is_cycle AND EXISTS (SELECT 1 FROM runledger.nodes a
    WHERE a.run_id = node_ancestors.run_id AND a.node_id = up.span_id AND a.start_time >= since)
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Building blocks: a run or a node with the facts several seeds need.

-- Runs. Every span of a run starts at or after runs.start_time (the earliest start), which bounds the
-- lookups below to the partitions from the run's day on.
CREATE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.*,
  compat.trace_hex(r.run_id) AS trace_hex,
  -- content: the root node's when the root span is a node, else the first node's input / the last node's
  -- output; no output while the run is RUNNING (the seeds set it on completion)
  CASE WHEN EXISTS (SELECT 1 FROM runledger.nodes n
         WHERE n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.input FROM runledger.nodes n
          WHERE n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.input FROM runledger.nodes n
          WHERE n.run_id = r.run_id AND n.start_time >= r.start_time AND n.input IS NOT NULL
          ORDER BY n.start_time, n.node_id LIMIT 1) END AS run_input,
  CASE WHEN r.status = 'RUNNING' THEN NULL
    WHEN EXISTS (SELECT 1 FROM runledger.nodes n
         WHERE n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.output FROM runledger.nodes n
          WHERE n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.output FROM runledger.nodes n
          WHERE n.run_id = r.run_id AND n.start_time >= r.start_time AND n.output IS NOT NULL
          ORDER BY n.end_time DESC, n.node_id DESC LIMIT 1) END AS run_output,
  -- where a failed run failed: its failed node that ended first (failures propagate up to later ends)
  (SELECT n.name FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.run_id = r.run_id AND n.start_time >= r.start_time AND n.status = 'FAILED'
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_name,
  (SELECT n.error_type FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.run_id = r.run_id AND n.start_time >= r.start_time AND n.status = 'FAILED'
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_error_type,
  (SELECT count(*) FROM runledger.nodes n
   WHERE n.run_id = r.run_id AND n.start_time >= r.start_time AND n.status = 'COMPLETED') AS completed_nodes,
  (SELECT count(*) FROM runledger.nodes n
   WHERE n.run_id = r.run_id AND n.start_time >= r.start_time AND n.status = 'FAILED') AS failed_nodes,
  -- the run's agent: the first agent node's name
  (SELECT n.agent_name FROM runledger.nodes n
   WHERE n.run_id = r.run_id AND n.start_time >= r.start_time AND n.agent_name IS NOT NULL
   ORDER BY n.start_time, n.node_id LIMIT 1) AS agent_name,
  -- the root span: its kind (SERVER: the run answered a request), its service's version, and the trace
  -- its first link points to (a run started from another run)
  (SELECT s.kind FROM runledger.spans s
   WHERE s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS root_kind,
  (SELECT s.resource ->> 'service.version' FROM runledger.spans s
   WHERE s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS service_version,
  (SELECT nullif(s.links -> 0 ->> 'traceId', '') FROM runledger.spans s
   WHERE s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS parent_trace_hex
FROM runledger.runs r;

-- Nodes with their run (a node is listed with the run row the caller can see).
-- step_order: 0-based position in the run by (start_time, node_id). attempt: 1 + the run's earlier nodes
-- of the same step name (the ledger records no retries: a step run again counts as a further attempt).
-- parent_node_id / depth: the nearest node ancestor and the number of node ancestors, found by walking
-- up the stored spans (a missing span ends the walk; a cycle of parent ids is walked once).
CREATE VIEW compat.ledger_nodes WITH (security_invoker = true) AS
SELECT n.*,
  r.pipeline AS run_pipeline, r.start_time AS run_start_time, r.status AS run_status,
  compat.trace_hex(r.run_id) AS trace_hex,
  compat.span_uuid(n.run_id, n.node_id) AS node_uuid,
  compat.step_name(n.node_type, n.name, n.tool_name, n.agent_name) AS step_name,
  (SELECT count(*) FROM runledger.nodes e
   WHERE e.run_id = n.run_id AND e.start_time >= r.start_time AND e.start_time <= n.start_time
     AND (e.start_time, e.node_id) < (n.start_time, n.node_id))::integer AS step_order,
  1 + (SELECT count(*) FROM runledger.nodes e
   WHERE e.run_id = n.run_id AND e.start_time >= r.start_time AND e.start_time <= n.start_time
     AND (e.start_time, e.node_id) < (n.start_time, n.node_id)
     AND compat.step_name(e.node_type, e.name, e.tool_name, e.agent_name)
       = compat.step_name(n.node_type, n.name, n.tool_name, n.agent_name))::integer AS attempt,
  (SELECT x.node_id FROM compat.node_ancestors(n.run_id, n.parent_span_id, r.start_time) x
   ORDER BY x.hops LIMIT 1) AS parent_node_id,
  (SELECT count(*) FROM compat.node_ancestors(n.run_id, n.parent_span_id, r.start_time))::integer AS depth,
  -- attributes of the span's first exception event (type, message, stacktrace)
  (SELECT (SELECT ev -> 'attributes' FROM jsonb_array_elements(s.events) ev
           WHERE ev ->> 'name' = 'exception' LIMIT 1)
   FROM runledger.spans s
   WHERE s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) AS exception
FROM runledger.nodes n
JOIN runledger.runs r ON r.run_id = n.run_id;

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
        WHERE c.trace_id = s.trace_id AND c.parent_span_id = s.span_id AND c.start_time >= r.start_time
        ORDER BY c.start_time, c.span_id) AS child_spans
FROM runledger.spans s
JOIN runledger.runs r ON r.run_id = s.trace_id
LEFT JOIN compat.ledger_nodes n ON n.run_id = s.trace_id AND n.node_id = s.span_id AND n.start_time = s.start_time;

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
-- Analysts read the views (row-level security of the ledger tables applies through them).

GRANT USAGE ON SCHEMA compat TO runledger_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA compat TO runledger_analyst;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA compat TO runledger_analyst;
