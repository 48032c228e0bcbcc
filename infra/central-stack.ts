import {
  Annotations,
  ArnFormat,
  Aws,
  CfnCondition,
  CfnOutput,
  Duration,
  Fn,
  Stack,
  Token,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DEFAULT_MEMBER_ROLE_NAME, ENV } from '../functions/shared/constants.ts';
import type { AccessKeyDetector } from './access-key-detector.ts';
import { SettingError } from './errors.ts';
import { keyEventPattern } from './event-pattern.ts';
import { KeyWardenStack, type KeyWardenStackProps } from './keywarden-stack.ts';
import { type KeyWardenMemberProps, MEMBER_STACK_PARAMETERS } from './member-stack.ts';
import { MemberStackSet, type StackSetCaller } from './member-stack-set.ts';
import { validateAlarmEmail } from './monitoring.ts';
import {
  DEFAULT_ORGANIZATION_READER_ROLE_NAME,
  validateAccountId,
  validateOrganizationId,
  validatePrincipalArn,
  validateRoleName,
} from './organization-settings.ts';
import { iamEventRegionToken } from './partition.ts';

/** Name of the central bus that receives the members' key events. */
export const DEFAULT_ORGANIZATION_BUS_NAME = 'keywarden-organization';

// The same delivery as the detector's default-bus rule: retry for the whole day EventBridge allows, because the
// detector re-reads live IAM state and a late event is still worth handling; then the event dead-letter queue.
const DELIVERY_RETRY_ATTEMPTS = 185;
const DELIVERY_MAX_EVENT_AGE = Duration.hours(24);

/** Properties of an {@link OrganizationEventBus}. */
export interface OrganizationEventBusProps {
  /** Only principals of this organization may put events on the bus (`aws:PrincipalOrgID`). */
  readonly organizationId: string;
  /** The detector whose queue the bus's rule feeds. */
  readonly detector: AccessKeyDetector;
  /**
   * Name of the bus.
   * @default 'keywarden-organization'
   */
  readonly eventBusName?: string;
}

/**
 * The central end of the members' forwarding: a custom event bus that admits `events:PutEvents` from principals
 * of the organization only, and on it the detector's rule (the same pattern) feeding the detector's queue, with
 * the detector's event dead-letter queue. The central account's own events still arrive on its default bus.
 */
export class OrganizationEventBus extends Construct {
  readonly eventBus: events.EventBus;
  /** Matches the members' forwarded key events and sends them to the detector's queue. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: OrganizationEventBusProps) {
    super(scope, id);
    validateOrganizationId('organizationId', props.organizationId);
    const eventBusName = props.eventBusName ?? DEFAULT_ORGANIZATION_BUS_NAME;
    this.eventBus = new events.EventBus(this, 'Bus', {
      eventBusName,
      description: "KeyWarden: IAM access-key events forwarded by the organization's member accounts",
    });
    // A member's forwarding role is a principal of the organization; nothing outside it can put events here. Even
    // inside it, nobody can put an event whose source starts with aws. (NotAuthorizedForSourceException): an
    // aws.iam event on this bus was forwarded by a rule from the account that made the call. The policy is the
    // bus's own property, one resource instead of a separate AWS::Events::EventBusPolicy.
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'OrganizationPutEvents',
          principals: [new iam.AnyPrincipal()],
          actions: ['events:PutEvents'],
          // By name, not the bus's Arn attribute, which the bus's own policy cannot reference.
          resources: [
            Stack.of(this).formatArn({
              service: 'events',
              resource: 'event-bus',
              resourceName: eventBusName,
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          ],
          conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
        }),
      ],
    });
    (this.eventBus.node.defaultChild as events.CfnEventBus).policy = policy.toJSON();
    this.rule = new events.Rule(this, 'KeyEventRule', {
      description: 'KeyWarden: successful IAM access-key and user-tag calls forwarded by member accounts',
      eventBus: this.eventBus,
      eventPattern: keyEventPattern(),
    });
    this.rule.addTarget(
      new targets.SqsQueue(props.detector.detectorQueue, {
        deadLetterQueue: props.detector.eventDeadLetterQueue,
        retryAttempts: DELIVERY_RETRY_ATTEMPTS,
        maxEventAge: DELIVERY_MAX_EVENT_AGE,
      }),
    );
  }
}

/** The organization settings of a {@link KeyWardenCentralStack}. */
export interface KeyWardenOrganizationSettings {
  /** The organization (`o-…`). */
  readonly organizationId: string;
  /**
   * OUs (or the root, `r-…`) whose accounts get the member stack through a service-managed StackSet.
   * @default - no StackSet: deploy the member stack another way
   */
  readonly memberOus?: readonly string[];
  /**
   * The role the central functions assume in each member.
   * @default 'KeyWardenMember'
   */
  readonly memberRoleName?: string;
  /**
   * Only these member accounts: the detector skips the others' events, and the StackSet deploys only to them. A list
   * that names only this (central) account leaves the StackSet no member and is a setting error.
   * @default - every account of the organization
   */
  readonly memberAccountIds?: readonly string[];
  /**
   * The management account, where {@link KeyWardenManagementStack} creates the read-only role the sweep lists
   * the accounts with: the ACTIVE accounts under {@link memberOus} (what the StackSet targets) and the management
   * account itself (its member stack is deployed by hand). Also decides the StackSet's `CallAs`: `SELF` when this
   * stack is in it.
   * @default - no organization listing; the StackSet is created as a delegated administrator
   */
  readonly managementAccountId?: string;
  /**
   * Name of the management account's read-only role.
   * @default 'KeyWardenOrganizationReader'
   */
  readonly organizationReaderRoleName?: string;
  /**
   * E-mail address subscribed to each member's alarm topic (one subscription to confirm per member account).
   * @default - none
   */
  readonly memberAlarmEmail?: string;
  /**
   * Exact role or user ARNs that may assume a restore role in each member (`keywarden restore --account`).
   * @default - no restore role
   */
  readonly restorePrincipalArns?: readonly string[];
  /**
   * Name of the central bus.
   * @default 'keywarden-organization'
   */
  readonly eventBusName?: string;
}

/** Properties of a {@link KeyWardenCentralStack}. */
export interface KeyWardenCentralStackProps extends KeyWardenStackProps {
  readonly organization: KeyWardenOrganizationSettings;
}

/**
 * KeyWarden for a whole organization, in the security (delegated administrator) account's home region: the
 * {@link KeyWardenStack} detector in organization mode (it assumes the member role in each member), an
 * {@link OrganizationEventBus} the members forward to, and a {@link MemberStackSet} that deploys the member stack
 * to the given OUs, leaving out this account (whose own events reach the detector on its default bus).
 *
 * Outputs, under the member stack's parameter names: `CentralEventBusArn`, `DetectorRoleArn`, `SweepRoleArn`,
 * `HomeRegion`; the management stack takes `SweepRoleArn`.
 */
export class KeyWardenCentralStack extends KeyWardenStack {
  readonly organizationBus: OrganizationEventBus;
  /** The StackSet, when {@link KeyWardenOrganizationSettings.memberOus} is set. */
  readonly memberStackSet?: MemberStackSet;

