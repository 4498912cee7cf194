-- seed 000, idx_olo_run_node_parent (parent_node_id): the children of a node
SELECT node_id, node_type, depth
FROM olo_run_node
WHERE parent_node_id = $1
ORDER BY execution_order;
