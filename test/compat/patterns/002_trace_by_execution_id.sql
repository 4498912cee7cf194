-- seed 002, idx_traces_execution_id (execution_id UNIQUE)
SELECT *
FROM traces
WHERE execution_id = $1;
