import { ArnFormat, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { keyEventPattern } from './event-pattern.ts';
import { forwardingRuleIdentity } from './forwarding-role.ts';
import {
  AlarmedDeadLetterQueue,
  createAlarmTopic,
  subscribeAlarmEmail,
  validateAlarmEmail,
} from './monitoring.ts';

/** Properties of an {@link IamEventForwarderStack}. */
export interface IamEventForwarderStackProps extends StackProps {
  /** Region whose default event bus receives the forwarded events (where the detector runs). */
  readonly targetRegion: string;
  /**
   * E-mail address subscribed to this stack's alarm topic (alarms can only notify a topic in their own region).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

/**
 * Deployed where its partition's IAM CloudTrail events reach EventBridge (us-east-1 in `aws`): forwards the
 * access-key events to the default bus of the detector's home region. Events that cannot be forwarded land in an
 * encrypted dead-letter queue that raises an alarm.
 */
export class IamEventForwarderStack extends Stack {
  /** Matches the same events as the detector's rule and forwards them. */
  readonly rule: events.Rule;
  /** Assumed by EventBridge, for the rule only, to put the events on the home region's default bus. */
  readonly forwardingRole: iam.Role;
  /** Events EventBridge could not forward. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Topic the alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /** The dead-letter queue's depth alarm. */
  readonly alarms: readonly cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: IamEventForwarderStackProps) {
    super(scope, id, props);
    if (props.alarmEmail !== undefined) validateAlarmEmail(props.alarmEmail);

    this.alarmTopic = createAlarmTopic(this, 'AlarmTopic');
    subscribeAlarmEmail(this.alarmTopic, props.alarmEmail);
    const dlq = new AlarmedDeadLetterQueue(this, 'ForwardDeadLetterQueue', {
      purpose: `the queue of IAM events that could not be forwarded to ${props.targetRegion}`,
      alarmTopic: this.alarmTopic,
    });
    this.deadLetterQueue = dlq.queue;
    this.alarms = [dlq.alarm];

    const homeBus = events.EventBus.fromEventBusArn(
      this,
      'HomeDefaultBus',
      this.formatArn({
        service: 'events',
        region: props.targetRegion,
        resource: 'event-bus',
        resourceName: 'default',
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );
    // Cross-region targets need a role; only EventBridge acting for this rule of this account may assume it.
    const forwarding = forwardingRuleIdentity(this, 'ForwardKeyEvents');
    this.forwardingRole = new iam.Role(this, 'ForwardRole', {
      assumedBy: forwarding.principal,
      description: `KeyWarden: lets EventBridge put IAM access-key events on the default bus in ${props.targetRegion}`,
    });
    this.rule = new events.Rule(this, 'ForwardKeyEvents', {
      ruleName: forwarding.ruleName,
      description: `KeyWarden: forwards successful IAM access-key calls to the default bus in ${props.targetRegion}`,
      eventPattern: keyEventPattern(),
    });
    // Event-bus targets take no retry policy; EventBridge retries them for 24 hours, then the dead-letter queue.
    this.rule.addTarget(
      new targets.EventBus(homeBus, { deadLetterQueue: dlq.queue, role: this.forwardingRole }),
    );
  }
}
