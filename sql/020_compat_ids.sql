-- Compat ids built from names joined with '/' no longer collide (tenant "org" + pipeline "team/x" and tenant
-- "org/team" + pipeline "x" had one workflow id; pipeline "a/b" + step "c" and pipeline "a" + step "b/c" one
-- step id). Every part before the last is escaped ('\' -> '\\', '/' -> '\/'), so the first unescaped '/' ends
-- it; names without '/' or '\' keep the ids they had (docs/compat.md, test/compat-ids.test.ts). The
-- derivations are functions now, for analysts to build filter values with rather than repeat them.

-- A part of a compat key that other parts follow.
CREATE FUNCTION compat.id_part(part text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN replace(replace(part, '\', '\\'), '/', '\/');

CREATE OR REPLACE FUNCTION compat.user_uuid(tenant_id text, user_id text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN user_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN user_id::uuid
  WHEN user_id IS NOT NULL THEN md5('user:' || compat.id_part(tenant_id) || '/' || user_id)::uuid
END;

-- seed 001's workflow id, seed 004's task id
CREATE FUNCTION compat.pipeline_uuid(tenant_id text, pipeline text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN compat.ledger_uuid('pipeline', compat.id_part(tenant_id) || '/' || coalesce(pipeline, ''));

-- seed 004's agent id (agent: the run's agent name, else its service, else its pipeline)
CREATE FUNCTION compat.agent_uuid(tenant_id text, agent text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN compat.ledger_uuid('agent', compat.id_part(tenant_id) || '/' || coalesce(agent, ''));

-- seed 001's step id: one per step of a workflow (NULL without a step name)
CREATE FUNCTION compat.step_uuid(tenant_id text, pipeline text, step_name text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN compat.ledger_uuid('step', compat.id_part(tenant_id) || '/' || compat.id_part(coalesce(pipeline, '')) || '/' || step_name);

-- 013's views, their id columns through the functions above (every other column as 013 wrote it).
CREATE OR REPLACE VIEW compat.runs WITH (security_invoker = true) AS
SELECT r.run_id AS id,
  compat.tenant_uuid(r.tenant_id) AS tenant_id,
  compat.pipeline_uuid(r.tenant_id, r.pipeline) AS workflow_id,
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

CREATE OR REPLACE VIEW compat.executions WITH (security_invoker = true) AS
SELECT r.run_id AS id,
  compat.pipeline_uuid(r.tenant_id, r.pipeline) AS task_id,
  compat.agent_uuid(r.tenant_id, coalesce(r.agent_name, r.service_name, r.pipeline)) AS agent_id,
  r.trace_hex::text AS run_key,
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

CREATE OR REPLACE VIEW compat.step_runs WITH (security_invoker = true) AS
SELECT n.node_uuid AS id,
  n.run_id,
  compat.step_uuid(n.tenant_id, n.run_pipeline, n.step_name) AS step_id,
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
