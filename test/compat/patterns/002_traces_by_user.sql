-- seed 002, idx_traces_user_id (user_id)
SELECT trace_id, workflow_id
FROM traces
WHERE user_id = $1;
