-- seed 003, Unique Constraint (run_id, step_name, attempt) on core_workflow_steps: no violations
SELECT run_id, step_name, attempt, count(*)
FROM core_workflow_steps
GROUP BY run_id, step_name, attempt
HAVING count(*) > 1;
