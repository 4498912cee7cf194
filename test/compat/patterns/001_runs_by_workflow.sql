-- seed 001, idx_runs_workflow (workflow_id), with the multi-tenancy rule (every query names tenant_id)
SELECT id, status, mode, triggered_by, started_at, completed_at
FROM runs
WHERE tenant_id = $1 AND workflow_id = $2
ORDER BY started_at;
