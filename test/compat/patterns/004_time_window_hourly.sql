-- seed 004, query family 1 "Time-window metrics (hour/day/week)" (idx_executions_started_at)
SELECT date_trunc('hour', started_at) AS hour, count(*) AS executions, sum(cost_usd) AS cost_usd,
       sum(token_input) AS token_input, sum(token_output) AS token_output
FROM executions
WHERE started_at >= $1 AND started_at < $2
GROUP BY 1
ORDER BY 1;
