-- seed 004, idx_executions_task_started (task_id, started_at DESC): the executions of a task
SELECT count(*) AS executions, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       sum(cost_usd) AS cost_usd, max(duration_ms) AS max_duration_ms
FROM executions
WHERE task_id = $1 AND started_at >= $2;
