-- seed 000, idx_olo_run_node_tenant + idx_olo_run_node_status: failed nodes (failure intelligence)
SELECT run_id, node_id, node_type, error_message, failure_type, error_code, error_details
FROM olo_run_node
WHERE tenant_id = $1 AND status = 'FAILED'
ORDER BY start_time;
