-- seed 000, idx_olo_run_pipeline: runs of a pipeline, with the run aggregations set on run end
SELECT run_id, status, total_nodes, total_cost, total_tokens, total_prompt_tokens, total_completion_tokens,
       currency, error_message, failure_stage
FROM olo_run
WHERE pipeline = $1
ORDER BY start_time;
