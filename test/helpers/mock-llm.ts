/**
 * A local mock LLM server on 127.0.0.1 for the client end-to-end tests: enough of the OpenAI Chat Completions
 * (incl. streaming, tool calls, cached/reasoning usage), Responses and Embeddings APIs and of the Anthropic
 * Messages API (incl. cache_creation/cache_read usage, tool_use, streaming) for the real SDKs. Answers are
 * deterministic: usage depends only on the kind of answer (MOCK_USAGE), so tests know every figure.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Usage per answer kind. A tool call is answered when tools are offered and no tool result is in the request. */
export const MOCK_USAGE = {
  /** OpenAI chat completion that calls a tool / that answers in text (streamed answers too) */
  chatTool: { input: 200, cached: 128, output: 20, reasoning: 8 },
  chatText: { input: 300, cached: 256, output: 50, reasoning: 16 },
  /** OpenAI Responses API answer */
  responses: { input: 150, cached: 64, output: 40, reasoning: 24 },
  /** OpenAI embeddings: tokens per input string */
  embedPerInput: 8,
  /** Anthropic message: input_tokens excludes the cache, as Anthropic reports it */
  anthropicTool: { input: 70, cacheWrite: 44, cacheRead: 300, output: 30 },
  anthropicText: { input: 70, cacheWrite: 44, cacheRead: 300, output: 25 },
} as const;

export const MOCK_TEXT = 'It is 21 degrees and sunny in Paris.';
export const MOCK_TOOL_ARGS = { city: 'Paris' } as const;

/** Dated response model for a request model, as the real APIs answer. */
export function mockResponseModel(model: string): string {
  const dated: Record<string, string> = {
    'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
    'o4-mini': 'o4-mini-2025-04-16',
  };
  return dated[model] ?? model;
}

export interface MockRequest { method: string; path: string; headers: http.IncomingHttpHeaders; body: Record<string, unknown> }

export interface MockLLMServer {
  /** http://127.0.0.1:PORT — Anthropic's base URL; OpenAI's is `${origin}/v1` */
  origin: string;
  openaiBaseURL: string;
  requests: MockRequest[];
  close(): Promise<void>;
}

type Body = Record<string, unknown>;
const CREATED = 1_700_000_000;

function toolOffered(body: Body, resultRole: (m: Body) => boolean): string | null {
  const tools = body.tools as Body[] | undefined;
  const messages = ((body.messages ?? body.input) as Body[] | string | undefined) ?? [];
  if (!tools?.length || (Array.isArray(messages) && messages.some(resultRole))) return null;
  const t = tools[0]!;
  return String((t.function as Body | undefined)?.name ?? t.name ?? 'tool');
}

// ---- OpenAI -------------------------------------------------------------------------------------------------

const chatUsage = (u: { input: number; cached: number; output: number; reasoning: number }) => ({
  prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output,
  prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
});

const isToolResult = (m: Body) => m.role === 'tool' || m.type === 'function_call_output';

function chatCompletion(body: Body, seq: number): Body {
  const tool = toolOffered(body, isToolResult);
  const base = { id: `chatcmpl-mock-${seq}`, created: CREATED, model: mockResponseModel(String(body.model)), system_fingerprint: 'fp_mock' };
  const u = tool ? MOCK_USAGE.chatTool : MOCK_USAGE.chatText;
  const toolCall = { id: `call_mock_${seq}`, type: 'function', function: { name: tool, arguments: JSON.stringify(MOCK_TOOL_ARGS) } };
  if (body.stream !== true) {
    const message = tool ? { role: 'assistant', content: null, refusal: null, tool_calls: [toolCall] } : { role: 'assistant', content: MOCK_TEXT, refusal: null };
    return { json: { ...base, object: 'chat.completion', service_tier: 'default', usage: chatUsage(u),
      choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? 'tool_calls' : 'stop' }] } };
  }
  const chunk = (delta: Body, finish: string | null) =>
    ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const chunks: Body[] = [chunk({ role: 'assistant', content: tool ? null : '' }, null)];
  if (tool) {
    chunks.push(chunk({ tool_calls: [{ index: 0, ...toolCall, function: { name: tool, arguments: '' } }] }, null));
    chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments } }] }, null));
  } else {
    for (const w of MOCK_TEXT.split(/(?<= )/)) chunks.push(chunk({ content: w }, null));
  }
  chunks.push(chunk({}, tool ? 'tool_calls' : 'stop'));
  if ((body.stream_options as Body | undefined)?.include_usage) chunks.push({ ...base, object: 'chat.completion.chunk', choices: [], usage: chatUsage(u) });
  return { sse: chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n' };
}

