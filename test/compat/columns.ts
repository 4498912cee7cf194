/**
 * The seed schemas' columns (name and type, in the seeds' order), as PostgreSQL's format_type names them.
 * Seed 000 includes every column its migration section adds; seed 003's SQLite types are TEXT / INTEGER
 * (its "TEXT (JSON)" and ISO-timestamp columns are text).
 */
const VC = (n: number) => `character varying(${n})`;
const TSTZ = 'timestamp with time zone';
const TS = 'timestamp without time zone';

type Cols = [name: string, type: string][];

const text = (...names: string[]): Cols => names.map((n) => [n, 'text']);
const int = (...names: string[]): Cols => names.map((n) => [n, 'integer']);

export const SEED_COLUMNS: Record<string, Cols> = {
  olo_run: [
    ['run_id', 'uuid'], ['tenant_id', VC(255)], ['pipeline', VC(255)], ['pipeline_checksum', VC(128)],
    ['execution_engine_version', VC(64)], ['input_json', 'jsonb'], ['start_time', TSTZ], ['end_time', TSTZ],
    ['final_output', 'text'], ['status', VC(32)], ['total_nodes', 'integer'], ['total_cost', 'numeric(10,6)'],
    ['total_tokens', 'integer'], ['duration_ms', 'bigint'],
    // migrations
    ['error_message', 'text'], ['failure_stage', VC(128)], ['total_prompt_tokens', 'integer'],
    ['total_completion_tokens', 'integer'], ['currency', VC(8)],
  ],
  olo_run_node: [
    ['run_id', 'uuid'], ['tenant_id', VC(255)], ['node_id', VC(255)], ['node_type', VC(64)], ['input_snapshot', 'jsonb'],
    ['start_time', TSTZ], ['output_snapshot', 'jsonb'], ['end_time', TSTZ], ['status', VC(32)], ['error_message', 'text'],
    ['token_input_count', 'integer'], ['token_output_count', 'integer'], ['estimated_cost', 'numeric(10,6)'],
    ['model_name', VC(128)], ['provider', VC(64)], ['prompt_hash', VC(128)], ['model_config_json', 'jsonb'],
    ['tool_calls_json', 'jsonb'], ['external_payload_ref', VC(512)], ['retry_count', 'integer'],
    ['execution_stage', VC(64)], ['failure_type', VC(128)],
    // migrations
    ['error_code', VC(64)], ['error_details', 'jsonb'], ['prompt_cost', 'numeric(10,6)'],
    ['completion_cost', 'numeric(10,6)'], ['total_cost', 'numeric(10,6)'], ['temperature', 'numeric(5,4)'],
    ['top_p', 'numeric(5,4)'], ['provider_request_id', VC(255)], ['attempt', 'integer'], ['max_attempts', 'integer'],
    ['backoff_ms', 'bigint'], ['parent_node_id', VC(255)], ['execution_order', 'integer'], ['depth', 'integer'],
  ],
  runs: [
    ['id', 'uuid'], ['tenant_id', 'uuid'], ['workflow_id', 'uuid'], ['workflow_version', 'integer'], ['status', VC(50)],
    ['mode', VC(50)], ['input', 'jsonb'], ['output', 'jsonb'], ['error', 'text'], ['triggered_by', VC(50)],
    ['triggered_by_user', 'uuid'], ['started_at', TSTZ], ['completed_at', TSTZ], ['created_at', TSTZ],
  ],
  step_runs: [
    ['id', 'uuid'], ['run_id', 'uuid'], ['step_id', 'uuid'], ['step_name', VC(255)], ['status', VC(50)],
    ['attempt', 'integer'], ['input', 'jsonb'], ['output', 'jsonb'], ['error', 'text'], ['started_at', TSTZ],
    ['completed_at', TSTZ], ['duration_ms', 'integer'], ['created_at', TSTZ],
  ],
  traces: [
    ['trace_id', 'uuid'], ['workflow_id', VC(255)], ['execution_id', VC(255)], ['user_id', 'uuid'], ['query', 'text'],
    ['started_at', TS], ['completed_at', TS], ['total_duration_ms', 'integer'], ['status', VC(50)], ['error', 'text'],
    ['total_cost', 'numeric(10,6)'], ['total_tokens', 'jsonb'], ['metadata', 'jsonb'],
  ],
  spans: [
    ['span_id', 'uuid'], ['trace_id', 'uuid'], ['parent_span_id', 'uuid'], ['span_type', VC(50)], ['name', VC(255)],
    ['status', VC(50)], ['started_at', TS], ['completed_at', TS], ['duration_ms', 'integer'], ['inputs', 'jsonb'],
    ['outputs', 'jsonb'], ['tokens', 'jsonb'], ['cost', 'numeric(10,6)'], ['model', VC(255)], ['provider', VC(100)],
    ['error', 'text'], ['error_type', VC(100)], ['error_stack', 'text'], ['api_limits', 'jsonb'],
    ['retry_count', 'integer'], ['timeout', 'integer'], ['evaluation', 'jsonb'], ['metadata', 'jsonb'],
    ['child_spans', 'text[]'],
  ],
  core_workflow_runs: [
    ...text('run_id', 'workflow_name'), ...int('workflow_version'), ...text('domain', 'partition_key', 'status',
      'started_at', 'completed_at'), ...int('duration_ms'), ...text('params', 'outputs', 'error', 'error_category'),
    ...int('error_retryable', 'total_steps', 'completed_steps', 'failed_steps', 'skipped_steps'),
    ...text('triggered_by', 'parent_run_id', 'schedule_id', 'created_at', 'created_by', 'capture_id'),
  ],
  core_workflow_steps: [
    ...text('step_id', 'run_id', 'step_name', 'step_type'), ...int('step_order'), ...text('status', 'started_at',
      'completed_at'), ...int('duration_ms'), ...text('params', 'outputs', 'error', 'error_category'),
    ...int('row_count'), ...text('metrics'), ...int('attempt', 'max_attempts'), ...text('execution_id'),
  ],
  executions: [
    ['id', 'uuid'], ['task_id', 'uuid'], ['agent_id', 'uuid'], ['run_key', 'text'], ['environment', 'text'],
    ['status', 'text'], ['started_at', TSTZ], ['ended_at', TSTZ], ['duration_ms', 'integer'],
    ['cost_usd', 'numeric(12,4)'], ['token_input', 'integer'], ['token_output', 'integer'],
  ],
};
