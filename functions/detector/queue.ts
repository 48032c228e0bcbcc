/**
 * The detector behind an SQS queue: EventBridge sends each key event to the queue, and Lambda's event source
 * mapping invokes the detector with batches of messages, at most `maxConcurrency` invocations at once, so a
 * burst waits in the queue instead of hitting Security Hub's per-account rate limits all at once. Each message
 * body is the EventBridge event, handled exactly as a direct invocation would; a message that fails is reported
 * in `batchItemFailures`, so only it is received again (and dead-lettered after the queue's receive limit).
 */

import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Logger } from '../shared/logger.ts';

/** A message is not started with less time left than this: its SDK calls and throttling retries need room. */
export const MIN_TIME_PER_MESSAGE_MS = 30_000;

interface QueueContext {
  readonly getRemainingTimeInMillis?: () => number;
}

/** Whether `event` is a batch from an SQS event source mapping (and not an EventBridge event). */
export function isSqsEvent(event: unknown): event is SQSEvent {
  if (typeof event !== 'object' || event === null) return false;
  const records = (event as { Records?: unknown }).Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every(
      (record: unknown) =>
        typeof record === 'object' &&
        record !== null &&
        (record as Partial<SQSRecord>).eventSource === 'aws:sqs' &&
        typeof (record as Partial<SQSRecord>).messageId === 'string',
    )
  );
}

/**
 * Wraps a single-event handler so that it also accepts SQS batches: an EventBridge event goes to `detect` as
 * is; a batch's messages go to it one at a time (so the concurrency bound is also the bound on calls in flight),
 * and the messages that threw, or that were not started for lack of time, come back as batch item failures.
 */
export function acceptQueueBatches<C, R>(
  detect: (event: unknown, context: C) => Promise<R>,
  logger: Pick<Logger, 'warn'>,
): (event: unknown, context: C) => Promise<R | SQSBatchResponse> {
  return async (event, context) => {
    if (!isSqsEvent(event)) return detect(event, context);
    const batchItemFailures: SQSBatchItemFailure[] = [];
    for (const record of event.Records) {
      const remaining = (context as QueueContext | undefined)?.getRemainingTimeInMillis?.();
      if (remaining !== undefined && remaining < MIN_TIME_PER_MESSAGE_MS) {
        logger.warn('message left for the next receive: too little time left', {
          messageId: record.messageId,
          remainingMs: remaining,
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      let body: unknown;
      try {
        body = JSON.parse(record.body);
      } catch {
        // Not an event: it fails every receive and reaches the queue's dead-letter queue, which alarms.
        logger.warn('message body is not JSON', { messageId: record.messageId });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        await detect(body, context);
      } catch {
        // `detect` has logged the error; the message is received again after its visibility timeout.
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}
