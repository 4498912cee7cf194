-- seed 003, core_workflow_steps.run_id → core_workflow_runs: per-run step counts against the run's own
SELECT r.run_id, r.total_steps, count(s.step_id) AS steps,
       count(*) FILTER (WHERE s.status = 'FAILED') AS failed
FROM core_workflow_runs r JOIN core_workflow_steps s ON s.run_id = r.run_id
GROUP BY r.run_id, r.total_steps
ORDER BY r.run_id;
