-- seed 000, idx_olo_run_node_run: the nodes of a run (hierarchy columns: tree reconstruction)
SELECT node_id, node_type, status, parent_node_id, execution_order, depth, attempt, retry_count
FROM olo_run_node
WHERE run_id = $1
ORDER BY execution_order;
