-- Prices from the @pydantic/genai-prices manifest (issue 11): where each computed price came from, and
-- the models the ledger could not price.

-- The price reference of a node whose cost_source is 'price_table': `genai-prices@<version>:<provider>/<model id>`
-- (the shipped manifest) or `prices-file@<content hash>:<match>` (RUNLEDGER_PRICES_FILE). NULL for reported and
-- unknown costs, and for nodes priced before this column existed (by the earlier hand-kept table);
-- `runledger reprice` re-prices nodes whose reference names a price source no longer in force.
ALTER TABLE runledger.nodes ADD COLUMN price_ref text;

-- Models the ledger has usage but no cost for (no reported cost, no price in the manifest or the price
-- file), counted as the daily rollup counts unpriced_calls (usage-counted nodes without a cost): what an
-- operator adds to RUNLEDGER_PRICES_FILE. Runs with the caller's rights, so row-level security applies.
CREATE VIEW runledger.unpriced_models WITH (security_invoker = true) AS
SELECT n.tenant_id, n.provider, n.model_name, count(*) AS calls,
  sum(n.input_tokens) AS input_tokens, sum(n.output_tokens) AS output_tokens,
  sum(n.cache_read_tokens) AS cache_read_tokens, sum(n.cache_write_tokens) AS cache_write_tokens,
  sum(n.reasoning_tokens) AS reasoning_tokens, sum(n.total_tokens) AS total_tokens,
  min(n.start_time) AS first_seen, max(n.start_time) AS last_seen
FROM runledger.nodes n
WHERE n.usage_counted AND n.total_cost IS NULL
GROUP BY n.tenant_id, n.provider, n.model_name;

GRANT SELECT ON runledger.unpriced_models TO runledger_analyst;
