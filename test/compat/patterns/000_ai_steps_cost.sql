-- seed 000, idx_olo_run_node_type: AI cost of MODEL/PLANNER nodes
SELECT node_type, count(*) AS nodes, sum(token_input_count) AS input_tokens,
       sum(token_output_count) AS output_tokens, sum(estimated_cost) AS cost
FROM olo_run_node
WHERE run_id = $1 AND node_type IN ('MODEL', 'PLANNER')
GROUP BY node_type
ORDER BY node_type;
