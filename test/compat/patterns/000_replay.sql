-- seed 000, replay metadata: prompt_hash, model_config_json, tool_calls_json of a run's nodes
SELECT node_id, prompt_hash, model_config_json, tool_calls_json, provider_request_id, temperature, top_p
FROM olo_run_node
WHERE run_id = $1 AND (prompt_hash IS NOT NULL OR tool_calls_json IS NOT NULL)
ORDER BY execution_order;
