-- seed 004, the executions CHECK constraints as a query: rows that would violate one (none expected)
SELECT id
FROM executions
WHERE environment NOT IN ('dev', 'staging', 'prod')
   OR status NOT IN ('running', 'succeeded', 'failed', 'timeout', 'canceled')
   OR ended_at < started_at OR duration_ms < 0 OR cost_usd < 0 OR token_input < 0 OR token_output < 0
   OR task_id IS NULL OR agent_id IS NULL OR run_key IS NULL OR cost_usd IS NULL
   OR token_input IS NULL OR token_output IS NULL;
