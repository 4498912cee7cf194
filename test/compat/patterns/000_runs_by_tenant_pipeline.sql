-- seed 000, idx_olo_run_tenant_pipeline_start (tenant_id, pipeline, start_time DESC): tenant + pipeline + time range
SELECT run_id, status, start_time
FROM olo_run
WHERE tenant_id = $1 AND pipeline = $2 AND start_time >= $3
ORDER BY start_time DESC;
