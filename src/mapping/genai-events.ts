/**
 * GenAI events — sent as OTLP log records or as span events — as content of the node of their span.
 *
 * Event names (OTel GenAI semantic conventions; the per-message ones are deprecated but what
 * @opentelemetry/instrumentation-openai 0.21 sends on the chat path):
 * - gen_ai.client.inference.operation.details: the whole content, in attributes gen_ai.input.messages
 *   (+ gen_ai.system_instructions, prepended as a system message, as on spans) and gen_ai.output.messages;
 * - gen_ai.system.message, gen_ai.user.message, gen_ai.assistant.message, gen_ai.tool.message: one input
 *   message each, the body (or, on a span event, the attributes) with its role: {"role": ..., ...body};
 * - gen_ai.choice: one output message, the body as sent ({index, finish_reason, message});
 * - Semantic Kernel: the message as one JSON text (span event attribute gen_ai.event.content; a string body).
 * A node's input is the whole input of its latest operation.details event, else its input messages in order
 * (time, then system < user < assistant < tool, then content); likewise output (choices by index).
 */
import type { AttrValue, Attributes } from '../otlp/types.js';
import { isJson } from './json-check.js';

export const OPERATION_DETAILS = 'gen_ai.client.inference.operation.details';

/** Per-message events: side and rank (the order of messages logged at the same instant). */
const MESSAGE_EVENTS: Record<string, { role: string; rank: number } | undefined> = {
  'gen_ai.system.message': { role: 'system', rank: 0 },
  'gen_ai.user.message': { role: 'user', rank: 1 },
  'gen_ai.assistant.message': { role: 'assistant', rank: 2 },
  'gen_ai.tool.message': { role: 'tool', rank: 3 },
};
const CHOICE = 'gen_ai.choice';

/** What one event contributes to its node's content (JSON texts). */
export interface ContentFragment {
  /** JSON of the input: the whole input (whole) or one input message */
  input: string | null;
  /** JSON of the output: the whole output (whole) or one choice */
  output: string | null;
  /** the event carries the whole content of the call (operation.details), not one message */
  whole: boolean;
  /** order among messages logged at the same instant */
  rank: number;
}

/** True when events of this name carry content. */
export function isContentEvent(name: string | null): boolean {
  return name !== null && (name === OPERATION_DETAILS || name === CHOICE || MESSAGE_EVENTS[name] !== undefined);
}

/**
 * A JSON text as its value, else the text. Only a text json-check accepts (nested at most 512 deep) is parsed:
 * JSON.parse takes any depth, but the tree is written back with JSON.stringify, which overflows the stack on
 * deep nesting (100k brackets, 200 KB: the request was answered 500).
 */
const decoded = (v: AttrValue | undefined): unknown => {
  if (typeof v !== 'string' || !isJson(v)) return v;
  return JSON.parse(v);
};

/**
 * Semantic Kernel sends each message as one JSON text: .NET in this span event attribute, Python as the log
 * record's body (`json.dumps(message.to_dict())`). Read as the message, or it is stored as a string inside one.
 */
const SK_CONTENT = 'gen_ai.event.content';

/** A JSON text of a message ({role, content, ...}) or a choice ({message, ...}); null for any other value. */
function jsonMessage(v: unknown): Record<string, unknown> | null {
  if (typeof v !== 'string' || v.charCodeAt(0) !== 123 /* { */) return null;
  const d = decoded(v);
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return null;
  const m = d as Record<string, unknown>;
  // a user's text that happens to be JSON stays the text
  return 'role' in m || 'content' in m || 'message' in m ? m : null;
}

/** The event's message: its body when it has one (log records), else its attributes (span events). */
function messageOf(body: AttrValue | undefined, attributes: Attributes): Record<string, unknown> {
  const b = body ?? null;
  if (b === null) {
    const sk = jsonMessage(attributes[SK_CONTENT]);
    if (sk !== null) return sk;
    const { 'event.name': _e, 'gen_ai.system': _s, 'gen_ai.provider.name': _p, ...rest } = attributes;
    return rest;
  }
  if (typeof b === 'object' && !Array.isArray(b)) return b;
  return jsonMessage(b) ?? { content: b };
}

/**
 * The content an event contributes, or null (not a GenAI content event, or nothing in it).
 * `body`: the log record's body; undefined for a span event.
 */
export function contentFragment(name: string | null, attributes: Attributes, body?: AttrValue): ContentFragment | null {
  if (name === null) return null;
  if (name === OPERATION_DETAILS) {
    const messages = attributes['gen_ai.input.messages'];
    const system = attributes['gen_ai.system_instructions'];
    let input: unknown = messages === undefined || messages === null ? undefined : decoded(messages);
    if (system !== undefined && system !== null && system !== '') {
      const list = Array.isArray(input) ? input : input === undefined ? [] : [input];
      input = [{ role: 'system', parts: decoded(system) }, ...list];
    }
    const outRaw = attributes['gen_ai.output.messages'];
    const output = outRaw === undefined || outRaw === null ? undefined : decoded(outRaw);
    if (input === undefined && output === undefined) return null;
    return {
      input: input === undefined ? null : JSON.stringify(input), output: output === undefined ? null : JSON.stringify(output),
      whole: true, rank: 0,
    };
  }
  if (name === CHOICE) {
    const m = messageOf(body, attributes);
    const index = typeof m.index === 'number' && Number.isInteger(m.index) && m.index >= 0 && m.index < 32_767 ? m.index : 0;
    return { input: null, output: JSON.stringify(m), whole: false, rank: index };
  }
  const e = MESSAGE_EVENTS[name];
  if (e === undefined) return null;
  return { input: JSON.stringify({ role: e.role, ...messageOf(body, attributes) }), output: null, whole: false, rank: e.rank };
}

/**
 * A span's own content from its GenAI events (span events, in their order; the same rules as for log records):
 * JSON texts of input and output, or null.
 */
export function spanEventContent(events: readonly { name: string; timeUs: number; attributes: Attributes }[]): { input: string | null; output: string | null } {
  const found: (ContentFragment & { timeUs: number; i: number })[] = [];
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    if (!isContentEvent(ev.name)) continue;
    const f = contentFragment(ev.name, ev.attributes);
    if (f) found.push({ ...f, timeUs: ev.timeUs, i });
  }
  if (found.length === 0) return { input: null, output: null };
  const side = (pick: (f: ContentFragment) => string | null): string | null => {
    const whole = found.filter((f) => f.whole && pick(f) !== null);
    if (whole.length > 0) return pick(whole[whole.length - 1]!);
    const parts = found.filter((f) => !f.whole && pick(f) !== null)
      .sort((a, b) => a.timeUs - b.timeUs || a.rank - b.rank || a.i - b.i);
    return parts.length === 0 ? null : `[${parts.map(pick).join(',')}]`;
  };
  return { input: side((f) => f.input), output: side((f) => f.output) };
}
