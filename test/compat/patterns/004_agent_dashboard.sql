-- seed 004, query family 2 "Agent-level dashboards (single agent)" (idx_executions_agent_started)
SELECT id, run_key, status, started_at, duration_ms, cost_usd
FROM executions
WHERE agent_id = $1 AND started_at >= $2
ORDER BY started_at DESC;
