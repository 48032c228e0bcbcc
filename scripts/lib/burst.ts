/**
 * The burst benchmark's models of how AWS delivers a burst of events to the detector, driven against handler
 * environments (scripts/lib/burst-worker.mjs):
 *
 * - `async`: EventBridge invokes the function asynchronously, every event at once in its own environment; a
 *   failed invocation is retried twice, `retryDelayMs` after the failure, then goes to the failure queue (lost).
 * - `queue`: EventBridge sends every event to an SQS queue; the event source mapping runs at most
 *   `maxConcurrency` invocations of up to `batchSize` messages; a message reported failed (partial batch
 *   response) or in a failed invocation is received again when its visibility timeout ends, and goes to the
 *   queue's dead-letter queue after `maxReceiveCount` receives (lost).
 */

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./burst-worker.mjs', import.meta.url));

export type InvokeResult =
  | { readonly ok: true; readonly value: unknown; readonly startedAt: number; readonly endedAt: number }
  | {
      readonly ok: false;
      readonly error: string;
      readonly timedOut?: boolean;
      readonly startedAt: number;
      readonly endedAt: number;
    };

/** Invokes the handler of environment `env` (one invocation per environment at a time). */
export type Invoke = (env: number, event: unknown) => Promise<InvokeResult>;

export interface BurstEvent {
  readonly event: unknown;
  /** The event's user violates the control: its finding must be written. */
  readonly violation: boolean;
}