function response(body: Body, seq: number): Body {
  const tool = toolOffered(body, isToolResult);
  const u = MOCK_USAGE.responses;
  const item = tool
    ? { type: 'function_call', id: `fc_mock_${seq}`, call_id: `call_mock_${seq}`, name: tool, arguments: JSON.stringify(MOCK_TOOL_ARGS), status: 'completed' }
    : { type: 'message', id: `msg_mock_${seq}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: MOCK_TEXT, annotations: [], logprobs: [] }] };
  const reasoning = { type: 'reasoning', id: `rs_mock_${seq}`, summary: [] };
  const resp = {
    id: `resp_mock_${seq}`, object: 'response', created_at: CREATED, status: 'completed', error: null, incomplete_details: null,
    instructions: body.instructions ?? null, model: mockResponseModel(String(body.model)), output: [reasoning, item],
    parallel_tool_calls: true, temperature: body.temperature ?? 1, top_p: body.top_p ?? 1, tool_choice: 'auto', tools: body.tools ?? [],
    usage: { input_tokens: u.input, input_tokens_details: { cached_tokens: u.cached }, output_tokens: u.output,
      output_tokens_details: { reasoning_tokens: u.reasoning }, total_tokens: u.input + u.output },
  };
  if (body.stream !== true) return { json: resp };
  let n = 0;
  const ev = (type: string, data: Body) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...data })}\n\n`;
  const pending = { ...resp, status: 'in_progress', output: [], usage: null };
  let sse = ev('response.created', { response: pending }) + ev('response.in_progress', { response: pending });
  resp.output.forEach((it, i) => {
    sse += ev('response.output_item.added', { output_index: i, item: { ...it, status: 'in_progress', ...('content' in it ? { content: [] } : {}) } });
    if ('content' in it) {
      const part = it.content[0]!;
      sse += ev('response.content_part.added', { item_id: it.id, output_index: i, content_index: 0, part: { ...part, text: '' } });
      sse += ev('response.output_text.delta', { item_id: it.id, output_index: i, content_index: 0, delta: part.text, logprobs: [] });
      sse += ev('response.output_text.done', { item_id: it.id, output_index: i, content_index: 0, text: part.text, logprobs: [] });
      sse += ev('response.content_part.done', { item_id: it.id, output_index: i, content_index: 0, part });
    }
    sse += ev('response.output_item.done', { output_index: i, item: it });
  });
  return { sse: sse + ev('response.completed', { response: resp }) };
}

function embeddings(body: Body): Body {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const vector = [0.1, 0.2, 0.3, 0.4];
  const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
  const tokens = MOCK_USAGE.embedPerInput * inputs.length;
  return { json: { object: 'list', model: String(body.model), data: inputs.map((_, index) => ({ object: 'embedding', index, embedding })),
    usage: { prompt_tokens: tokens, total_tokens: tokens } } };
}

// ---- Anthropic ----------------------------------------------------------------------------------------------

function anthropicMessage(body: Body, seq: number): Body {
  const tool = toolOffered(body, (m) => Array.isArray(m.content) && (m.content as Body[]).some((c) => c.type === 'tool_result'));
  const u = tool ? MOCK_USAGE.anthropicTool : MOCK_USAGE.anthropicText;
  const usage = { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite, cache_read_input_tokens: u.cacheRead, output_tokens: u.output, service_tier: 'standard' };
  const content: Body[] = tool
    ? [{ type: 'text', text: 'Let me check the weather.' }, { type: 'tool_use', id: `toolu_mock_${seq}`, name: tool, input: MOCK_TOOL_ARGS }]
    : [{ type: 'text', text: MOCK_TEXT }];
  const msg = { id: `msg_mock_${seq}`, type: 'message', role: 'assistant', model: mockResponseModel(String(body.model)), content,
    stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null, usage };
  if (body.stream !== true) return { json: msg };
  const ev = (type: string, data: Body) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  let sse = ev('message_start', { message: { ...msg, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }) + ev('ping', {});
  content.forEach((c, index) => {
    if (c.type === 'text') {
      sse += ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      sse += ev('content_block_delta', { index, delta: { type: 'text_delta', text: c.text } });
    } else {
      sse += ev('content_block_start', { index, content_block: { ...c, input: {} } });
      sse += ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(c.input) } });
    }
    sse += ev('content_block_stop', { index });
  });
  sse += ev('message_delta', { delta: { stop_reason: msg.stop_reason, stop_sequence: null }, usage: { output_tokens: u.output } });
  return { sse: sse + ev('message_stop', {}) };
}

// ---- server -------------------------------------------------------------------------------------------------

const ROUTES: Record<string, (body: Body, seq: number) => Body> = {
  '/v1/chat/completions': chatCompletion,
  '/v1/responses': response,
  '/v1/embeddings': embeddings,
  '/v1/messages': anthropicMessage,
};

export async function startMockLLM(): Promise<MockLLMServer> {
  const requests: MockRequest[] = [];
  let seq = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      let body: Body;
      try {
        body = parts.length ? (JSON.parse(Buffer.concat(parts).toString('utf8')) as Body) : {};
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
        return;
      }
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const route = req.method === 'POST' ? ROUTES[path] : undefined;
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ type: 'error', error: { message: `no mock for ${req.method} ${path}`, type: 'not_found_error' } }));
        return;
      }
      const out = route(body, ++seq);
      const headers = { 'request-id': `req_mock_${seq}`, 'x-request-id': `req_mock_${seq}` };
      if (typeof out.sse === 'string') res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).end(out.sse);
      else res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(out.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    openaiBaseURL: `${origin}/v1`,
    requests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    }),
  };
}
