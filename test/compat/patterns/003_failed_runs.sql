-- seed 003, idx_workflow_runs_failed / idx_*_failed (status, created_at) WHERE status = 'FAILED'
SELECT run_id, error, error_category, triggered_by, parent_run_id
FROM core_workflow_runs
WHERE status = 'FAILED' AND created_at >= $1
ORDER BY created_at;
