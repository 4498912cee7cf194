-- runs' primary key ordered (run_id, tenant_id) instead of (tenant_id, run_id), and runs_run_id (sql/013) dropped:
-- the key now serves the lookups of a run by its trace id alone (compat, node_tree(), a tenant's analyst with
-- row-level security's tenant condition beside it), and every run written paid for a second b-tree on run_id.
-- Nothing reads runs by tenant through this key: by tenant and time is runs_tenant_start, and ON CONFLICT
-- (idempotent inserts) infers the key whatever its column order. Measured through the gateway (npm run bench,
-- BENCH_SPANS=200000, PostgreSQL 18 with pg_stat_statements, two runs each): the insert of new runs 4.73-4.74 ->
-- 3.95-3.98 µs of PostgreSQL time per span; 5.6 B/span less on disk (docs/schema.md, Indexes).
-- The key is rebuilt under an exclusive lock on runs: 0.5 s at 162,620 runs (2M spans, PostgreSQL 15, the whole
-- migrate command); writers wait meanwhile.
ALTER TABLE runledger.runs DROP CONSTRAINT runs_pkey, ADD PRIMARY KEY (run_id, tenant_id);
DROP INDEX runledger.runs_run_id;
