/**
 * The detector behind its SQS queue: the batch wrapper on its own (a fake single-event handler), then the
 * exported handler against moto with message bodies as EventBridge's SQS target writes them.
 */

import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { acceptQueueBatches, isSqsEvent, MIN_TIME_PER_MESSAGE_MS } from '../../functions/detector/queue.ts';
import { KEY_EVENT_PATTERN } from '../../functions/shared/constants.ts';
import { createQueue, deleteQueue } from '../../scripts/lib/emulator.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { ACCOUNT_ID, keyEvent, LAMBDA_CONTEXT, MotoAdmin, pointSdkAt, REGION } from './moto-helpers.ts';

const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:keywarden-detector`;

/** An SQS event as Lambda's event source mapping delivers it. */
function sqsEvent(bodies: readonly string[]) {
  return {
    Records: bodies.map((body, n) => ({
      messageId: `message-${n}`,
      receiptHandle: `receipt-${n}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1767225600000',
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: '1767225600000',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: REGION,
    })),
  };
}

const quietLogger = () => ({ warn: vi.fn() });

describe('isSqsEvent', () => {
  const record = sqsEvent(['{}']).Records[0];
  it.each([
    { name: 'an SQS batch', event: sqsEvent(['{}', '{}']), sqs: true },
    { name: 'an EventBridge event', event: keyEvent({ userName: 'alice' }), sqs: false },
    { name: 'an empty batch', event: { Records: [] }, sqs: false },
    {
      name: 'records of another source',
      event: { Records: [{ ...record, eventSource: 'aws:kinesis' }] },
      sqs: false,
    },
    {
      name: 'a record without messageId',
      event: { Records: [{ ...record, messageId: undefined }] },
      sqs: false,
    },
    { name: 'null', event: null, sqs: false },
    { name: 'a string', event: 'Records', sqs: false },
  ])('is $sqs for $name', ({ event, sqs }) => {
    expect(isSqsEvent(event)).toBe(sqs);
  });
});

