// Runs the official OpenAI Node SDK against the HTTP bridge and checks that it behaves as the
// SDK expects. Started by OpenAiSdkTest, which serves a fake upstream with these conventions:
// token "good" passes, "bad" is refused (UNAUTHENTICATED), model "rate-limited" is refused with
// RESOURCE_EXHAUSTED and retry-after-ms 50, any other model answers "Hello, world!" in 4 chunks.
//
//   BRIDGE_BASE_URL=http://127.0.0.1:8080/v1 node sdk-test.mjs
//
// Prints one line per check and "N passed, M failed"; exits non-zero when a check failed.
import OpenAI, { AuthenticationError, BadRequestError, RateLimitError } from 'openai';

const baseURL = process.env.BRIDGE_BASE_URL;
const goodToken = process.env.BRIDGE_GOOD_TOKEN ?? 'good';
const badToken = process.env.BRIDGE_BAD_TOKEN ?? 'bad';
const model = process.env.BRIDGE_MODEL ?? 'fixed';
const rateLimitedModel = process.env.BRIDGE_RATE_LIMITED_MODEL ?? 'rate-limited';
const expectedText = process.env.BRIDGE_EXPECTED_TEXT ?? 'Hello, world!';
const expectedChunks = Number(process.env.BRIDGE_EXPECTED_CHUNKS ?? '4');

if (!baseURL) {
  console.error('BRIDGE_BASE_URL is not set (e.g. http://127.0.0.1:8080/v1)');
  process.exit(2);
}

const messages = [{ role: 'user', content: 'Hello' }];
const client = new OpenAI({ baseURL, apiKey: goodToken, maxRetries: 0, timeout: 20_000 });

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL - ${name}: ${e?.stack ?? e}`);
  }
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: ${JSON.stringify(actual)} (expected: ${JSON.stringify(expected)})`);
  }
}

/** Runs `call`, which must fail with an instance of `errorClass`; returns the error. */
async function expectError(errorClass, call) {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof errorClass)) {
      throw new Error(`raised ${e?.constructor?.name}: ${e?.message} (expected: ${errorClass.name})`);
    }
    return e;
  }
  throw new Error(`no error raised (expected: ${errorClass.name})`);
}

await check('chat completion', async () => {
  const c = await client.chat.completions.create(
    { model, messages, max_tokens: 16 },
    { headers: { 'x-request-id': 'sdk-check-1' } },
  );
  assertEqual(c.object, 'chat.completion', 'object');
  assertEqual(c.id.startsWith('chatcmpl-'), true, `id ${c.id} starts with chatcmpl-`);
  assertEqual(c.model, model, 'model');
  assertEqual(c.choices.length, 1, 'choices.length');
  assertEqual(c.choices[0].message.role, 'assistant', 'message.role');
  assertEqual(c.choices[0].message.content, expectedText, 'message.content');
  assertEqual(c.choices[0].finish_reason, 'stop', 'finish_reason');
  assertEqual(c.usage.completion_tokens, expectedChunks, 'usage.completion_tokens');
  assertEqual(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens, 'usage.total_tokens');
  assertEqual(c._request_id, 'sdk-check-1', '_request_id (from x-request-id)');
});

await check('streaming with usage', async () => {
  const stream = await client.chat.completions.create({
    model, messages, stream: true, stream_options: { include_usage: true },
  });
  let role;
  let text = '';
  let finishReason;
  let usage;
  let usageChunks = 0;
  for await (const chunk of stream) {
    assertEqual(chunk.object, 'chat.completion.chunk', 'chunk.object');
    if (chunk.usage) {
      usage = chunk.usage;
      usageChunks++;
      assertEqual(chunk.choices.length, 0, 'choices of the usage chunk');
    }
    for (const choice of chunk.choices) {
      role ??= choice.delta.role;
      text += choice.delta.content ?? '';
      finishReason ??= choice.finish_reason ?? undefined;
    }
  }
  assertEqual(role, 'assistant', 'first delta role');
  assertEqual(text, expectedText, 'streamed content');
  assertEqual(finishReason, 'stop', 'finish_reason');
  assertEqual(usageChunks, 1, 'usage chunks');
  assertEqual(usage.completion_tokens, expectedChunks, 'usage.completion_tokens');
});

await check('stream helper assembles the completion', async () => {
  // The SDK's own accumulator validates every chunk's shape while assembling.
  const final = await client.chat.completions.stream({ model, messages }).finalChatCompletion();
  assertEqual(final.choices[0].message.content, expectedText, 'final content');
  assertEqual(final.choices[0].finish_reason, 'stop', 'final finish_reason');
});

await check('stop sequence', async () => {
  const c = await client.chat.completions.create({ model, messages, stop: [','] });
  assertEqual(c.choices[0].message.content, expectedText.split(',')[0], 'content cut at the stop sequence');
  assertEqual(c.choices[0].finish_reason, 'stop', 'finish_reason');
});

await check('stop sequence while streaming', async () => {
  const stream = await client.chat.completions.create({ model, messages, stop: ' world', stream: true });
  let text = '';
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assertEqual(text, expectedText.split(' world')[0], 'streamed content cut at the stop sequence');
});

await check('legacy completion', async () => {
  const c = await client.completions.create({ model, prompt: 'Say hello', max_tokens: 16 });
  assertEqual(c.object, 'text_completion', 'object');
  assertEqual(c.choices[0].text, expectedText, 'text');
});

await check('models list', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    ids.push(m.id);
  }
  assertEqual(ids.length > 0, true, `model ids ${JSON.stringify(ids)} non-empty`);
});

await check('401 raises AuthenticationError', async () => {
  const unauthorized = new OpenAI({ baseURL, apiKey: badToken, maxRetries: 0 });
  const e = await expectError(AuthenticationError, () =>
    unauthorized.chat.completions.create({ model, messages }));
  assertEqual(e.status, 401, 'status');
  assertEqual(e.type, 'authentication_error', 'error.type');
  assertEqual(e.headers.get('www-authenticate'), 'Bearer', 'WWW-Authenticate');
});

await check('429 raises RateLimitError with Retry-After', async () => {
  const e = await expectError(RateLimitError, () =>
    client.chat.completions.create({ model: rateLimitedModel, messages }));
  assertEqual(e.status, 429, 'status');
  assertEqual(e.code, 'rate_limit_exceeded', 'error.code');
  assertEqual(e.headers.get('retry-after'), '1', 'Retry-After');
  assertEqual(e.headers.get('retry-after-ms'), '50', 'retry-after-ms');
});

await check('429 is retried after Retry-After, then raised', async () => {
  const retrying = new OpenAI({ baseURL, apiKey: goodToken, maxRetries: 2 });
  await expectError(RateLimitError, () =>
    retrying.chat.completions.create({ model: rateLimitedModel, messages }));
});

await check('400 raises BadRequestError naming the parameter', async () => {
  const e = await expectError(BadRequestError, () =>
    client.chat.completions.create({ model, messages, n: 2 }));
  assertEqual(e.status, 400, 'status');
  assertEqual(e.param, 'n', 'error.param');
  assertEqual(e.message.includes('n: 2 (expected: 1)'), true, `message ${JSON.stringify(e.message)} names n`);
});

await check('400 for tools', async () => {
  const e = await expectError(BadRequestError, () => client.chat.completions.create({
    model,
    messages,
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
  }));
  assertEqual(e.param, 'tools', 'error.param');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
