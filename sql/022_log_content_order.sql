-- Messages logged at one instant in the order they were logged, where the records say it (found checking
-- per-message GenAI events against the ledger): instrumentation-openai 0.21 stamps every input message of a call
-- with one time (Date.now() once per call), and log_content() (sql/011) then ordered them by role: a history
-- system, user Q1, assistant A1, user Q2 came out as system, Q1, Q2, A1. A record's observed time is set by the
-- SDK as it emits the record; it now breaks ties of time before role does. The Python SDK's is time_ns(), so
-- its records keep their order; the Node SDK's is Date.now(), so a Node call's messages usually tie on it too
-- and stay ordered by role (docs/mapping.md: a record carries no position, and its place in a request cannot
-- count). The observed time is part of the record and of its identity: re-sends and any split into requests
-- give the same order. Nodes filled before keep the order they were given until records of their span arrive.

CREATE OR REPLACE FUNCTION runledger.log_content(p_tenant text, p_run uuid, p_span text, max_chars integer)
RETURNS TABLE (input jsonb, output jsonb, prompt_hash text)
LANGUAGE sql STABLE
AS $$
  WITH f AS MATERIALIZED (
    SELECT l.content_input, l.content_output, l.content_whole, l.content_rank, l.time, l.observed_time, l.record_hash
    FROM runledger.logs l
    WHERE l.tenant_id = p_tenant AND l.run_id = p_run AND l.span_id = p_span
      AND (l.content_input IS NOT NULL OR l.content_output IS NOT NULL)
  ), v AS (
    SELECT
      coalesce((SELECT f.content_input FROM f WHERE f.content_whole AND f.content_input IS NOT NULL
                ORDER BY f.time DESC, f.record_hash DESC LIMIT 1),
               (SELECT jsonb_agg(f.content_input ORDER BY f.time, f.observed_time, f.content_rank, f.record_hash) FROM f
                WHERE NOT f.content_whole AND f.content_input IS NOT NULL)) AS input,
      coalesce((SELECT f.content_output FROM f WHERE f.content_whole AND f.content_output IS NOT NULL
                ORDER BY f.time DESC, f.record_hash DESC LIMIT 1),
               (SELECT jsonb_agg(f.content_output ORDER BY f.time, f.observed_time, f.content_rank, f.record_hash) FROM f
                WHERE NOT f.content_whole AND f.content_output IS NOT NULL)) AS output
  )
  SELECT runledger.stored_content(v.input, max_chars), runledger.stored_content(v.output, max_chars),
    CASE WHEN v.input IS NOT NULL THEN encode(sha256(convert_to(v.input::text, 'UTF8')), 'hex') END
  FROM v
$$;
