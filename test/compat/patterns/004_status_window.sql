-- seed 004, idx_executions_status_started (status, started_at DESC)
SELECT status, environment, count(*) AS executions
FROM executions
WHERE started_at >= $1
GROUP BY status, environment
ORDER BY status, environment;
