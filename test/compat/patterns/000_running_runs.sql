-- seed 000, idx_olo_run_status: running workflows (end_time and duration_ms are set on run end)
SELECT run_id, pipeline, end_time, duration_ms, total_cost
FROM olo_run
WHERE status = 'RUNNING';
