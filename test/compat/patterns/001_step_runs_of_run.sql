-- seed 001, idx_step_runs_run (run_id): the step runs of a run
SELECT step_name, status, attempt, error, duration_ms
FROM step_runs
WHERE run_id = $1
ORDER BY started_at;
