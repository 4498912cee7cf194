-- seed 002, idx_spans_parent_span_id (parent_span_id)
SELECT name, span_type
FROM spans
WHERE parent_span_id = $1
ORDER BY started_at;
