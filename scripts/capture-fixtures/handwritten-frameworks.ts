/**
 * Hand-written fixtures of framework spans that mapped wrongly before issue 10, with the attribute keys and
 * values their instrumentation sources set (read in firebase/genkit js/core + js/plugins/google-genai,
 * pydantic/pydantic-ai _instrumentation.py + usage.py, google/adk-python telemetry.py, strands-agents,
 * Arize-ai/openinference langchain + openai-agents, traceloop/openllmetry-js).
 */
import { buildSpans, writeFixture } from './handwritten-lib.js';

const SRC = 'hand-written (scripts/capture-fixtures/handwritten-frameworks.ts)';

export function genkit(): void {
  const res = { 'service.name': 'genkit-app' };
  const path = '/{jokeFlow,t:flow}';
  const modelIn = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Tell me a joke about cats' }] }],
    config: { temperature: 0.7 }, tools: [], output: {} });
  const modelOut = JSON.stringify({ message: { role: 'model', content: [{ text: 'Why did the cat sit on the computer?' }] },
    finishReason: 'stop', usage: { inputTokens: 1200, outputTokens: 80, totalTokens: 1320, thoughtsTokens: 40,
      cachedContentTokens: 1024, inputCharacters: 25, outputCharacters: 36 }, latencyMs: 812.5 });
  writeFixture('genkit', `${SRC}: Genkit actions (genkit:type / genkit:metadata:subtype / genkit:name / genkit:output usage)`,
    buildSpans(8, res, [
      { key: 'flow', name: 'jokeFlow', attrs: {
        'genkit:type': 'action', 'genkit:metadata:subtype': 'flow', 'genkit:name': 'jokeFlow', 'genkit:isRoot': true,
        'genkit:path': path, 'genkit:input': '"cats"', 'genkit:output': '"Why did the cat sit on the computer?"',
        'genkit:state': 'success', 'genkit:sessionId': 'genkit-session-1' } },
      { key: 'gen', parent: 'flow', name: 'generate', attrs: {
        'genkit:type': 'util', 'genkit:name': 'generate', 'genkit:path': `${path}/{generate,t:util}`,
        'genkit:input': modelIn, 'genkit:output': modelOut, 'genkit:state': 'success' } },
      { parent: 'gen', name: 'googleai/gemini-2.5-flash', attrs: {
        'genkit:type': 'action', 'genkit:metadata:subtype': 'model', 'genkit:name': 'googleai/gemini-2.5-flash',
        'genkit:path': `${path}/{generate,t:util}/{googleai/gemini-2.5-flash,t:action,s:model}`,
        'genkit:input': modelIn, 'genkit:output': modelOut, 'genkit:state': 'success' } },
      { parent: 'gen', name: 'getWeather', attrs: {
        'genkit:type': 'action', 'genkit:metadata:subtype': 'tool', 'genkit:name': 'getWeather',
        'genkit:path': `${path}/{generate,t:util}/{getWeather,t:action,s:tool}`, 'genkit:input': '{"city":"Paris"}',
        'genkit:output': '{"tempC":21}', 'genkit:state': 'success' } },
      { parent: 'flow', name: 'vertexai/gemini-2.5-pro', attrs: {
        'genkit:type': 'action', 'genkit:metadata:subtype': 'model', 'genkit:name': 'vertexai/gemini-2.5-pro',
        'genkit:output': JSON.stringify({ finishReason: 'length', usage: { inputTokens: 500, outputTokens: 100, totalTokens: 600 } }) } },
      { parent: 'flow', name: 'googleai/text-embedding-004', attrs: {
        'genkit:type': 'action', 'genkit:metadata:subtype': 'embedder', 'genkit:name': 'googleai/text-embedding-004',
        'genkit:input': '{"input":[{"content":[{"text":"cats"}]}]}' } },
      { parent: 'flow', name: 'prompt', attrs: { 'genkit:type': 'action', 'genkit:metadata:subtype': 'prompt', 'genkit:name': 'jokePrompt' } },
    ]));
}

