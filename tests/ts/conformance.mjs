// An independent client for the simulator: the official TypeScript SDK, unmodified.
// Usage: node conformance.mjs URL. Prints one JSON line per check: {"check": name, "ok": bool, "detail": …}.
// tests/test_conformance_ts.py starts the simulator, runs this and asserts on every line.
import Anthropic from '@anthropic-ai/sdk';

const baseURL = process.argv[2];
const current = new Anthropic({ baseURL, apiKey: 'sk-conformance', maxRetries: 0 });
// What SDKs before TypeScript 1.0 / Python 2.0 send: the older API version.
const older = new Anthropic({
  baseURL, apiKey: 'sk-conformance', maxRetries: 0, defaultHeaders: { 'anthropic-version': '2023-06-01' },
});

const MODEL = 'claude-sonnet-5-5';
const PROMPT = [{ role: 'user', content: 'How do I reverse a list in Python?' }];
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const DOCUMENT = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Some notes.' } };
const CITED = {
  type: 'text', text: 'Paris is in France.',
  citations: [{ type: 'char_location', cited_text: 'Paris', document_index: 0, document_title: null, start_char_index: 0, end_char_index: 5 }],
};

function expect(condition, detail) {
  if (!condition) throw new Error(typeof detail === 'string' ? detail : JSON.stringify(detail));
}

function request(overrides = {}) {
  return { model: MODEL, max_tokens: 1024, messages: PROMPT, ...overrides };
}

// What the SDK throws for a request that must fail.
async function failure(client, body) {
  try {
    await client.messages.create(body);
  } catch (error) {
    return error;
  }
  throw new Error(`accepted: ${JSON.stringify(body).slice(0, 200)}`);
}

// The request must fail as the API fails it: a 400 invalid_request_error whose message contains `part`.
async function refused(client, body, part) {
  const error = await failure(client, body);
  expect(error instanceof Anthropic.BadRequestError, `not a BadRequestError: ${error}`);
  expect(error.status === 400 && error.error?.error?.type === 'invalid_request_error', error.error);
  expect(error.error.error.message.includes(part), `message ${JSON.stringify(error.error.error.message)} lacks ${part}`);
  expect(error.requestID?.startsWith('req_'), `no request id: ${error.requestID}`);
  return error.error.error.message;
}

