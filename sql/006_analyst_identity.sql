-- Analysts bound to tenants by their login role, not by a setting they could change.
--
-- A login role listed in runledger.analyst_tenants sees exactly the tenants listed for it, whatever it
-- sets runledger.tenant_id to and whatever role it SETs (the binding is to session_user, the role it
-- logged in as). A role not listed keeps the setting-based rule of 002: it sees the tenant named by
-- runledger.tenant_id. Only the ledger's owner can change the bindings.

CREATE TABLE runledger.analyst_tenants (
  role_name  name NOT NULL,
  tenant_id  text NOT NULL CHECK (tenant_id <> ''),
  PRIMARY KEY (role_name, tenant_id)
);

/** The tenants the current session may see: its login role's bindings, else the runledger.tenant_id setting. */
CREATE FUNCTION runledger.analyst_tenant_ids() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
AS $$
  SELECT CASE WHEN EXISTS (SELECT 1 FROM runledger.analyst_tenants b WHERE b.role_name = session_user)
    THEN ARRAY(SELECT b.tenant_id FROM runledger.analyst_tenants b WHERE b.role_name = session_user)
    ELSE ARRAY[current_setting('runledger.tenant_id', true)] END
$$;
REVOKE EXECUTE ON FUNCTION runledger.analyst_tenant_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION runledger.analyst_tenant_ids() TO runledger_analyst;

-- The policies read the tenants once per query (the sub-select is an init plan), not once per row.
DROP POLICY tenant_isolation ON runledger.spans;
DROP POLICY tenant_isolation ON runledger.nodes;
DROP POLICY tenant_isolation ON runledger.runs;
CREATE POLICY tenant_isolation ON runledger.spans FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));
CREATE POLICY tenant_isolation ON runledger.nodes FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));
CREATE POLICY tenant_isolation ON runledger.runs FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));

-- The rollup view (004) filters the same way for every caller row-level security applies to.
CREATE OR REPLACE VIEW runledger.daily_usage WITH (security_barrier = true) AS
SELECT u.day, u.tenant_id, u.pipeline, u.provider, u.model, u.runs, u.calls, u.llm_calls, u.embedding_calls,
  u.failed_calls, u.counted_calls, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
  u.reasoning_tokens, u.total_tokens, u.total_cost, u.unpriced_calls
FROM runledger.daily_usage_rollup u
WHERE NOT row_security_active('runledger.nodes')
   OR u.tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]);
