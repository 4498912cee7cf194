-- seed 003, idx_*_run (run_id) on the child table: the steps of a run in execution order
SELECT step_name, step_type, step_order, status, attempt, error_category
FROM core_workflow_steps
WHERE run_id = $1
ORDER BY step_order;