const checks = {
  async models() {
    const ids = [];
    for await (const model of current.models.list()) ids.push(model.id);
    expect(ids.includes(MODEL) && ids.includes('claude-opus-5-5'), ids);
    const opus = await current.models.retrieve('claude-opus-5-5');
    expect(opus.display_name === 'Claude Opus 5.5' && opus.type === 'model', opus);
    try {
      await current.models.retrieve('claude-nonexistent');
      throw new Error('an unknown model was found');
    } catch (error) {
      expect(error instanceof Anthropic.NotFoundError && error.status === 404, `${error}`);
    }
    return ids.length;
  },

  async create() {
    const { data: message, response } = await current.messages.create(request()).withResponse();
    expect(message.type === 'message' && message.role === 'assistant' && message.model === MODEL, message);
    expect(message.content[0].type === 'text' && message.content[0].text.startsWith('## '), message.content);
    expect(message.stop_reason === 'end_turn' && message.usage.input_tokens > 0 && message.usage.output_tokens > 0, message);
    expect(response.headers.get('request-id')?.startsWith('req_sim_'), 'no request-id header');
    return message.usage;
  },

  async streaming() {
    const stream = current.messages.stream(request());
    let text = '';
    stream.on('text', (delta) => { text += delta; });
    const message = await stream.finalMessage();
    expect(text.length > 0 && text === message.content[0].text, { text, message: message.content });
    expect(message.stop_reason === 'end_turn', message.stop_reason);
    return text.split(/\s+/).length;
  },

  async raw_events() {
    const stream = await current.messages.create(request({ stream: true }));
    const types = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0] === 'message_start' && types.at(-1) === 'message_stop', types);
    expect(types.includes('content_block_start') && types.includes('content_block_delta'), types);
    expect(types.at(-2) === 'message_delta' && types.at(-3) === 'content_block_stop', types);
    return types.length;
  },

  async tools() {
    const first = await current.messages.create(request({ model: 'claude-sonnet-5', tools: [WEATHER] }));
    expect(first.stop_reason === 'tool_use', first.stop_reason);
    expect(first.content.map((block) => block.type).join() === 'text,tool_use', first.content);
    const call = first.content[1];
    expect(call.name === 'get_weather' && typeof call.input.city === 'string' && call.id, call);
    const second = await current.messages.create(request({
      model: 'claude-sonnet-5', tools: [WEATHER],
      messages: [...PROMPT, { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 21 C' }] }],
    }));
    expect(second.stop_reason === 'end_turn' && second.content[0].text.includes('Sunny, 21 C'), second.content);
    return call.input;
  },

  async tools_on_5_5_text_between_calls_is_thinking() {
    const quiet = await current.messages.create(request({ tools: [WEATHER] }));
    expect(quiet.content.map((block) => block.type).join() === 'thinking,tool_use', quiet.content);
    expect(quiet.content[0].thinking === '' && quiet.content[0].signature, quiet.content[0]);
    const shown = await current.messages.create(request({
      tools: [WEATHER], thinking: { type: 'adaptive', display: 'summarized' },
    }));
    const texts = shown.content.filter((block) => block.type === 'thinking').map((block) => block.thinking);
    expect(texts.includes("I'll use the `get_weather` tool for this."), texts);
    return texts.length;
  },

  async thinking() {
    const stream = current.messages.stream(request({ thinking: { type: 'adaptive', display: 'summarized' } }));
    let thought = '';
    stream.on('thinking', (delta) => { thought += delta; });
    const message = await stream.finalMessage();
    const [block] = message.content;
    expect(block.type === 'thinking' && block.thinking === thought && thought.length > 0 && block.signature, block);
    expect(message.content.at(-1).type === 'text', message.content);
    const omitted = await current.messages.create(request({ thinking: { type: 'adaptive' } }));
    expect(omitted.content[0].thinking === '' && omitted.content[0].signature === block.signature, omitted.content[0]);
    const budget = await current.messages.create(request({
      model: 'claude-sonnet-4-6', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 },
    }));
    expect(budget.content[0].type === 'thinking' && budget.content[0].thinking.length > 0, budget.content[0]);
    return thought.split(/\s+/).length;
  },

  async count_tokens() {
    const plain = await current.messages.countTokens({ model: MODEL, messages: PROMPT });
    const more = await current.messages.countTokens({ model: MODEL, messages: PROMPT, system: 'Be brief.', tools: [WEATHER] });
    expect(plain.input_tokens > 0 && more.input_tokens > plain.input_tokens, { plain, more });
    return plain.input_tokens;
  },

  async errors() {
    const missing = await failure(current, request({ model: 'claude-nonexistent' }));
    expect(missing instanceof Anthropic.NotFoundError && missing.error.error.type === 'not_found_error', `${missing}`);
    await refused(current, { model: MODEL, messages: PROMPT }, 'max_tokens: Field required');
    await refused(current, request({ messages: [] }), 'at least one message');
    // No key at all: a 401 in the API's error shape (the SDK would refuse to send it, so plain fetch).
    const response = await fetch(`${baseURL}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2026-10-21' },
      body: JSON.stringify(request()),
    });
    const body = await response.json();
    expect(response.status === 401 && body.type === 'error' && body.error.type === 'authentication_error', body);
    return 'ok';
  },

  async bearer_key_and_version() {
    // The SDK sends the key as Authorization: Bearer only, and the current API version: both accepted.
    let seen;
    const spy = new Anthropic({
      baseURL, apiKey: 'sk-conformance', maxRetries: 0,
      fetch: async (url, init) => { seen = new Headers(init.headers); return fetch(url, init); },
    });
    await spy.messages.create(request({ max_tokens: 20 }));
    expect(seen.get('authorization') === 'Bearer sk-conformance' && !seen.get('x-api-key'), [...seen.keys()]);
    expect(seen.get('anthropic-version') === '2026-10-21', seen.get('anthropic-version'));
    return seen.get('anthropic-version');
  },

  async rule_sampling_parameters_removed() {
    for (const [name, value] of [['temperature', 1.0], ['top_p', 0.9], ['top_k', 5]]) {
      await refused(current, request({ [name]: value }), `${name}: Extra inputs are not permitted`);
    }
    return 'refused';
  },

  async rule_unknown_parameter() {
    await refused(current, request({ frobnicate: true }), 'frobnicate: Extra inputs are not permitted');
    await refused(older, request({ frobnicate: true }), 'frobnicate: Extra inputs are not permitted');
    return 'refused';
  },

  async rule_manual_thinking_budget_on_adaptive_only_models() {
    for (const model of ['claude-sonnet-5-5', 'claude-opus-5-5']) {
      await refused(current, request({ model, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 } }),
        '"thinking.type.enabled" is not supported for this model');
    }
    return 'refused';
  },

  async rule_forced_tool_use_on_5_5() {
    for (const tool_choice of [{ type: 'any' }, { type: 'tool', name: 'get_weather' }]) {
      await refused(current, request({ tools: [WEATHER], tool_choice }), 'forced tool use');
      await refused(current, request({ model: 'claude-opus-5-5', tools: [WEATHER], tool_choice }), 'forced tool use');
    }
    const earlier = await current.messages.create(request({ model: 'claude-sonnet-5', tools: [WEATHER], tool_choice: { type: 'any' } }));
    expect(earlier.stop_reason === 'tool_use', earlier.stop_reason);
    return 'refused';
  },

  async rule_max_tokens_above_the_limit() {
    // Streamed: the SDK itself refuses a non-streaming request this long.
    const message = await refused(current, request({ max_tokens: 500000, stream: true }), 'max_tokens: 500000 > 128000');
    expect(message.includes('maximum allowed number of output tokens for claude-sonnet-5-5'), message);
    return message;
  },

  async rule_document_in_assistant_turn() {
    const messages = [...PROMPT, { role: 'assistant', content: [DOCUMENT, { type: 'text', text: 'Noted.' }] },
      { role: 'user', content: 'And?' }];
    await refused(current, request({ messages }), 'messages.1.content.0: document blocks are not allowed in assistant messages');
    const accepted = await older.messages.create(request({ messages }));
    expect(accepted.content.length > 0, accepted);
    return 'refused in 2026-10-21, accepted in 2023-06-01';
  },

  async rule_citations_on_user_text() {
    const messages = [{ role: 'user', content: [CITED] }];
    await refused(current, request({ messages }), 'citations are not allowed on text blocks in user messages');
    const accepted = await older.messages.create(request({ messages }));
    expect(accepted.content.length > 0, accepted);
    return 'refused in 2026-10-21, accepted in 2023-06-01';
  },

  async rule_thinking_blocks_tied_to_their_model() {
    const opus = await current.messages.create(request({ model: 'claude-opus-5-5', thinking: { type: 'adaptive' } }));
    const messages = [...PROMPT, { role: 'assistant', content: opus.content }, { role: 'user', content: 'And tomorrow?' }];
    const again = await current.messages.create(request({ model: 'claude-opus-5-5', messages }));
    expect(again.content.length > 0, again);
    await refused(current, request({ messages }), 'Invalid `signature` in `thinking` block');
    return 'refused on another 5.5 model';
  },

  async older_version_rules() {
    const fine = await older.messages.create(request({ temperature: 1.0 }));
    expect(fine.content.length > 0, fine);
    await refused(older, request({ temperature: 0.2 }), 'temperature: only the default value is supported');
    const loose = await older.messages.create(request({ model: 'claude-sonnet-4-6', temperature: 0.2, top_k: 5 }));
    expect(loose.content.length > 0, loose);
    return 'sampling by model';
  },
};

for (const [name, check] of Object.entries(checks)) {
  try {
    console.log(JSON.stringify({ check: name, ok: true, detail: await check() }));
  } catch (error) {
    console.log(JSON.stringify({ check: name, ok: false, detail: `${error?.stack ?? error}` }));
  }
}
