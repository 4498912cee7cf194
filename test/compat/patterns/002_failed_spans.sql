-- seed 002, idx_spans_status: failed spans with their error details
SELECT name, span_type, error, error_type, error_stack
FROM spans
WHERE status = 'failed'
ORDER BY started_at;
