-- seed 002, spans use case "cost breakdown" (idx_spans_span_type, idx_spans_tokens_gin). Each span shows
-- its own usage: count a trace's usage once with metadata->>'usage_counted' (aggregates carry it twice).
SELECT span_type, model, count(*) AS spans, sum(cost) AS cost, sum((tokens->>'total')::bigint) AS tokens,
       sum(cost) FILTER (WHERE (metadata->>'usage_counted')::boolean) AS counted_cost
FROM spans
WHERE trace_id = $1 AND tokens ? 'total'
GROUP BY span_type, model
ORDER BY span_type, model;
