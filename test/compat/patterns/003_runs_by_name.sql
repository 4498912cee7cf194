-- seed 003, idx_workflow_runs_name + idx_workflow_runs_started: a workflow's runs, newest first
SELECT run_id, status, started_at, duration_ms
FROM core_workflow_runs
WHERE workflow_name = $1
ORDER BY started_at DESC;
