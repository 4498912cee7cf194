-- Mapping additions of issue 10 (docs/schema.md, docs/mapping.md).
--
-- usage_normalized: the span's input (output) token count evidently left out its cache (reasoning) tokens, and
-- the mapping raised it to include them (OTel: input includes cache reads and writes, output includes
-- reasoning), so input_tokens, total_tokens and the costs follow the OTel rule. Rows stored before this
-- migration were never normalised: false.
-- tool_definitions: the tool definitions offered to the model (gen_ai.tool.definitions and equivalents), kept
-- apart from input, truncated like input and output.
-- ADD COLUMN on the partitioned table reaches every partition; a constant default rewrites no rows.
ALTER TABLE runledger.nodes ADD COLUMN usage_normalized boolean NOT NULL DEFAULT false;
ALTER TABLE runledger.nodes ADD COLUMN tool_definitions jsonb;
