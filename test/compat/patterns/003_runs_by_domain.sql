-- seed 003, idx_workflow_runs_domain
SELECT run_id, workflow_name
FROM core_workflow_runs
WHERE domain = $1
ORDER BY started_at;
