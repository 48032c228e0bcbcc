import { Annotations, Aws, CfnRule, Fn, Stack, type StackProps, Stage, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { EVENT_BUS_PATTERN, IAM_EVENT_REGION } from '../functions/shared/constants.ts';
import { AccessKeyDetector, type AccessKeyDetectorProps } from './access-key-detector.ts';
import { KeyWardenDashboard } from './dashboard.ts';
import { SettingError } from './errors.ts';
import { IamEventForwarderStack } from './iam-event-forwarder-stack.ts';

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
 * - Region unknown at synth (environment-agnostic): the template carries a CloudFormation rule that refuses any
 *   region but us-east-1, since a rule elsewhere would never fire.
 * - us-east-1: the detector alone.
 * - Another region of the `aws` partition: the detector there, plus an {@link IamEventForwarderStack} in us-east-1
 *   that forwards the events to this region's default bus (exposed as {@link forwarder}; deploy with `--all`).
 * - Another partition: where IAM events arrive there is not confirmed, so the detector is deployed as asked, with a
 *   synth warning.
 */
export class KeyWardenStack extends Stack {
  readonly detector: AccessKeyDetector;
  /** The detector's dashboard, unless {@link KeyWardenStackProps.createDashboard} is false. */
  readonly dashboard?: KeyWardenDashboard;
  /** The us-east-1 forwarder, when this stack's region is another region of the `aws` partition. */
  readonly forwarder?: IamEventForwarderStack;

  constructor(scope: Construct, id: string, props: KeyWardenStackProps = {}) {
    super(scope, id, {
      description: 'KeyWarden: one active access key per IAM user (CIS AWS Foundations Benchmark 1.13)',
      ...props,
    });
    const partition = Token.isUnresolved(this.region)
      ? undefined
      : (RegionInfo.get(this.region).partition ?? 'aws');
    const forwarded = partition === 'aws' && this.region !== IAM_EVENT_REGION;
    this.detector = new AccessKeyDetector(this, 'AccessKeyDetector', {
      ...props.detector,
      notificationEventBus: this.notificationBus(props.notificationBusName),
      eventsForwarded: forwarded,
    });
    if (props.createDashboard ?? true) {
      this.dashboard = new KeyWardenDashboard(this, 'Dashboard', { detector: this.detector });
    }

    if (Token.isUnresolved(this.region)) {
      new CfnRule(this, 'IamEventRegion', {
        assertions: [
          {
            assert: Fn.conditionEquals(Aws.REGION, IAM_EVENT_REGION),
            assertDescription: `KeyWarden must be deployed in ${IAM_EVENT_REGION}, the only region where IAM events reach EventBridge. To run it in another region, synthesize with -c homeRegion=<region> (adds a forwarder stack in ${IAM_EVENT_REGION}) and deploy with --all.`,
          },
        ],
      });
    } else if (this.region !== IAM_EVENT_REGION) {
      if (forwarded) {
        const app = Stage.of(this) ?? scope;
        this.forwarder = new IamEventForwarderStack(app, `${id}-IamEventForwarder`, {
          env: { account: props.env?.account, region: IAM_EVENT_REGION },
          targetRegion: this.region,
          alarmEmail: props.detector?.alarmEmail,
          description: `KeyWarden: forwards IAM access-key events from ${IAM_EVENT_REGION} to ${this.region}`,
        });
        this.addStackDependency(this.forwarder, 'IAM events reach this region only through the forwarder');
      } else {
        Annotations.of(this).addWarningV2(
          'keywarden:iam-event-region',
          `Partition ${partition}: the region where IAM events reach EventBridge is not confirmed; the rule is deployed in ${this.region}. Check that a CreateAccessKey there triggers the detector.`,
        );
      }
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
