/**
 * Many Lambda-like environments in one process, for the burst benchmark: environment N is its own instance of
 * the built handler bundle (imported under its own URL, so its module state and SDK clients are its own), handles
 * one invocation at a time, and is replaced by a fresh instance after a timeout, as Lambda replaces a timed-out
 * environment. Plain JavaScript so that the process holds the bundle and nothing else.
 *
 * Lambda initialises each environment on a CPU of its own, and not within the function's timeout; here every
 * environment shares this process's one thread, so `prepare` initialises them before the burst, and the timeout
 * of an invocation starts once its environment is initialised.
 *
 * Messages in:  { type: 'prepare', envs }  |  { type: 'invoke', id, env, event, timeoutMs, context }  |  { type: 'exit' }
 * Messages out: { type: 'ready' }  |  { type: 'prepared' }
 *               |  { type: 'result', id, ok, value?, error?, timedOut?, startedAt, endedAt }
 */

import { pathToFileURL } from 'node:url';

const bundle = process.argv[2];
if (bundle === undefined || process.send === undefined) {
  console.error('usage: fork burst-worker.mjs <bundle.mjs> with an IPC channel');
  process.exit(2);
}
const bundleUrl = pathToFileURL(bundle).href;

/** env → { generation, handler promise } */
const environments = new Map();

function handlerOf(env) {
  let entry = environments.get(env);
  if (entry === undefined) {
    entry = { generation: 0, handler: undefined };
    environments.set(env, entry);
  }
  entry.handler ??= import(`${bundleUrl}?env=${env}.${entry.generation}`).then((module) => module.handler);
  return entry;
}

async function invoke({ id, env, event, timeoutMs, context }) {
  const entry = handlerOf(env);
  const handler = await entry.handler;
  const startedAt = Date.now();
  const deadline = startedAt + timeoutMs;
  const lambdaContext = { ...context, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
  });
  try {
    const outcome = await Promise.race([handler(event, lambdaContext).then((value) => ({ value })), timeout]);
    if (outcome.timedOut) {
      // Lambda stops a timed-out environment; the next invocation gets a fresh one (a new cold start).
      entry.generation += 1;
      entry.handler = undefined;
      return {
        type: 'result',
        id,
        ok: false,
        timedOut: true,
        error: 'Task timed out',
        startedAt,
        endedAt: Date.now(),
      };
    }
    return { type: 'result', id, ok: true, value: outcome.value, startedAt, endedAt: Date.now() };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { type: 'result', id, ok: false, error: message, startedAt, endedAt: Date.now() };
  } finally {
    clearTimeout(timer);
  }
}

process.on('message', async (message) => {
  // SDK keep-alive sockets would hold the process open.
  if (message.type === 'exit') process.exit(0);
  if (message.type === 'prepare') {
    for (let env = 0; env < message.envs; env++) await handlerOf(env).handler;
    process.send({ type: 'prepared' });
  }
  if (message.type === 'invoke') void invoke(message).then((result) => process.send(result));
});
process.send({ type: 'ready' });
