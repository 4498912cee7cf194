-- seed 002, idx_traces_status + idx_traces_started_at (started_at DESC)
SELECT trace_id, error
FROM traces
WHERE status = $1
ORDER BY started_at DESC;
