-- Tenancy: hashed API keys (key → tenant) and row-level security for analysts.

-- API keys. Only the sha256 of a key is stored (lowercase hex). The gateway reloads this table
-- periodically (RUNLEDGER_API_KEYS_REFRESH_SECONDS): a key stops working once revoked_at has passed.
CREATE TABLE runledger.api_keys (
  key_sha256  text        PRIMARY KEY CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
  tenant_id   text        NOT NULL CHECK (tenant_id <> ''),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- The analysts' role. Roles are cluster-wide: several databases of one cluster may run this
-- migration at the same time, so a concurrent creation is tolerated.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'runledger_analyst') THEN
    BEGIN
      CREATE ROLE runledger_analyst NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'runledger: cannot create role runledger_analyst: %', SQLERRM
          USING HINT = 'run "CREATE ROLE runledger_analyst NOLOGIN" as a superuser, then migrate again';
    END;
  END IF;
END $$;

GRANT USAGE ON SCHEMA runledger TO runledger_analyst;
GRANT SELECT ON runledger.spans, runledger.nodes, runledger.runs TO runledger_analyst;

-- An analyst sees the rows of the tenant named by the runledger.tenant_id setting, and none without
-- it. The gateway writes as the tables' owner (or a superuser), which RLS does not apply to.
ALTER TABLE runledger.spans ENABLE ROW LEVEL SECURITY;
ALTER TABLE runledger.nodes ENABLE ROW LEVEL SECURITY;
ALTER TABLE runledger.runs  ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON runledger.spans FOR SELECT TO runledger_analyst
  USING (tenant_id = current_setting('runledger.tenant_id', true));
CREATE POLICY tenant_isolation ON runledger.nodes FOR SELECT TO runledger_analyst
  USING (tenant_id = current_setting('runledger.tenant_id', true));
CREATE POLICY tenant_isolation ON runledger.runs FOR SELECT TO runledger_analyst
  USING (tenant_id = current_setting('runledger.tenant_id', true));