describe('acceptQueueBatches', () => {
  it('hands an EventBridge event to the detector as is and returns its result', async () => {
    const detect = vi.fn(async (event: unknown) => ({ got: event }));
    const event = keyEvent({ userName: 'alice' });

    const result = await acceptQueueBatches(detect, quietLogger())(event, LAMBDA_CONTEXT);

    expect(result).toEqual({ got: event });
    expect(detect).toHaveBeenCalledTimes(1);
  });

  it('rethrows for an EventBridge event, so Lambda retries it', async () => {
    const detect = vi.fn(async () => {
      throw new Error('IAM down');
    });

    await expect(
      acceptQueueBatches(detect, quietLogger())(keyEvent({ userName: 'a' }), LAMBDA_CONTEXT),
    ).rejects.toThrow('IAM down');
  });

  it('hands every message body, parsed, to the detector with the invocation context, one after the other', async () => {
    const bodies = [keyEvent({ userName: 'a' }), keyEvent({ userName: 'b' }), keyEvent({ userName: 'c' })];
    const running: string[] = [];
    const order: string[] = [];
    const detect = vi.fn(async (event: unknown, context: typeof LAMBDA_CONTEXT) => {
      const { id } = event as { id: string };
      running.push(id);
      // Never two at once: the queue's concurrency bound is also the bound on calls in flight.
      expect(running).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running.pop();
      order.push(id);
      expect(context).toBe(LAMBDA_CONTEXT);
    });

    const result = await acceptQueueBatches(detect, quietLogger())(
      sqsEvent(bodies.map((body) => JSON.stringify(body))),
      LAMBDA_CONTEXT,
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(order).toEqual(bodies.map((body) => body.id));
  });

  it('reports only the messages that threw, and goes on with the next', async () => {
    const detect = vi.fn(async (event: unknown) => {
      if ((event as { id: string }).id === 'second') throw new Error('throttled');
      return 'ok';
    });
    const bodies = ['first', 'second', 'third'].map((id) =>
      JSON.stringify({ ...keyEvent({ userName: id }), id }),
    );

    const result = await acceptQueueBatches(detect, quietLogger())(sqsEvent(bodies), LAMBDA_CONTEXT);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-1' }] });
    expect(detect).toHaveBeenCalledTimes(3);
  });

  it('reports a body that is not JSON without calling the detector', async () => {
    const detect = vi.fn(async () => 'ok');
    const logger = quietLogger();

    const result = await acceptQueueBatches(detect, logger)(sqsEvent(['not json', '{}']), LAMBDA_CONTEXT);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-0' }] });
    expect(detect).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith('message body is not JSON', { messageId: 'message-0' });
  });

  it('leaves the messages it has no time for to the next receive', async () => {
    let remaining = MIN_TIME_PER_MESSAGE_MS + 40_000;
    const context = { ...LAMBDA_CONTEXT, getRemainingTimeInMillis: () => remaining };
    // Each message takes 30 s: the first starts with 70 s left, the second with 40 s, the third with 10 s.
    const detect = vi.fn(async () => {
      remaining -= 30_000;
    });
    const logger = quietLogger();

    const result = await acceptQueueBatches(detect, logger)(sqsEvent(['{}', '{}', '{}']), context);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-2' }] });
    expect(detect).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenCalledWith('message left for the next receive: too little time left', {
      messageId: 'message-2',
      remainingMs: 10_000,
    });
  });
});

describe('the exported handler with messages from the detector queue, against moto', () => {
  let proxy: AwsProxy;
  let moto: MotoAdmin;
  let handler: (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<unknown>;
  const queues: string[] = [];

  beforeAll(async () => {
    const endpoint = inject('motoEndpoint');
    moto = new MotoAdmin(endpoint);
    proxy = await startAwsProxy(endpoint);
    pointSdkAt(proxy.endpoint);
    handler = (await import('../../functions/detector/handler.ts')).handler;
  });

  afterAll(async () => {
    for (const url of queues) await deleteQueue(moto.endpoint, url);
    vi.unstubAllEnvs();
    await proxy.close();
  });

  beforeEach(() => {
    proxy.reset();
    proxy.clearFaults();
  });

  /** Sends the events through an EventBridge rule with the detector's pattern to a queue; returns the bodies. */
  async function throughQueue(events: readonly Record<string, unknown>[]): Promise<string[]> {
    const busName = moto.uniqueName('kw-queue-bus');
    const queue = await createQueue(moto.endpoint, moto.uniqueName('kw-queue'));
    queues.push(queue.url);
    await moto.eventBridge.send(new CreateEventBusCommand({ Name: busName }));
    await moto.eventBridge.send(
      new PutRuleCommand({
        Name: 'detector',
        EventBusName: busName,
        EventPattern: JSON.stringify(KEY_EVENT_PATTERN),
      }),
    );
    await moto.eventBridge.send(
      new PutTargetsCommand({
        Rule: 'detector',
        EventBusName: busName,
        Targets: [{ Id: 'queue', Arn: queue.arn }],
      }),
    );
    await moto.eventBridge.send(
      new PutEventsCommand({
        Entries: events.map((event) => ({
          EventBusName: busName,
          Source: event.source as string,
          DetailType: event['detail-type'] as string,
          Detail: JSON.stringify(event.detail),
        })),
      }),
    );
    return queue.drain(events.length + 1);
  }

  it('evaluates each message and reports only the one whose IAM read failed', async () => {
    const failing = moto.uniqueName('kw-queue-failing');
    const violating = moto.uniqueName('kw-queue-violating');
    await moto.userWithKeys(failing, 1);
    const [, newKey] = await moto.pair(violating);
    const bodies = await throughQueue([
      keyEvent({ userName: failing, eventId: randomUUID() }),
      keyEvent({ userName: violating, accessKeyId: newKey.id, eventId: randomUUID() }),
    ]);
    expect(bodies).toHaveLength(2);
    // IAM fails every attempt of the first message's read (messages run one at a time, in order).
    proxy.inject({ operation: 'iam.GetUser', status: 500, code: 'ServiceFailure', times: 4 });

    const result = (await handler(sqsEvent(bodies), LAMBDA_CONTEXT)) as SQSBatchResponse;

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-0' }] });
    const finding = await moto.findingOf(violating);
    expect(finding.Compliance?.Status).toBe('FAILED');
    expect(await moto.findingsOf(failing)).toEqual([]);
  });

  it('reports nothing when every message is handled', async () => {
    const userName = moto.uniqueName('kw-queue-ok');
    const [, newKey] = await moto.pair(userName);
    const bodies = await throughQueue([keyEvent({ userName, accessKeyId: newKey.id })]);

    const result = await handler(sqsEvent(bodies), LAMBDA_CONTEXT);

    expect(result).toEqual({ batchItemFailures: [] });
    expect((await moto.findingOf(userName)).Compliance?.Status).toBe('FAILED');
  });
});
