-- A span's GenAI content records found by their span (found in review of the logs path): log_content() (sql/011)
-- read every record of the run to find one span's, as the primary key leads with (tenant, run, time), once for
-- every span whose records arrive. A run whose calls each log their whole history (instrumentation-openai logs
-- every message of every call) grows its records quadratically: at 20,300 records in one run, its 200 spans'
-- content took 1.45-1.7 s (7-8 ms a span), 0.21-0.25 s with this index (PG 15). Partial, with log_content()'s
-- own condition: records without GenAI content (application logs) carry no entry.
CREATE INDEX logs_span_content ON runledger.logs (tenant_id, run_id, span_id)
WHERE content_input IS NOT NULL OR content_output IS NOT NULL;
