-- seed 004, query family 2 "Agent-level dashboards (top-N agents)"
SELECT agent_id, count(*) AS executions, sum(cost_usd) AS cost_usd, sum(token_input + token_output) AS tokens
FROM executions
WHERE started_at >= $1
GROUP BY agent_id
ORDER BY cost_usd DESC, agent_id
LIMIT 3;
