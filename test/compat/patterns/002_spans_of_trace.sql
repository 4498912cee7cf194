-- seed 002, idx_spans_trace_started (trace_id, started_at): span-level analysis, performance debugging
SELECT span_id, parent_span_id, span_type, name, status, duration_ms, child_spans
FROM spans
WHERE trace_id = $1
ORDER BY started_at;
