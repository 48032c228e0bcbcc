import { Duration, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_CONCURRENCY_RANGE } from './detector-queue.ts';
import { SettingError } from './errors.ts';
import { AlarmedDeadLetterQueue } from './monitoring.ts';

/**
 * How the organization sweep fans out: the scheduled invocation queues one message per account, and this queue's
 * event source mapping invokes the sweep for each.
 *
 * - maxConcurrency 10: accounts swept at once. Each member's IAM and Security Hub limits are its own (per account
 *   and region), so members in parallel do not share them; what they share is the central account's Lambda
 *   concurrency (1,000 per region by default, less in a new account, with the detector and every other function)
 *   and its STS calls (one AssumeRole per account). 10 sweeps 1,000 accounts well inside the 6-hour schedule
 *   (docs/organization.md) while holding 1 % of the default Lambda concurrency.
 * - batchSize 1: one account per invocation, with its own 15 minutes, retries and failure record.
 * - visibilityTimeout 30 minutes: at least the sweep's timeout (Lambda refuses less), with room for an invocation
 *   that Lambda throttles and retries; a failed account is received again this long after its last receive.
 * - maxReceiveCount 3: an account that fails three times (about 1.5 hours) goes to the dead-letter queue, which
 *   alarms, before the next scheduled sweep queues it again.
 * - retentionPeriod 4 days: far longer than any backlog, so no account message expires unswept.
 */
export const SWEEP_ACCOUNT_QUEUE = {
  maxConcurrency: 10,
  batchSize: 1,
  visibilityTimeout: Duration.minutes(30),
  maxReceiveCount: 3,
  retentionPeriod: Duration.days(4),
} as const;

export interface SweepAccountQueueProps {
  /** The sweep function, which both queues the accounts and sweeps each message's account. */
  readonly sweep: lambda.IFunction;
  /** The sweep's timeout, which the visibility timeout must not be shorter than. */
  readonly sweepTimeout: Duration;
  readonly alarmTopic: sns.ITopic;
  /** @default 10 */
  readonly maxConcurrency?: number;
}

/** Throws a SettingError unless `value` is a maximum concurrency Lambda accepts for an SQS event source. */
export function validateMemberSweepConcurrency(value: number): void {
  if (Token.isUnresolved(value)) return;
  if (Number.isInteger(value) && value >= MAX_CONCURRENCY_RANGE.min && value <= MAX_CONCURRENCY_RANGE.max)
    return;
  throw new SettingError(
    `memberSweepConcurrency ${value} is not allowed; use a whole number from ${MAX_CONCURRENCY_RANGE.min} to ${MAX_CONCURRENCY_RANGE.max}`,
  );
}

/**
 * The organization sweep's queue of accounts (encrypted, TLS-only), drained by the sweep one account per
 * invocation at a bounded concurrency; an account that fails {@link SWEEP_ACCOUNT_QUEUE.maxReceiveCount} times
 * goes to an alarmed dead-letter queue. The sweep may send to it.
 */
export class SweepAccountQueue extends Construct {
  readonly queue: sqs.Queue;
  /** Accounts the sweep failed on every receive. */
  readonly deadLetterQueue: sqs.Queue;
  readonly alarm: cloudwatch.IAlarm;

  constructor(scope: Construct, id: string, props: SweepAccountQueueProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? SWEEP_ACCOUNT_QUEUE.maxConcurrency;
    validateMemberSweepConcurrency(maxConcurrency);
    if (SWEEP_ACCOUNT_QUEUE.visibilityTimeout.toSeconds() < props.sweepTimeout.toSeconds()) {
      throw new Error(
        `the sweep account queue's visibility timeout (${SWEEP_ACCOUNT_QUEUE.visibilityTimeout.toHumanString()}) is shorter than the sweep's timeout (${props.sweepTimeout.toHumanString()})`,
      );
    }
    const dead = new AlarmedDeadLetterQueue(this, 'DeadLetterQueue', {
      purpose: `the dead-letter queue of accounts the organization sweep failed on ${SWEEP_ACCOUNT_QUEUE.maxReceiveCount} receives`,
      alarmTopic: props.alarmTopic,
    });
    this.deadLetterQueue = dead.queue;
    this.alarm = dead.alarm;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: SWEEP_ACCOUNT_QUEUE.visibilityTimeout,
      retentionPeriod: SWEEP_ACCOUNT_QUEUE.retentionPeriod,
      deadLetterQueue: { queue: dead.queue, maxReceiveCount: SWEEP_ACCOUNT_QUEUE.maxReceiveCount },
    });
    // No partial batch responses: one message per batch, and a failed account fails the invocation (the sweep's
    // error alarm sees it at once; the dead-letter queue's alarm once it is given up).
    props.sweep.addEventSource(
      new SqsEventSource(this.queue, { batchSize: SWEEP_ACCOUNT_QUEUE.batchSize, maxConcurrency }),
    );
    this.queue.grantSendMessages(props.sweep);
  }
}