/** What happened to one event of the burst. */
export interface EventOutcome {
  /** Attempts that failed, in order (a failed batch counts for each of its messages). */
  readonly failures: readonly string[];
  /** When the attempt that succeeded ended (ms since the epoch); undefined: lost. */
  readonly doneAt: number | undefined;
  readonly violation: boolean;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface AsyncModel {
  readonly kind: 'async';
  readonly retries: number;
  readonly retryDelayMs: number;
}

/** Lambda asynchronous invocation: each event its own environment, retried `retries` times. */
export async function runAsync(
  events: readonly BurstEvent[],
  invoke: Invoke,
  model: AsyncModel,
): Promise<EventOutcome[]> {
  return Promise.all(
    events.map(async ({ event, violation }, index) => {
      const failures: string[] = [];
      for (let attempt = 0; attempt <= model.retries; attempt++) {
        if (attempt > 0) await wait(model.retryDelayMs);
        const result = await invoke(index, event);
        if (result.ok) return { failures, doneAt: result.endedAt, violation };
        failures.push(result.error);
      }
      return { failures, doneAt: undefined, violation };
    }),
  );
}

export interface QueueModel {
  readonly kind: 'queue';
  readonly maxConcurrency: number;
  readonly batchSize: number;
  readonly visibilityTimeoutMs: number;
  readonly maxReceiveCount: number;
  readonly queueArn: string;
  readonly region: string;
}

interface Message {
  readonly index: number;
  readonly messageId: string;
  receiveCount: number;
  visibleAt: number;
  settled: boolean;
}

/** The SQS event the event source mapping invokes the function with. */
export function sqsEvent(
  messages: readonly { messageId: string; body: string; receiveCount: number }[],
  model: Pick<QueueModel, 'queueArn' | 'region'>,
  now: number,
) {
  return {
    Records: messages.map((message) => ({
      messageId: message.messageId,
      receiptHandle: `${message.messageId}-${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(now),
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: String(now),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: model.queueArn,
      awsRegion: model.region,
    })),
  };
}

/** An SQS queue drained by an event source mapping with maximum concurrency. */
export async function runQueue(
  events: readonly BurstEvent[],
  invoke: Invoke,
  model: QueueModel,
): Promise<EventOutcome[]> {
  const start = Date.now();
  const messages: Message[] = events.map((_, index) => ({
    index,
    messageId: `00000000-0000-4000-9000-${String(index).padStart(12, '0')}`,
    receiveCount: 0,
    visibleAt: start,
    settled: false,
  }));
  const outcomes = events.map((burstEvent) => ({
    failures: [] as string[],
    doneAt: undefined as number | undefined,
    violation: burstEvent.violation,
  }));
  const bodies = events.map((burstEvent) => JSON.stringify(burstEvent.event));
  const open = () => messages.some((message) => !message.settled);

  async function poller(env: number): Promise<void> {
    while (open()) {
      const now = Date.now();
      const batch = messages
        .filter((message) => !message.settled && message.visibleAt <= now)
        .slice(0, model.batchSize);
      if (batch.length === 0) {
        const next = Math.min(
          ...messages.filter((message) => !message.settled).map((message) => message.visibleAt),
        );
        await wait(Math.min(Math.max(next - now, 10), 1_000));
        continue;
      }
      for (const message of batch) {
        message.receiveCount += 1;
        message.visibleAt = now + model.visibilityTimeoutMs;
      }
      const event = sqsEvent(
        batch.map((message) => ({
          messageId: message.messageId,
          body: bodies[message.index] as string,
          receiveCount: message.receiveCount,
        })),
        model,
        now,
      );
      const result = await invoke(env, event);
      const failed = new Set<string>();
      if (!result.ok) for (const message of batch) failed.add(message.messageId);
      else {
        const reported = (result.value as { batchItemFailures?: { itemIdentifier?: string }[] } | null)
          ?.batchItemFailures;
        for (const item of reported ?? []) if (item.itemIdentifier) failed.add(item.itemIdentifier);
      }
      for (const message of batch) {
        const outcome = outcomes[message.index] as (typeof outcomes)[number];
        if (!failed.has(message.messageId)) {
          message.settled = true;
          outcome.doneAt = result.endedAt;
          continue;
        }
        outcome.failures.push(result.ok ? 'reported in batchItemFailures' : result.error);
        // SQS moves the message to the dead-letter queue instead of delivering it again.
        if (message.receiveCount >= model.maxReceiveCount) message.settled = true;
      }
    }
  }

  await Promise.all(Array.from({ length: model.maxConcurrency }, (_, env) => poller(env)));
  return outcomes;
}

export interface BurstEnvironments {
  readonly invoke: Invoke;
  /** Initialises environments 0 to `count` - 1 (Lambda does it in parallel, each on its own CPU). */
  prepare(count: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a process of handler environments for `bundle`, with `env` added to this process's environment. */
export async function startEnvironments(
  bundle: string,
  env: Readonly<Record<string, string>>,
  options: { readonly timeoutMs: number; readonly context: object },
): Promise<BurstEnvironments> {
  const child: ChildProcess = fork(WORKER, [bundle], {
    execArgv: [],
    env: { ...process.env, NODE_OPTIONS: '--enable-source-maps', ...env },
    // The handlers' JSON logs are written, as on Lambda, and thrown away.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const pending = new Map<number, (result: InvokeResult) => void>();
  let nextId = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`burst worker exited with ${code}: ${stderr}`)));
  });
  let prepared: (() => void) | undefined;
  child.on('message', (message: { type: string; id: number } & InvokeResult) => {
    if (message.type === 'prepared') prepared?.();
    if (message.type !== 'result') return;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  child.on('exit', (code) => {
    for (const resolve of pending.values()) {
      resolve({
        ok: false,
        error: `worker exited with ${code}: ${stderr}`,
        startedAt: 0,
        endedAt: Date.now(),
      });
    }
    pending.clear();
  });
  return {
    prepare: (count) =>
      new Promise<void>((resolve) => {
        prepared = resolve;
        child.send({ type: 'prepare', envs: count });
      }),
    invoke: (envIndex, event) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        child.send({
          type: 'invoke',
          id,
          env: envIndex,
          event,
          timeoutMs: options.timeoutMs,
          context: options.context,
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        if (child.connected) child.send({ type: 'exit' });
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
