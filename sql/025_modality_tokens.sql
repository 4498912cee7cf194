-- Audio and image parts of a node's token counts (OTel GenAI gen_ai.usage.<modality>.*, OpenInference
-- llm.token_count.*_details.audio/image): {"audio_input", "audio_cache_read", "audio_output", "image_input",
-- "image_cache_read", "image_output"}, each a part of input_tokens, cache_read_tokens or output_tokens. The price
-- math prices each at the model's own rate (a realtime call's audio at 4-8x the text rate: priced at the text
-- rate it came out 3.8x under), and `reprice` reads them back. NULL when the producer reports none: a catalog-only
-- column, no partition is rewritten. runledger.nodes_full gains it as its last column.
ALTER TABLE runledger.nodes ADD COLUMN modality_tokens jsonb;
-- lz4 like the other compressible columns (sql/016), where the server has it
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE runledger.nodes ALTER COLUMN modality_tokens SET COMPRESSION lz4;
  END IF;
END $$;

CREATE OR REPLACE VIEW runledger.nodes_full WITH (security_invoker = true) AS
SELECT
  n.run_id, n.node_id, n.parent_span_id, n.tenant_id, n.node_type, n.operation, n.name, n.status, n.error_type,
  n.error_message, n.start_time, n.end_time, n.duration_ms, n.provider, n.request_model, n.response_model,
  n.model_name, n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens,
  n.total_tokens, n.input_cost, n.output_cost, n.total_cost, n.cost_source, n.temperature, n.top_p,
  n.max_tokens, n.finish_reasons, n.response_id, n.tool_name, n.tool_call_id, n.agent_name, n.session_id,
  n.user_id, n.prompt_hash,
  CASE WHEN n.input IS NOT NULL OR n.input_ref IS NULL THEN n.input
    ELSE (SELECT runledger.ref_content(s.attributes, n.input_ref) FROM runledger.spans s WHERE s.tenant_id = n.tenant_id
          AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) END AS input,
  CASE WHEN n.output IS NOT NULL OR n.output_ref IS NULL THEN n.output
    ELSE (SELECT runledger.ref_content(s.attributes, n.output_ref) FROM runledger.spans s WHERE s.tenant_id = n.tenant_id
          AND s.trace_id = n.run_id AND s.span_id = n.node_id AND s.start_time = n.start_time) END AS output,
  n.usage_counted, n.price_ref, n.usage_normalized,
  CASE WHEN n.tool_definitions IS NOT NULL OR n.tool_definitions_ref IS NULL THEN n.tool_definitions
    ELSE (SELECT runledger.ref_content(s.attributes, n.tool_definitions_ref) FROM runledger.spans s
          WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
            AND s.start_time = n.start_time) END AS tool_definitions,
  n.call_counted, n.content_source, n.parent_node_id, n.parent_missing, n.depth, n.step_order, n.attempt, n.tree_path,
  n.input_ref, n.output_ref, n.tool_definitions_ref, n.modality_tokens
FROM runledger.nodes n;
