-- seed 000, idx_olo_run_tenant_start (tenant_id, start_time): a tenant's runs in a time window (dashboards)
SELECT run_id, pipeline, status, total_nodes, total_tokens, total_cost, duration_ms
FROM olo_run
WHERE tenant_id = $1 AND start_time >= $2 AND start_time < $3
ORDER BY start_time;
