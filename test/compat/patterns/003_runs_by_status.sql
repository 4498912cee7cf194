-- seed 003, idx_workflow_runs_status ("Status filtering (most common)")
SELECT run_id, workflow_name, completed_steps, failed_steps, total_steps
FROM core_workflow_runs
WHERE status = $1
ORDER BY started_at;
