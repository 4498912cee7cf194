-- runledger ledger schema: raw spans, GenAI nodes, run rollups.
-- Span ids are lowercase hex: COLLATE "C" keeps their comparisons (and B-tree inserts) byte-wise and cheap.
CREATE SCHEMA IF NOT EXISTS runledger;

-- Every raw span, exactly once (PK makes re-sends idempotent).
CREATE TABLE runledger.spans (
  trace_id        uuid        NOT NULL,
  span_id         text COLLATE "C" NOT NULL,     -- 16 lowercase hex chars
  parent_span_id  text COLLATE "C",              -- NULL for a root span
  tenant_id       text        NOT NULL,
  name            text        NOT NULL,
  kind            text        NOT NULL,          -- INTERNAL | SERVER | CLIENT | PRODUCER | CONSUMER | UNSPECIFIED
  start_time      timestamptz NOT NULL,
  end_time        timestamptz NOT NULL,
  status_code     text        NOT NULL,          -- UNSET | OK | ERROR
  status_message  text,
  service_name    text,
  scope_name      text,
  attributes      jsonb       NOT NULL,
  resource        jsonb       NOT NULL,
  events          jsonb,
  links           jsonb,
  ingested_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trace_id, span_id)
);

-- One row per GenAI step (LLM call, tool call, agent, chain, retriever, embedding, ...).
-- run_id = trace_id, node_id = span_id.
CREATE TABLE runledger.nodes (
  run_id              uuid        NOT NULL,
  node_id             text COLLATE "C" NOT NULL,
  parent_span_id      text COLLATE "C",
  tenant_id           text        NOT NULL,
  node_type           text        NOT NULL CHECK (node_type IN
                        ('LLM','EMBEDDING','TOOL','AGENT','CHAIN','RETRIEVER','RERANKER','GUARDRAIL','EVALUATOR')),
  operation           text,
  name                text        NOT NULL,
  status              text        NOT NULL,      -- COMPLETED | FAILED
  error_type          text,
  error_message       text,
  start_time          timestamptz NOT NULL,
  end_time            timestamptz NOT NULL,
  duration_ms         double precision NOT NULL,
  provider            text,
  request_model       text,
  response_model      text,
  model_name          text,
  input_tokens        bigint,
  output_tokens       bigint,
  cache_read_tokens   bigint,
  cache_write_tokens  bigint,
  reasoning_tokens    bigint,
  total_tokens        bigint,
  input_cost          numeric(20,10),
  output_cost         numeric(20,10),
  total_cost          numeric(20,10),
  cost_source         text,                      -- reported | price_table | NULL
  temperature         double precision,
  top_p               double precision,
  max_tokens          bigint,
  finish_reasons      text[],
  response_id         text,
  tool_name           text,
  tool_call_id        text,
  agent_name          text,
  session_id          text,
  user_id             text,
  prompt_hash         text,
  input               jsonb,
  output              jsonb,
  -- false when the node's usage is already carried by a descendant node (an aggregate such as
  -- ai.generateText over ai.generateText.doGenerate) or it carries no usage: run totals sum only counted nodes.
  usage_counted       boolean     NOT NULL,
  PRIMARY KEY (run_id, node_id)
);

-- One row per trace. Totals are maintained incrementally from newly inserted rows only.
CREATE TABLE runledger.runs (
  run_id              uuid        PRIMARY KEY,   -- = trace_id
  tenant_id           text        NOT NULL,
  pipeline            text,
  service_name        text,
  environment         text,
  session_id          text,
  user_id             text,
  name                text,                      -- root span name
  status              text        NOT NULL,      -- RUNNING | COMPLETED | FAILED
  start_time          timestamptz NOT NULL,
  end_time            timestamptz NOT NULL,
  duration_ms         double precision NOT NULL,
  span_count          bigint      NOT NULL,
  total_nodes         bigint      NOT NULL,
  llm_calls           bigint      NOT NULL,
  tool_calls          bigint      NOT NULL,
  error_count         bigint      NOT NULL,      -- spans with status ERROR
  input_tokens        bigint      NOT NULL,
  output_tokens       bigint      NOT NULL,
  cache_read_tokens   bigint      NOT NULL,
  cache_write_tokens  bigint      NOT NULL,
  reasoning_tokens    bigint      NOT NULL,
  total_tokens        bigint      NOT NULL,
  total_cost          numeric(20,10) NOT NULL,
  currency            text        NOT NULL DEFAULT 'USD',
  models              text[]      NOT NULL,
  error_message       text,
  root_span_id        text COLLATE "C",          -- the root span (earliest parentless span)
  root_start_time     timestamptz,
  pipeline_rank       smallint,                  -- internal: precedence of the pipeline source
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Internal: spans whose subtree carries token usage and whose parent has not arrived yet. When the
-- parent arrives it learns it has a usage-carrying descendant (and, if it carries usage itself, that it
-- is an aggregate). Rows are removed once the parent is stored.
CREATE TABLE runledger.usage_frontier (
  trace_id        uuid NOT NULL,
  span_id         text COLLATE "C" NOT NULL,
  parent_span_id  text COLLATE "C" NOT NULL,
  PRIMARY KEY (trace_id, span_id)
);

CREATE INDEX spans_start_time ON runledger.spans (start_time);
CREATE INDEX nodes_start_time ON runledger.nodes (start_time);
CREATE INDEX runs_tenant_start ON runledger.runs (tenant_id, start_time DESC);
CREATE INDEX runs_pipeline_start ON runledger.runs (pipeline, start_time DESC);
CREATE INDEX runs_status ON runledger.runs (status) WHERE status <> 'COMPLETED';
