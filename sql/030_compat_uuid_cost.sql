-- compat's pipeline, agent and step uuids (seed 001's workflow_id and step_id, seed 004's task_id and agent_id)
-- went through compat.ledger_uuid, which first tests its key against the uuid pattern (a case-insensitive
-- regular expression) to pass a uuid through as it is. Their keys join the tenant and the name with '/'
-- (compat.id_part escapes a '/' inside a part), which that pattern never matches: the test was spent on every
-- row of every read. Now they are the md5 of the same text directly: the same uuids (test/compat-ids.test.ts
-- compares them with ledger_uuid's on hostile keys). Seed 004's constraints check over every run (issue 12),
-- PostgreSQL 15, 162,620 runs, the two definitions alternating 4 times in one session: 1.10-1.23 s against
-- 1.28-1.51 s as the tables' owner (-15%).
CREATE OR REPLACE FUNCTION compat.pipeline_uuid(tenant_id text, pipeline text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5('pipeline:' || compat.id_part(tenant_id) || '/' || coalesce(pipeline, ''))::uuid;

CREATE OR REPLACE FUNCTION compat.agent_uuid(tenant_id text, agent text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5('agent:' || compat.id_part(tenant_id) || '/' || coalesce(agent, ''))::uuid;

CREATE OR REPLACE FUNCTION compat.step_uuid(tenant_id text, pipeline text, step_name text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5('step:' || compat.id_part(tenant_id) || '/' || compat.id_part(coalesce(pipeline, '')) || '/' || step_name)::uuid;
