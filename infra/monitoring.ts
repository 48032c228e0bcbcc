import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SettingError } from './errors.ts';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Throws when `email` is not a plausible e-mail address, naming the value. */
export function validateAlarmEmail(email: string): void {
  if (!EMAIL.test(email)) {
    throw new SettingError(`alarmEmail ${JSON.stringify(email)} is not an e-mail address`);
  }
}

/**
 * A TLS-only topic for alarm notifications.
 *
 * Not KMS-encrypted: it carries alarm state changes only, and CloudWatch cannot publish to a topic encrypted
 * with the AWS managed key (it would need a customer managed key, $1 a month, for no confidentiality gain).
 */
export function createAlarmTopic(scope: Construct, id: string): sns.Topic {
  return new sns.Topic(scope, id, { displayName: 'KeyWarden alarms', enforceSSL: true });
}

/** Subscribes `email` to `topic` (the recipient must confirm); does nothing without an address. */
export function subscribeAlarmEmail(topic: sns.ITopic, email: string | undefined): void {
  if (email === undefined) return;
  topic.addSubscription(new subscriptions.EmailSubscription(email));
}

export interface AlarmedDeadLetterQueueProps {
  /** What lands in the queue, for the alarm description. */
  readonly purpose: string;
  /** Where the alarm notifies. */
  readonly alarmTopic: sns.ITopic;
}

/** An encrypted, TLS-only SQS dead-letter queue whose first message raises an alarm. */
export class AlarmedDeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  /** In ALARM while the queue holds any message; draining the queue (redrive or purge) clears it. */
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AlarmedDeadLetterQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      // SSE-SQS, not the AWS managed KMS key: EventBridge cannot send to a queue encrypted with alias/aws/sqs.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: a dead-lettered event waits up to two weeks for someone to redrive it.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue (EventBridge target DLQ or Lambda on-failure destination); its messages are kept 14 days and alarmed on, a DLQ behind it would only move the problem.',
    });
    this.alarm = this.queue
      .metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      })
      .createAlarm(this, 'DepthAlarm', {
        alarmDescription: `KeyWarden: ${props.purpose} is not empty. Inspect the messages, fix the cause, then redrive or purge the queue.`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.alarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
  }
}
