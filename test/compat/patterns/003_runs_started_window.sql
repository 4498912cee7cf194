-- seed 003, idx_*_started (started_at): time-based queries over ISO-8601 text timestamps
SELECT run_id, started_at
FROM core_workflow_runs
WHERE started_at >= $1 AND started_at < $2
ORDER BY started_at;
