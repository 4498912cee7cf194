-- seed 000, optional idx_olo_run_input_user ((input_json->>'userId')): filter by userId in the input
SELECT run_id, pipeline
FROM olo_run
WHERE input_json->>'userId' = $1;
