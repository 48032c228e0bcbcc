import { Annotations, CfnParameter, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_MEMBER_ROLE_NAME,
  DEFAULTS,
  FORWARDING_RULE_NAME,
  REMEDIATION_MODES,
  type RemediationMode,
} from '../functions/shared/constants.ts';
import { SettingError } from './errors.ts';
import { keyEventPattern } from './event-pattern.ts';
import { forwardingRuleIdentity } from './forwarding-role.ts';
import {
  AlarmedDeadLetterQueue,
  createAlarmTopic,
  subscribeAlarmEmail,
  validateAlarmEmail,
} from './monitoring.ts';
import { validatePrincipalArn, validateRoleName } from './organization-settings.ts';
import { addIamEventRegionRule, iamEventPlacement } from './partition.ts';
import { acknowledgeWildcards, canaryTagStatement, canaryUser, policyStatements } from './permissions.ts';

/**
 * An opt-in role for `keywarden restore --account ID --role-name <roleName>`: re-activating a key and tagging the
 * user exempt are writes the central functions never make, so they are not on the member role.
 */
export interface MemberRestoreAccess {
  /** Exact ARNs of the IAM roles or users (the operators) that may assume the restore role. */
  readonly principalArns: readonly string[];
  /**
   * Name of the restore role.
   * @default - the member role's name followed by `Restore`
   */
  readonly roleName?: string;
  /**
   * The exemption tag key the detector is deployed with: the only tag the role may set.
   * @default 'keywarden:exempt'
   */
  readonly exemptTag?: string;
}

/** Properties of a {@link KeyWardenMember}. */
export interface KeyWardenMemberProps {
  /** ARN of the central account's organization event bus, which receives this account's key events. */
  readonly centralEventBusArn: string;
  /** The central account (where the detector and the sweep run). */
  readonly centralAccountId: string;
  /** ARN of the central detector's execution role. */
  readonly detectorRoleArn: string;
  /** ARN of the central sweep's execution role. */
  readonly sweepRoleArn: string;
  /** Region of the central detector: this account's findings are imported into its Security Hub there. */
  readonly homeRegion: string;
  /**
   * Name of the role the central functions assume here.
   * @default 'KeyWardenMember'
   */
  readonly memberRoleName?: string;
  /**
   * The central detector's remediation mode: only `deactivate` grants `iam:UpdateAccessKey`.
   * @default 'off'
   */
  readonly remediationMode?: RemediationMode;
  /**
   * Topic the dead-letter queue's alarm notifies.
   * @default - a new TLS-only topic
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail address subscribed to the alarm topic (each member account's subscription must be confirmed).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * A role for `keywarden restore --account`.
   * @default - none: restore in a member with credentials of that account, without `--account`
   */
  readonly restore?: MemberRestoreAccess;
  /**
   * The canary user (no credentials, no policies, no console) that the central sweep tags through the member role,
   * to prove that this account's events reach the detector. Follows the central detector's `canary`.
   * @default true
   */
  readonly canary?: boolean;
}

/**
 * What KeyWarden needs in a member account of an organization, with no Lambda function and no asset (so it can be
 * a StackSet template): the detector's event rule on the default bus, forwarding to the central bus through a role
 * that may only `events:PutEvents` there, with an alarmed dead-letter queue; and the member role, which only the
 * central detector's and sweep's roles may assume, granted what those functions do in this account.
 *
 * Deploy it where IAM's events arrive (us-east-1 in `aws`); it does not check that.
 */
export class KeyWardenMember extends Construct {
  /** Matches the detector's events on this account's default bus and forwards them to the central bus. */
  readonly rule: events.Rule;
  /** Assumed by EventBridge to put the events on the central bus; may do nothing else. */
  readonly forwardingRole: iam.Role;
  /** Events EventBridge could not forward to the central bus. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Topic the alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /** The dead-letter queue's depth alarm. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** The role the central detector and sweep assume in this account. */
  readonly memberRole: iam.Role;
  /** The restore role, when {@link KeyWardenMemberProps.restore} is set. */
  readonly restoreRole?: iam.Role;
  /** The canary user, unless {@link KeyWardenMemberProps.canary} is false. */
  readonly canaryUser?: iam.User;

