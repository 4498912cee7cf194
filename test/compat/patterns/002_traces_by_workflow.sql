-- seed 002, idx_traces_workflow_started (workflow_id, started_at DESC): trace listing / workflow analysis
SELECT trace_id, execution_id, status, total_duration_ms, total_cost
FROM traces
WHERE workflow_id = $1
ORDER BY started_at DESC;
