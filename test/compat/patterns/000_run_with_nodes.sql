-- seed 000, FOREIGN KEY olo_run_node(run_id) → olo_run: run aggregations against their node rows
SELECT r.run_id, r.total_nodes, count(n.node_id) AS node_rows
FROM olo_run r LEFT JOIN olo_run_node n ON n.run_id = r.run_id
WHERE r.tenant_id = $1
GROUP BY r.run_id, r.total_nodes
ORDER BY r.run_id;
