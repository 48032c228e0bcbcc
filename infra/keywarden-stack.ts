import { Annotations, CfnOutput, Fn, Stack, type StackProps, Stage, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { EVENT_BUS_PATTERN } from '../functions/shared/constants.ts';
import { AccessKeyDetector, type AccessKeyDetectorProps } from './access-key-detector.ts';
import { KeyWardenDashboard } from './dashboard.ts';
import { SettingError } from './errors.ts';
import { IamEventForwarderStack } from './iam-event-forwarder-stack.ts';
import { addIamEventRegionRule, iamEventPlacement } from './partition.ts';

/** Properties of a {@link KeyWardenStack}. */
export interface KeyWardenStackProps extends StackProps {
  /**
   * The detector's settings.
   * @default - the {@link AccessKeyDetector} defaults
   */
  readonly detector?: Omit<AccessKeyDetectorProps, 'notificationEventBus' | 'eventsForwarded'>;
  /**
   * Name or ARN of the event bus that receives KeyWarden's notification events.
   * @default - no notification events
   */
  readonly notificationBusName?: string;
  /**
   * Add a CloudWatch dashboard of the detector ({@link KeyWardenDashboard}).
   * @default true
   */
  readonly createDashboard?: boolean;
}

/**
 * The KeyWarden deployment: one {@link AccessKeyDetector}, placed where IAM events arrive.
 *
 * The partition is taken from the region. IAM's events arrive in one region per partition: us-east-1 (`aws`),
 * us-gov-west-1 (`aws-us-gov`) and cn-north-1 (`aws-cn`); the last two rest on field reports.
 *
 * - Region unknown at synth (environment-agnostic): the template carries a CloudFormation rule that refuses any
 *   region but those three (each the IAM event region of its own partition), since a rule elsewhere would never
 *   fire.
 * - The partition's IAM event region: the detector alone.
 * - Another region of a known partition: the detector there, plus an {@link IamEventForwarderStack} in the
 *   partition's IAM event region that forwards the events to this region's default bus (exposed as
 *   {@link forwarder}; deploy with `--all`).
 * - A partition whose IAM event region is unknown (e.g. `aws-iso`): the detector is deployed as asked, with a synth
 *   warning.
 */
export class KeyWardenStack extends Stack {
  readonly detector: AccessKeyDetector;
  /** The detector's dashboard, unless {@link KeyWardenStackProps.createDashboard} is false. */
  readonly dashboard?: KeyWardenDashboard;
  /** The forwarder from the partition's IAM event region, when this stack's region is another region. */
  readonly forwarder?: IamEventForwarderStack;

  constructor(scope: Construct, id: string, props: KeyWardenStackProps = {}) {
    super(scope, id, {
      description: 'KeyWarden: one active access key per IAM user (CIS AWS Foundations Benchmark 1.13)',
      ...props,
    });
    const placement = iamEventPlacement(this);
    const iamRegion = placement.kind === 'known' ? placement.iamRegion : undefined;
    const forwarded = iamRegion !== undefined && this.region !== iamRegion;
    this.detector = new AccessKeyDetector(this, 'AccessKeyDetector', {
      ...props.detector,
      notificationEventBus: this.notificationBus(props.notificationBusName),
      eventsForwarded: forwarded,
    });
    // keywarden restore re-activates a key only when CloudTrail shows one of these roles switched it off. In
    // organization mode restore proves the member role instead, and the central stack outputs both roles already.
    if (props.detector?.organization === undefined) {
      new CfnOutput(this, 'KeyWardenRoleArns', {
        value: Fn.join(',', [this.detector.detectorFunction, this.detector.sweepFunction].map(roleArnOf)),
        description: 'KEYWARDEN_ROLE_ARNS for keywarden restore: the roles whose deactivations it may undo',
      });
    }
    // keywarden coverage --canary-table reads the last canary sent and received in each account from this table.
    if (this.detector.canaryTable !== undefined) {
      new CfnOutput(this, 'CanaryTableName', {
        value: this.detector.canaryTable.tableName,
        description: 'The canary table: --canary-table for keywarden coverage',
      });
    }
    if (props.createDashboard ?? true) {
      this.dashboard = new KeyWardenDashboard(this, 'Dashboard', { detector: this.detector });
    }

    if (placement.kind === 'unknown') {
      addIamEventRegionRule(
        this,
        'IamEventRegion',
        'KeyWarden must be deployed where IAM events reach EventBridge: us-east-1 (aws), us-gov-west-1 (aws-us-gov) or cn-north-1 (aws-cn). To run it in another region, synthesize with -c homeRegion=<region> (adds a forwarder stack in the IAM event region) and deploy with --all.',
      );
    } else if (placement.kind === 'unknown-partition') {
      Annotations.of(this).addWarningV2(
        'keywarden:iam-event-region',
        `Partition ${placement.partition}: the region where IAM events reach EventBridge is not known; the rule is deployed in ${this.region}. Check that a CreateAccessKey there triggers the detector.`,
      );
    } else if (forwarded && iamRegion !== undefined) {
      const app = Stage.of(this) ?? scope;
      this.forwarder = new IamEventForwarderStack(app, `${id}-IamEventForwarder`, {
        env: { account: props.env?.account, region: iamRegion },
        targetRegion: this.region,
        alarmEmail: props.detector?.alarmEmail,
        description: `KeyWarden: forwards IAM access-key events from ${iamRegion} to ${this.region}`,
      });
      this.addStackDependency(this.forwarder, 'IAM events reach this region only through the forwarder');
    }
  }

  private notificationBus(nameOrArn: string | undefined): events.IEventBus | undefined {
    if (nameOrArn === undefined) return undefined;
    // The functions refuse at every cold start an EVENT_BUS_NAME that is not a bus name or ARN.
    if (!Token.isUnresolved(nameOrArn) && !EVENT_BUS_PATTERN.test(nameOrArn)) {
      throw new SettingError(
        `notificationBusName ${JSON.stringify(nameOrArn)} is not allowed; use an event bus name (1-256 letters, digits and ._-/) or an event bus ARN`,
      );
    }
    return nameOrArn.startsWith('arn:')
      ? events.EventBus.fromEventBusArn(this, 'NotificationBus', nameOrArn)
      : events.EventBus.fromEventBusName(this, 'NotificationBus', nameOrArn);
  }
}

function roleArnOf(fn: lambda.IFunction): string {
  if (fn.role === undefined) throw new Error(`${fn.node.path} has no execution role`);
  return fn.role.roleArn;
}
