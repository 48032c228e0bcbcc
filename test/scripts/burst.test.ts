/** The burst benchmark's delivery models, driven by a scripted handler on fake timers. */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BurstEvent,
  type InvokeResult,
  type QueueModel,
  runAsync,
  runQueue,
} from '../../scripts/lib/burst.ts';

const QUEUE: QueueModel = {
  kind: 'queue',
  maxConcurrency: 2,
  batchSize: 1,
  visibilityTimeoutMs: 180_000,
  maxReceiveCount: 3,
  queueArn: 'arn:aws:sqs:us-east-1:123456789012:keywarden-detector',
  region: 'us-east-1',
};

const events = (count: number): BurstEvent[] =>
  Array.from({ length: count }, (_, n) => ({ event: { id: `event-${n}` }, violation: n % 2 === 1 }));

/** A handler taking `ms` per invocation whose `fails(id, attempt)` decides each outcome. */
function scripted(ms: number, fails: (id: string, attempt: number) => boolean) {
  const attempts = new Map<string, number>();
  let inFlight = 0;
  let mostInFlight = 0;
  const started: { id: string; at: number }[] = [];
  const invoke = async (_env: number, event: unknown): Promise<InvokeResult> => {
    const startedAt = Date.now();
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, ms));
    inFlight -= 1;
    const records = (event as { Records?: { messageId: string; body: string }[] }).Records;
    const items = records?.map((record) => ({
      id: (JSON.parse(record.body) as { id: string }).id,
      record,
    })) ?? [{ id: (event as { id: string }).id, record: undefined }];
    const failed: string[] = [];
    for (const { id, record } of items) {
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      started.push({ id, at: startedAt });
      if (fails(id, attempt)) failed.push(record?.messageId ?? id);
    }
    const endedAt = Date.now();
    if (records === undefined && failed.length > 0) return { ok: false, error: 'boom', startedAt, endedAt };
    return {
      ok: true,
      value:
        records === undefined
          ? 'done'
          : { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) },
      startedAt,
      endedAt,
    };
  };
  return { invoke, started, mostInFlight: () => mostInFlight };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('runQueue', () => {
  it('never runs more invocations at once than the maximum concurrency, and settles every message', async () => {
    const handler = scripted(100, () => false);

    const done = runQueue(events(10), handler.invoke, QUEUE);
    // An idle poller looks again within a second.
    await vi.advanceTimersByTimeAsync(2_000);
    const outcomes = await done;

    expect(handler.mostInFlight()).toBe(2);
    expect(outcomes.every((outcome) => outcome.doneAt !== undefined && outcome.failures.length === 0)).toBe(
      true,
    );
    // Ten messages, two at a time, 100 ms each.
    expect(Math.max(...outcomes.map((outcome) => outcome.doneAt ?? 0))).toBe(500);
  });

  it('receives a reported failure again after the visibility timeout, and only that message', async () => {
    const handler = scripted(100, (id, attempt) => id === 'event-0' && attempt === 1);

    const done = runQueue(events(2), handler.invoke, QUEUE);
    await vi.advanceTimersByTimeAsync(QUEUE.visibilityTimeoutMs + 1_000);
    const [first, second] = await done;

    expect(first).toEqual({ failures: ['reported in batchItemFailures'], doneAt: 180_100, violation: false });
    expect(second?.failures).toEqual([]);
    expect(handler.started.filter((start) => start.id === 'event-0').map((start) => start.at)).toEqual([
      0, 180_000,
    ]);
  });

  it('dead-letters a message after the maximum receive count', async () => {
    const handler = scripted(100, (id) => id === 'event-1');

    const done = runQueue(events(2), handler.invoke, QUEUE);
    await vi.advanceTimersByTimeAsync(3 * QUEUE.visibilityTimeoutMs);
    const [, lost] = await done;

    expect(lost?.doneAt).toBeUndefined();
    expect(lost?.failures).toHaveLength(QUEUE.maxReceiveCount);
    expect(handler.started.filter((start) => start.id === 'event-1')).toHaveLength(QUEUE.maxReceiveCount);
  });
});

describe('runAsync', () => {
  it('invokes every event at once and retries a failure twice, a delay after each failure, then loses it', async () => {
    const handler = scripted(100, (id, attempt) => id === 'event-2' || (id === 'event-1' && attempt === 1));

    const done = runAsync(events(3), handler.invoke, { kind: 'async', retries: 2, retryDelayMs: 60_000 });
    await vi.advanceTimersByTimeAsync(200_000);
    const [ok, retried, lost] = await done;

    expect(handler.mostInFlight()).toBe(3);
    expect(ok).toEqual({ failures: [], doneAt: 100, violation: false });
    expect(retried).toEqual({ failures: ['boom'], doneAt: 60_200, violation: true });
    expect(lost?.doneAt).toBeUndefined();
    expect(handler.started.filter((start) => start.id === 'event-2').map((start) => start.at)).toEqual([
      0, 60_100, 120_200,
    ]);
  });
});