  constructor(scope: Construct, id: string, props: KeyWardenCentralStackProps) {
    const organization = props.organization;
    validateOrganizationSettings(organization);
    // The sweep must know the member accounts: no KeyWarden role may call Organizations but the management stack's.
    if (organization.managementAccountId === undefined && !organization.memberAccountIds?.length) {
      throw new SettingError(
        'organization mode needs managementAccount or memberAccountIds: the sweep lists the member accounts through the management stack’s read-only role, or takes them from memberAccountIds',
      );
    }
    const memberRoleName = organization.memberRoleName ?? DEFAULT_MEMBER_ROLE_NAME;
    const readerRoleName = organization.organizationReaderRoleName ?? DEFAULT_ORGANIZATION_READER_ROLE_NAME;
    super(scope, id, {
      ...props,
      detector: {
        ...props.detector,
        organization: {
          organizationId: organization.organizationId,
          memberRoleName,
          ...(organization.memberAccountIds?.length
            ? { memberAccountIds: organization.memberAccountIds }
            : {}),
          // The sweep's members are the StackSet's targets: the accounts of these OUs.
          ...(organization.memberOus?.length ? { memberOus: organization.memberOus } : {}),
          ...(organization.managementAccountId !== undefined
            ? {
                organizationRoleArn: `arn:${Aws.PARTITION}:iam::${organization.managementAccountId}:role/${readerRoleName}`,
              }
            : {}),
        },
      },
    });

    this.organizationBus = new OrganizationEventBus(this, 'OrganizationEventBus', {
      organizationId: organization.organizationId,
      detector: this.detector,
      eventBusName: organization.eventBusName,
    });
    // The sweep checks that each member's forwarding rule targets this bus (its coverage check).
    this.detector.sweepFunction.addEnvironment(
      ENV.organizationBusArn,
      this.organizationBus.eventBus.eventBusArn,
    );
    const parameters = {
      centralEventBusArn: this.organizationBus.eventBus.eventBusArn,
      detectorRoleArn: roleArnOf(this.detector.detectorFunction.role),
      sweepRoleArn: roleArnOf(this.detector.sweepFunction.role),
      homeRegion: this.region,
    };
    const descriptions: Record<keyof typeof parameters, string> = {
      centralEventBusArn: 'The bus the member stacks forward key events to',
      detectorRoleArn: 'The detector role the member role trusts',
      sweepRoleArn: 'The sweep role the member role and the management role trust',
      homeRegion: "Where the detector runs and imports each member's findings",
    };
    for (const key of Object.keys(parameters) as (keyof typeof parameters)[]) {
      new CfnOutput(this, MEMBER_STACK_PARAMETERS[key], {
        value: parameters[key],
        description: descriptions[key],
      });
    }

    if (organization.memberOus !== undefined && organization.memberOus.length > 0) {
      const region = iamEventRegionToken(this);
      if (region === undefined) {
        throw new SettingError(
          `organization mode needs the region where IAM events arrive, which is not known for the partition of ${this.region}`,
        );
      }
      const memberAccountIds = organization.memberAccountIds?.filter(
        (account) => Token.isUnresolved(this.account) || account !== this.account,
      );
      // An allow-list is a limit: with nothing left, the StackSet must not fall back to every account of the OUs.
      if (organization.memberAccountIds?.length && !memberAccountIds?.length) {
        throw new SettingError(
          `memberAccountIds names no member account: ${this.account} is the central account, which the StackSet leaves out; name the member accounts, or leave memberAccountIds out to deploy to every account of memberOus`,
        );
      }
      this.memberStackSet = new MemberStackSet(this, 'MemberStackSet', {
        organizationalUnitIds: organization.memberOus,
        region,
        parameters,
        member: memberSettings(organization, props.detector),
        ...(memberAccountIds?.length ? { accountIds: memberAccountIds } : {}),
        // This account's own events already reach the detector on its default bus: a member stack here would
        // send each of them twice.
        excludedAccountIds: [this.account],
        callAs: this.stackSetCaller(organization.managementAccountId),
      });
    }
  }