  constructor(scope: Construct, id: string, props: KeyWardenMemberProps) {
    super(scope, id);
    const memberRoleName = props.memberRoleName ?? DEFAULT_MEMBER_ROLE_NAME;
    validateRoleName('memberRoleName', memberRoleName);
    const remediationMode = props.remediationMode ?? DEFAULTS.remediationMode;
    if (!REMEDIATION_MODES.includes(remediationMode)) {
      throw new SettingError(
        `remediationMode ${JSON.stringify(remediationMode)} is not allowed; use one of: ${REMEDIATION_MODES.join(', ')}`,
      );
    }
    if (props.alarmEmail !== undefined) validateAlarmEmail(props.alarmEmail);

    this.alarmTopic = props.alarmTopic ?? createAlarmTopic(this, 'AlarmTopic');
    subscribeAlarmEmail(this.alarmTopic, props.alarmEmail);
    const dlq = new AlarmedDeadLetterQueue(this, 'ForwardDeadLetterQueue', {
      purpose: 'the queue of IAM events that could not be forwarded to the central KeyWarden bus',
      alarmTopic: this.alarmTopic,
    });
    this.deadLetterQueue = dlq.queue;
    this.alarms = [dlq.alarm];

    // A cross-account event-bus target needs a role in the sending account; this one may put events on the
    // central bus only, and only EventBridge acting for this rule of this account may assume it.
    // A fixed name: the central sweep reads this rule in every member by name (its coverage check).
    const forwarding = forwardingRuleIdentity(this, 'ForwardKeyEvents', FORWARDING_RULE_NAME);
    this.forwardingRole = new iam.Role(this, 'ForwardRole', {
      assumedBy: forwarding.principal,
      description: 'KeyWarden: lets EventBridge put IAM access-key events on the central KeyWarden bus',
    });
    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralBus', props.centralEventBusArn);
    this.rule = new events.Rule(this, 'ForwardKeyEvents', {
      ruleName: forwarding.ruleName,
      description:
        'KeyWarden: forwards successful IAM access-key and user-tag calls to the central KeyWarden bus',
      eventPattern: keyEventPattern(),
    });
    // Event-bus targets take no retry policy; EventBridge retries them for 24 hours, then the dead-letter queue.
    this.rule.addTarget(
      new targets.EventBus(centralBus, { deadLetterQueue: dlq.queue, role: this.forwardingRole }),
    );

    // The central account's root with aws:PrincipalArn naming the two roles, rather than the roles as principals:
    // a role ARN principal is stored as the role's unique id, so a central role replaced by a redeploy would
    // silently lose access; the condition keeps matching the ARN.
    this.memberRole = new iam.Role(this, 'MemberRole', {
      roleName: memberRoleName,
      description: 'KeyWarden: assumed by the central detector and sweep to check and report this account',
      assumedBy: new iam.AccountPrincipal(props.centralAccountId).withConditions({
        ArnEquals: { 'aws:PrincipalArn': [props.detectorRoleArn, props.sweepRoleArn] },
      }),
      // A session assumed from a Lambda role is role chaining, which AWS caps at one hour anyway.
      maxSessionDuration: Duration.hours(1),
    });
    // The sweep's statements are the detector's plus the listing: the member role is both. The trail check runs in
    // the central account only; the one CloudTrail action here is LookupEvents, read-only, for the usage evidence
    // of the member's violating users (each account's event history is its own).
    for (const statement of policyStatements(this, 'sweep', remediationMode, {
      findingsRegion: props.homeRegion,
      trailCheck: false,
    })) {
      this.memberRole.addToPolicy(statement);
    }
    acknowledgeWildcards(this.memberRole, 'sweep', { trailCheck: false });
    this.memberRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadForwardingRule',
        // The sweep's coverage check: is this account's forwarding rule there, enabled, matching, targeted?
        actions: ['events:DescribeRule', 'events:ListTargetsByRule'],
        resources: [
          Stack.of(this).formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: forwarding.ruleName,
          }),
        ],
      }),
    );

    if (props.canary ?? true) {
      this.canaryUser = canaryUser(this, 'CanaryUser');
      this.memberRole.addToPolicy(canaryTagStatement(this.canaryUser));
    }

    if (props.restore !== undefined) {
      this.restoreRole = this.createRestoreRole(props.restore, memberRoleName, props.homeRegion);
    }
  }

  private createRestoreRole(
    restore: MemberRestoreAccess,
    memberRoleName: string,
    homeRegion: string,
  ): iam.Role {
    if (restore.principalArns.length === 0) {
      throw new SettingError(
        'restore.principalArns is empty; name at least one role or user, or leave restore unset',
      );
    }
    restore.principalArns.forEach((arn, index) => {
      validatePrincipalArn(`restore.principalArns[${index}]`, arn);
    });
    const roleName = restore.roleName ?? `${memberRoleName}Restore`;
    validateRoleName('restore.roleName', roleName);
    const exemptTag = restore.exemptTag ?? DEFAULTS.exemptTag;
    const role = new iam.Role(this, 'RestoreRole', {
      roleName,
      description: 'KeyWarden: assumed by operators to run keywarden restore --account in this account',
      assumedBy: new iam.CompositePrincipal(...restore.principalArns.map((arn) => new iam.ArnPrincipal(arn))),
      maxSessionDuration: Duration.hours(1),
    });
    // Reads, UpdateAccessKey (to Active) and the finding: the detector's statements in deactivate mode.
    for (const statement of policyStatements(this, 'detector', 'deactivate', {
      findingsRegion: homeRegion,
      lookupEvents: false,
    })) {
      role.addToPolicy(statement);
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagUserExempt',
        actions: ['iam:TagUser'],
        resources: [
          Stack.of(this).formatArn({ service: 'iam', region: '', resource: 'user', resourceName: '*' }),
        ],
        // The exemption tag only: the role cannot set any other tag on a user.
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [exemptTag] } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'LookupKeyDeactivations',
        // restore proves from CloudTrail that KeyWarden switched the key off. LookupEvents has no resource-level
        // permissions (Service Authorization Reference, CloudTrail), so "*" is the only resource that works.
        actions: ['cloudtrail:LookupEvents'],
        resources: ['*'],
      }),
    );
    acknowledgeWildcards(role, 'detector', { lookupEvents: false });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudtrail:LookupEvents has no resource-level permissions (Service Authorization Reference for CloudTrail), so it needs Resource "*"; that statement grants only this read action, which restore needs to prove who switched a key off.',
    });
    return role;
  }
}

