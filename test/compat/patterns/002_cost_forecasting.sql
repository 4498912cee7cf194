-- seed 002, traces use case "Cost forecasting: historical data analysis" (idx_traces_total_tokens_gin)
SELECT to_char(date_trunc('day', started_at), 'YYYY-MM-DD') AS day, count(*) AS traces, sum(total_cost) AS cost,
       sum((total_tokens->>'total')::bigint) AS tokens
FROM traces
WHERE total_tokens ? 'total'
GROUP BY 1
ORDER BY 1;