  /**
   * `SELF` when this stack is in the management account, else `DELEGATED_ADMIN` (the recommended setup: the
   * security account registered as the StackSets delegated administrator). Decided at deployment when the
   * account is not known at synth.
   */
  private stackSetCaller(managementAccountId: string | undefined): string {
    const delegated: StackSetCaller = 'DELEGATED_ADMIN';
    const self: StackSetCaller = 'SELF';
    if (managementAccountId === undefined) return delegated;
    if (!Token.isUnresolved(this.account)) return this.account === managementAccountId ? self : delegated;
    const inManagement = new CfnCondition(this, 'InManagementAccount', {
      expression: Fn.conditionEquals(Aws.ACCOUNT_ID, managementAccountId),
    });
    return Token.asString(Fn.conditionIf(inManagement.logicalId, self, delegated));
  }
}

function roleArnOf(role: iam.IRole | undefined): string {
  if (role === undefined) throw new Error('a KeyWarden function has no execution role');
  return role.roleArn;
}

/** Throws a SettingError naming the first setting that cannot be deployed. */
export function validateOrganizationSettings(organization: KeyWardenOrganizationSettings): void {
  validateOrganizationId('organizationId', organization.organizationId);
  if (organization.memberRoleName !== undefined)
    validateRoleName('memberRoleName', organization.memberRoleName);
  if (organization.organizationReaderRoleName !== undefined) {
    validateRoleName('organizationReaderRoleName', organization.organizationReaderRoleName);
  }
  organization.memberAccountIds?.forEach((account, index) => {
    validateAccountId(`memberAccountIds[${index}]`, account);
  });
  if (organization.managementAccountId !== undefined) {
    validateAccountId('managementAccountId', organization.managementAccountId);
  }
  if (organization.memberAlarmEmail !== undefined) validateAlarmEmail(organization.memberAlarmEmail);
  organization.restorePrincipalArns?.forEach((arn, index) => {
    validatePrincipalArn(`restorePrincipalArns[${index}]`, arn);
  });
}

/**
 * The member stack's settings that follow from the central deployment's: the same member role name and
 * remediation mode (only `deactivate` grants `iam:UpdateAccessKey`), alarms, and the optional restore role.
 */
export function memberSettings(
  organization: KeyWardenOrganizationSettings,
  detector: KeyWardenStackProps['detector'],
): Pick<KeyWardenMemberProps, 'memberRoleName' | 'remediationMode' | 'alarmEmail' | 'restore' | 'canary'> {
  return {
    memberRoleName: organization.memberRoleName ?? DEFAULT_MEMBER_ROLE_NAME,
    remediationMode: detector?.remediationMode,
    // The central sweep tags the members' canary users only with the canary on.
    ...(detector?.canary === false ? { canary: false } : {}),
    alarmEmail: organization.memberAlarmEmail,
    ...(organization.restorePrincipalArns?.length
      ? {
          restore: { principalArns: organization.restorePrincipalArns, exemptTag: detector?.exemptTag },
        }
      : {}),
  };
}