export function providers(): void {
  const res = { 'service.name': 'providers-svc' };
  const chat = (usage = 10) => ({ 'gen_ai.usage.input_tokens': usage, 'gen_ai.usage.output_tokens': 5 });
  writeFixture('providers', `${SRC}: provider ids and framework names in provider keys`, buildSpans(9, res, [
    // Google ADK: the framework in gen_ai.system, no provider key (call_llm has no operation name)
    { name: 'call_llm', attrs: { 'gen_ai.system': 'gcp.vertex.agent', 'gen_ai.request.model': 'gemini-2.0-flash',
      'gcp.vertex.agent.invocation_id': 'e-1', 'gcp.vertex.agent.session_id': 'adk-session', ...chat() } },
    // a framework in gen_ai.system next to OpenInference's llm.provider: the provider wins
    { name: 'invoke_agent TravelAgent', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.system': 'strands-agents',
      'gen_ai.agent.name': 'TravelAgent', 'llm.provider': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-20250514' } },
    { name: 'chat gpt-4o', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'microsoft.agent_framework',
      'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', ...chat() } },
    // Pydantic AI provider names
    { name: 'chat gemini-2.5-flash', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'google-gla',
      'gen_ai.system': 'google-gla', 'gen_ai.request.model': 'gemini-2.5-flash', ...chat() } },
    { name: 'chat gemini-2.5-pro', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'google-vertex',
      'gen_ai.system': 'google-vertex', 'gen_ai.request.model': 'gemini-2.5-pro', ...chat() } },
    // LangChain.js + OpenInference: the provider only in the metadata JSON (ls_provider)
    { name: 'ChatOpenAI', attrs: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o-mini',
      'llm.token_count.prompt': 10, 'llm.token_count.completion': 5,
      metadata: '{"ls_provider":"openai","ls_model_name":"gpt-4o-mini","ls_model_type":"chat","ls_temperature":0.2}' } },
    { name: 'ChatVertexAI', attrs: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gemini-2.5-flash',
      metadata: { ls_provider: 'google_vertexai', ls_model_type: 'chat' } } },
    // OpenLLMetry LangChain: "langchain" in gen_ai.provider.name of workflow / task spans
    { name: 'RunnableSequence.workflow', attrs: { 'traceloop.span.kind': 'workflow', 'gen_ai.provider.name': 'langchain',
      'traceloop.entity.name': 'RunnableSequence', 'traceloop.workflow.name': 'RunnableSequence' } },
    // OTel well-known values kept; Vercel ids mapped; an unknown dotted value kept whole
    { name: 'chat vertex', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'gcp.vertex_ai', 'gen_ai.request.model': 'gemini-2.5-pro' } },
    { name: 'chat gen_ai', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'gcp.gen_ai', 'gen_ai.request.model': 'gemini-2.5-pro' } },
    { name: 'ai.generateText.doGenerate', attrs: { 'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.provider': 'google.vertex.chat', 'ai.model.id': 'gemini-2.5-flash', 'gen_ai.system': 'google.vertex.chat' } },
    { name: 'chat custom', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'acme.inference.gateway', 'gen_ai.request.model': 'm1' } },
  ]));
}

export function agentAndToolNames(): void {
  const res = { 'service.name': 'agents-svc' };
  writeFixture('agent-tool-names', `${SRC}: tool and agent names only in span names, agent-SDK keys or LangGraph metadata`,
    buildSpans(10, res, [
      { key: 'agent', name: 'invoke_agent Planner', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai' } },
      { parent: 'agent', name: 'execute_tool get_weather', attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.call.id': 'call_9' } },
      { parent: 'agent', name: 'create_agent Helper', attrs: { 'gen_ai.operation.name': 'create_agent' } },
      // OpenAI Agents JS through OpenInference: the agent span is named after the agent, graph.node.id holds it
      { key: 'triage', trace: 2, name: 'Triage Agent', attrs: { 'openinference.span.kind': 'AGENT', 'graph.node.id': 'Triage Agent' } },
      { parent: 'triage', trace: 2, name: 'get_weather', attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'get_weather',
        'input.value': '{"city":"Paris"}', 'input.mime_type': 'application/json', 'output.value': 'sunny' } },
      { parent: 'triage', trace: 2, name: 'Research Agent', attrs: { 'openinference.span.kind': 'AGENT' } },
      // LangGraph through OpenInference: the agent name only in metadata.lc_agent_name (inherited by the model call)
      { key: 'graph', trace: 3, name: 'LangGraph', attrs: { 'openinference.span.kind': 'CHAIN',
        metadata: '{"langgraph_node":"agent","lc_agent_name":"Writer","thread_id":"t-1"}' } },
      { parent: 'graph', trace: 3, name: 'ChatAnthropic', attrs: { 'openinference.span.kind': 'LLM',
        'llm.model_name': 'claude-3-5-haiku-20241022', 'llm.token_count.prompt': 20, 'llm.token_count.completion': 4,
        metadata: '{"langgraph_node":"agent","langgraph_step":1,"lc_agent_name":"Writer","ls_provider":"anthropic"}' } },
      // Pydantic AI instrumentation version 2: "agent run" with agent_name, "running tool" with tool_arguments / tool_response
      { key: 'run', trace: 4, name: 'agent run', attrs: { 'gen_ai.operation.name': 'invoke_agent', agent_name: 'support_agent',
        model_name: 'gpt-4o', 'logfire.msg': 'support_agent run' } },
      { parent: 'run', trace: 4, name: 'running tool', attrs: { 'gen_ai.tool.name': 'lookup_order', 'gen_ai.tool.call.id': 'call_3',
        tool_arguments: '{"order_id":42}', tool_response: '{"status":"shipped"}', 'logfire.msg': 'running tool: lookup_order' } },
    ]));
}

export function toolContent(): void {
  const res = { 'service.name': 'tools-svc' };
  writeFixture('tool-content', `${SRC}: tool call arguments / results (structured and JSON strings, agent-SDK keys)`,
    buildSpans(11, res, [
      { name: 'execute_tool search_flights', attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search_flights',
        'gen_ai.tool.call.arguments': { to: 'LIS', passengers: 2 }, 'gen_ai.tool.call.result': { flights: [{ id: 'TP1' }] } } },
      { name: 'execute_tool add', attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'add',
        'gen_ai.tool.call.arguments': '{"a":1,"b":2}', 'gen_ai.tool.call.result': '3' } },
      // Google ADK: tool content in gcp.vertex.agent.* (and empty llm_request / llm_response on tool spans)
      { name: 'execute_tool get_time', attrs: { 'gen_ai.system': 'gcp.vertex.agent', 'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_time', 'gen_ai.tool.call.id': 'adk-1', 'gcp.vertex.agent.tool_call_args': '{"tz":"UTC"}',
        'gcp.vertex.agent.tool_response': '{"result":"12:00"}', 'gcp.vertex.agent.llm_request': '{}', 'gcp.vertex.agent.llm_response': '{}' } },
    ]));
}
