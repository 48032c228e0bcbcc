import { Duration, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SettingError } from './errors.ts';
import { AlarmedDeadLetterQueue } from './monitoring.ts';

/**
 * How the detector drains its queue (also what `npm run bench` models).
 *
 * - maxConcurrency 2 (the least Lambda allows): Security Hub throttles per account and region, shared with every
 *   other tool (GetFindings 3/s, BatchImportFindings 10/s); two invocations of a few calls each stay under that,
 *   and a burst waits in the queue instead of failing. The bound is for the whole detector, so in organization
 *   mode one account's burst delays the others' events, it does not fail them.
 * - batchSize 1: a message that rides out throttling holds up no other message of its batch.
 * - visibilityTimeout: at least the function's timeout (Lambda refuses less); a failed message is received again
 *   this long after its previous receive.
 * - maxReceiveCount 5: a message that keeps failing is dead-lettered after about 15 minutes of retries, longer
 *   than Lambda's asynchronous retries (two, within about 3 minutes) ride out.
 */
export const DETECTOR_QUEUE = {
  maxConcurrency: 2,
  batchSize: 1,
  visibilityTimeout: Duration.minutes(3),
  maxReceiveCount: 5,
  retentionPeriod: Duration.days(4),
} as const;

/** Lambda's bounds for an SQS event source's maximum concurrency. */
export const MAX_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;

export interface DetectorQueueProps {
  /** The function the queue's messages go to. */
  readonly detector: lambda.IFunction;
  /** The detector's timeout, which the visibility timeout must not be shorter than. */
  readonly detectorTimeout: Duration;
  readonly alarmTopic: sns.ITopic;
  /** @default 2 */
  readonly maxConcurrency?: number;
}

/**
 * The queue in front of the detector: EventBridge sends each key event here, and an event source mapping with
 * bounded concurrency and partial batch responses hands them to the detector; what still fails after
 * {@link DETECTOR_QUEUE.maxReceiveCount} receives goes to an alarmed dead-letter queue.
 */
export class DetectorQueue extends Construct {
  readonly queue: sqs.Queue;
  /** Events the detector failed to handle on every receive. */
  readonly deadLetterQueue: sqs.Queue;
  readonly alarm: cloudwatch.IAlarm;

  constructor(scope: Construct, id: string, props: DetectorQueueProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? DETECTOR_QUEUE.maxConcurrency;
    validateDetectorConcurrency(maxConcurrency);
    if (DETECTOR_QUEUE.visibilityTimeout.toSeconds() < props.detectorTimeout.toSeconds()) {
      throw new Error(
        `the detector queue's visibility timeout (${DETECTOR_QUEUE.visibilityTimeout.toHumanString()}) is shorter than the detector's timeout (${props.detectorTimeout.toHumanString()})`,
      );
    }

    const dead = new AlarmedDeadLetterQueue(this, 'DeadLetterQueue', {
      purpose: `the dead-letter queue of key events the detector failed to handle on ${DETECTOR_QUEUE.maxReceiveCount} receives`,
      alarmTopic: props.alarmTopic,
    });
    this.deadLetterQueue = dead.queue;
    this.alarm = dead.alarm;
    this.queue = new sqs.Queue(this, 'Queue', {
      // SSE-SQS, not the AWS managed KMS key: EventBridge cannot send to a queue encrypted with alias/aws/sqs.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: DETECTOR_QUEUE.visibilityTimeout,
      retentionPeriod: DETECTOR_QUEUE.retentionPeriod,
      deadLetterQueue: { queue: dead.queue, maxReceiveCount: DETECTOR_QUEUE.maxReceiveCount },
    });
    props.detector.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: DETECTOR_QUEUE.batchSize,
        maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}

/** Throws a SettingError unless `value` is a maximum concurrency Lambda accepts for an SQS event source. */
export function validateDetectorConcurrency(value: number): void {
  if (Token.isUnresolved(value)) return;
  if (Number.isInteger(value) && value >= MAX_CONCURRENCY_RANGE.min && value <= MAX_CONCURRENCY_RANGE.max)
    return;
  throw new SettingError(
    `detectorConcurrency ${value} is not allowed; use a whole number from ${MAX_CONCURRENCY_RANGE.min} to ${MAX_CONCURRENCY_RANGE.max}`,
  );
}