/** The member stack's CloudFormation parameters, by the name the StackSet passes them under. */
export const MEMBER_STACK_PARAMETERS = {
  centralEventBusArn: 'CentralEventBusArn',
  detectorRoleArn: 'DetectorRoleArn',
  sweepRoleArn: 'SweepRoleArn',
  homeRegion: 'HomeRegion',
} as const;

/** Properties of a {@link KeyWardenMemberStack}. */
export interface KeyWardenMemberStackProps
  extends StackProps,
    Pick<KeyWardenMemberProps, 'memberRoleName' | 'remediationMode' | 'alarmEmail' | 'restore' | 'canary'> {}

const ROLE_ARN_PATTERN = '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$';

/**
 * {@link KeyWardenMember} as a stack whose central coordinates are CloudFormation parameters
 * ({@link MEMBER_STACK_PARAMETERS}): the StackSet of the central stack passes them, and whoever deploys it by hand
 * (in the management account, which StackSets never deploy to) passes the central stack's outputs of the same
 * names. The central account is the account of the detector's role.
 *
 * Synthesized without a region, the template refuses at deployment any region where IAM's events do not arrive.
 */
export class KeyWardenMemberStack extends Stack {
  readonly member: KeyWardenMember;

  constructor(scope: Construct, id: string, props: KeyWardenMemberStackProps = {}) {
    super(scope, id, {
      description:
        'KeyWarden member: forwards IAM access-key events to the central account and lets it check this one',
      ...props,
    });
    const parameter = (name: string, description: string, allowedPattern: string): string =>
      new CfnParameter(this, name, {
        type: 'String',
        description,
        allowedPattern,
        constraintDescription: `must match ${allowedPattern}`,
      }).valueAsString;
    const detectorRoleArn = parameter(
      MEMBER_STACK_PARAMETERS.detectorRoleArn,
      "ARN of the central detector's execution role (central stack output DetectorRoleArn)",
      ROLE_ARN_PATTERN,
    );
    const sweepRoleArn = parameter(
      MEMBER_STACK_PARAMETERS.sweepRoleArn,
      "ARN of the central sweep's execution role (central stack output SweepRoleArn)",
      ROLE_ARN_PATTERN,
    );
    const centralEventBusArn = parameter(
      MEMBER_STACK_PARAMETERS.centralEventBusArn,
      'ARN of the central organization event bus (central stack output CentralEventBusArn)',
      '^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[\\w.\\-/]{1,256}$',
    );
    const homeRegion = parameter(
      MEMBER_STACK_PARAMETERS.homeRegion,
      "Region of the central detector, where this account's findings are imported (central stack output HomeRegion)",
      '^[a-z]{2}(-[a-z]+)+-[0-9]+$',
    );

    this.member = new KeyWardenMember(this, 'Member', {
      centralEventBusArn,
      // arn:<partition>:iam::<account>:role/<name>: the fifth field.
      centralAccountId: Fn.select(4, Fn.split(':', detectorRoleArn)),
      detectorRoleArn,
      sweepRoleArn,
      homeRegion,
      memberRoleName: props.memberRoleName,
      remediationMode: props.remediationMode,
      alarmEmail: props.alarmEmail,
      restore: props.restore,
      canary: props.canary,
    });

    const placement = iamEventPlacement(this);
    if (placement.kind === 'unknown') {
      addIamEventRegionRule(
        this,
        'IamEventRegion',
        'The KeyWarden member stack must be deployed where IAM events reach EventBridge: us-east-1 (aws), us-gov-west-1 (aws-us-gov) or cn-north-1 (aws-cn); elsewhere its rule would never fire.',
      );
    } else if (placement.kind === 'unknown-partition') {
      Annotations.of(this).addWarningV2(
        'keywarden:iam-event-region',
        `Partition ${placement.partition}: the region where IAM events reach EventBridge is not known; the member rule is deployed in ${this.region}.`,
      );
    } else if (placement.iamRegion !== this.region) {
      throw new SettingError(
        `the KeyWarden member stack's region ${this.region} is not allowed; deploy it in ${placement.iamRegion}, where IAM events of partition ${placement.partition} reach EventBridge`,
      );
    }
  }
}
