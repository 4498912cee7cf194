-- seed 001, idx_runs_status (status)
SELECT id, error
FROM runs
WHERE tenant_id = $1 AND status = $2;
