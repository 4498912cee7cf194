-- Rows earlier gateways left, and a view, made to read as a fresh ingest of the same data reads.
--
-- 1. Spans earlier gateways stored with times the gateway no longer stores (964819b): without a start time (kept
-- at the epoch, so their run started in 1970 and lasted 56 years) or ending before their start (negative
-- durations in compat.spans). A gateway now rejects the first and stores the second ending at its start; this
-- makes the rows written before say the same, so an upgraded ledger reads as a fresh ingest of the same spans.
-- The runs they touch are recomputed by the repair queued here (the gateway and `runledger migrate` work the
-- queue off). Cost: one scan of spans and nodes (no index on end_time); only the rows changed are written.

CREATE TEMP TABLE span_time_runs ON COMMIT DROP AS
SELECT DISTINCT tenant_id, trace_id AS run_id FROM runledger.spans
WHERE start_time = 'epoch' OR end_time < start_time;

-- A start under 1 µs is stored as the epoch: the gateway rejects it as having no start time (spanTimes).
-- The node of such a span, like every node, is in its span's partition and has its start time.
DELETE FROM runledger.nodes WHERE start_time = 'epoch';
DELETE FROM runledger.usage_frontier f USING runledger.spans s
WHERE s.start_time = 'epoch' AND f.tenant_id = s.tenant_id AND f.trace_id = s.trace_id AND f.span_id = s.span_id;
DELETE FROM runledger.spans WHERE start_time = 'epoch';

-- Ending before its start (or without an end: the epoch): stored ending at its start, duration 0.
UPDATE runledger.spans SET end_time = start_time WHERE end_time < start_time;
UPDATE runledger.nodes SET end_time = start_time, duration_ms = 0 WHERE end_time < start_time;

-- Their runs are rebuilt from their spans, as a fresh ingest builds them: the runs row is recreated by the
-- repair (so the run's root, name, status, times and hints come from the spans left), or stays gone when
-- no span is left. Their frontier rows are recomputed by the same repair.
DELETE FROM runledger.runs r USING span_time_runs t WHERE r.tenant_id = t.tenant_id AND r.run_id = t.run_id;
DELETE FROM runledger.usage_frontier f USING span_time_runs t WHERE f.tenant_id = t.tenant_id AND f.trace_id = t.run_id;
INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT t.tenant_id, t.run_id, 'spans without a start time, or ending before it, normalised by migration 024'
FROM span_time_runs t
WHERE EXISTS (SELECT FROM runledger.spans s WHERE s.tenant_id = t.tenant_id AND s.trace_id = t.run_id)
ON CONFLICT DO NOTHING;

-- 2. runledger.run_summary.llm_time_ms summed the calls' double precision durations in the order the rows were
-- read, so the same nodes stored in another order (an upgraded ledger against a fresh one, a run rewritten by
-- `repair --remap`) gave 529.9200000000001 against 529.92, and llm_time_share differed with it. Summed as
-- numeric (a double as numeric keeps 15 significant digits: a duration's microseconds exactly), the result no
-- longer depends on the order. The view is sql/023's otherwise.
CREATE OR REPLACE VIEW runledger.run_summary WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.name, r.service_name, r.environment, r.session_id, r.user_id,
  r.status, r.error_message,
  (r.start_time AT TIME ZONE 'UTC')::date AS day,
  r.start_time, r.end_time, r.duration_ms,
  r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count AS error_spans,
  r.failed_nodes,
  r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens,
  r.total_cost, r.currency, r.models,
  cardinality(r.models) AS model_count,
  round(r.total_cost * 1000 / NULLIF(r.total_tokens, 0), 10) AS cost_per_1k_tokens,
  r.llm_calls::double precision / NULLIF(r.total_nodes, 0) AS llm_call_share,
  l.llm_time_ms,
  l.llm_time_ms / NULLIF(r.duration_ms, 0) AS llm_time_share
FROM runledger.runs r,
LATERAL (SELECT (SELECT sum(n.duration_ms::numeric)::double precision FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
  AND n.run_id = r.run_id AND n.node_type = 'LLM' AND n.call_counted
  AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')) AS llm_time_ms OFFSET 0) l;
