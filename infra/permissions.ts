import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { CANARY_TAG_KEY, CANARY_USER_NAME, type RemediationMode } from '../functions/shared/constants.ts';

/** Which function a policy is for: the sweep calls everything the detector calls, plus the account listing. */
export type FunctionKind = 'detector' | 'sweep';

/** Options of {@link policyStatements}. */
export interface PolicyOptions {
  /**
   * Region of the Security Hub product and hub: a member role is deployed where IAM's events arrive, but the
   * central functions import into the member's hub in their own home region.
   * @default - the scope's stack region
   */
  readonly findingsRegion?: string;
  /**
   * Grant the sweep's trail check (CloudTrail reads). The central sweep checks the trails in its own account only,
   * so a member role needs none.
   * @default true
   */
  readonly trailCheck?: boolean;
  /**
   * Grant `cloudtrail:LookupEvents`: where and by what a violating user's keys are used (usage evidence), and, with
   * exemption approvers, who set an exemption tag. False for a role that grants it in a statement of its own.
   * @default true
   */
  readonly lookupEvents?: boolean;
}

/**
 * The IAM statements a KeyWarden function needs, least privilege: IAM user actions on this account's users only,
 * `iam:UpdateAccessKey` only when remediation deactivates keys, Security Hub on this account's default product
 * and hub only. Partition and account come from the stack, never a literal `arn:aws`.
 */
export function policyStatements(
  scope: Construct,
  kind: FunctionKind,
  remediationMode: RemediationMode,
  options: PolicyOptions = {},
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const anyUser = stack.formatArn({
    service: 'iam',
    region: '',
    resource: 'user',
    resourceName: '*',
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  const statements = [
    new iam.PolicyStatement({
      sid: 'ReadUsersAndKeys',
      actions: ['iam:GetUser', 'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'],
      resources: [anyUser],
    }),
    new iam.PolicyStatement({
      sid: 'ImportFindings',
      actions: ['securityhub:BatchImportFindings'],
      // The custom-integration product of this account: arn:<partition>:securityhub:<region>:<account>:product/<account>/default
      resources: [
        stack.formatArn({
          service: 'securityhub',
          region: options.findingsRegion,
          resource: 'product',
          resourceName: `${stack.account}/default`,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
    }),
    new iam.PolicyStatement({
      sid: 'ReadFindings',
      actions: ['securityhub:GetFindings'],
      resources: [
        stack.formatArn({
          service: 'securityhub',
          region: options.findingsRegion,
          resource: 'hub',
          resourceName: 'default',
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
    }),
  ];
  if (remediationMode === 'deactivate') {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DeactivateAccessKeys',
        actions: ['iam:UpdateAccessKey'],
        resources: [anyUser],
      }),
    );
  }
  if (kind === 'sweep') {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ListAllUsers',
        // None of these three supports resource-level permissions (Service Authorization Reference, IAM:
        // no resource type listed), so "*" is the only resource that works.
        actions: ['iam:ListUsers', 'iam:GenerateCredentialReport', 'iam:GetCredentialReport'],
        resources: ['*'],
      }),
    );
  }
  if (kind === 'sweep' && (options.trailCheck ?? true)) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ListTrails',
        // The blind-path check. DescribeTrails has no resource-level permissions (Service Authorization
        // Reference, CloudTrail), so "*" is the only resource that works.
        actions: ['cloudtrail:DescribeTrails'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTrails',
        // Any region and any account: a multi-region trail is homed in another region, and an organization
        // trail lives in the organization's management account.
        actions: ['cloudtrail:GetTrailStatus', 'cloudtrail:GetEventSelectors'],
        resources: [anyTrailArn(stack)],
      }),
    );
  }
  if (options.lookupEvents ?? true) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'LookupEvents',
        // Usage evidence (the management events signed with a violating user's keys) and who set an exemption tag.
        // LookupEvents has no resource-level permissions (Service Authorization Reference, CloudTrail), so "*" is
        // the only resource that works; it reads event history only.
        actions: ['cloudtrail:LookupEvents'],
        resources: ['*'],
      }),
    );
  }
  return statements;
}

/** `arn:<partition>:cloudtrail:*:*:trail/*`. */
function anyTrailArn(stack: Stack): string {
  return stack.formatArn({
    service: 'cloudtrail',
    region: '*',
    account: '*',
    resource: 'trail',
    resourceName: '*',
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * Acknowledges, for cdk-nag (AwsSolutions-IAM5), exactly the wildcard resources {@link policyStatements} grants
 * `kind`, each with the reason it cannot be narrower. Call it on the role that holds the statements.
 */
export function acknowledgeWildcards(
  role: iam.IRole,
  kind: FunctionKind,
  options: Pick<PolicyOptions, 'trailCheck' | 'lookupEvents'> = {},
): void {
  const stack = Stack.of(role);
  // cdk-nag names a finding by the flattened resource: references become <Ref>, literals stay as they are.
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const validations = Validations.of(role);
  validations.acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:${partition}:iam::${account}:user/*]`,
    reason:
      'KeyWarden checks every IAM user of the account, whatever its name or path, so the user actions apply to all users of this account (no other account, no other resource type).',
  });
  const lookup =
    (options.lookupEvents ?? true)
      ? ' cloudtrail:LookupEvents (usage evidence of a violating user\'s keys, and who set an exemption tag) has no resource-level permissions either (Service Authorization Reference for CloudTrail) and needs Resource "*" too; it reads event history only.'
      : '';
  if (kind === 'sweep') {
    validations.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `${
        (options.trailCheck ?? true)
          ? 'iam:ListUsers, iam:GenerateCredentialReport, iam:GetCredentialReport and cloudtrail:DescribeTrails have no resource-level permissions (Service Authorization Reference for IAM and CloudTrail), so they need Resource "*"; those two statements grant only these four actions.'
          : 'iam:ListUsers, iam:GenerateCredentialReport and iam:GetCredentialReport have no resource-level permissions (Service Authorization Reference for IAM), so they need Resource "*"; that statement grants only these three actions.'
      }${lookup}`,
    });
  } else if (lookup !== '') {
    validations.acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: lookup.trim() });
  }
  if (kind === 'sweep' && (options.trailCheck ?? true)) {
    validations.acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:cloudtrail:*:*:trail/*]`,
      reason:
        'The sweep reads the status and event selectors of every trail that may deliver IAM events: multi-region trails homed in any region, and organization trails, which live in the management account. Only these two read actions, only on trails.',
    });
  }
}

/** The canary user: no credentials, no policies, no console access; only KeyWarden's canary tags it. */
export function canaryUser(scope: Construct, id: string): iam.User {
  return new iam.User(scope, id, { userName: CANARY_USER_NAME });
}

/** `iam:TagUser` on the canary user only, setting the canary tag only (`aws:TagKeys`). */
export function canaryTagStatement(user: iam.IUser): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'TagCanaryUser',
    actions: ['iam:TagUser'],
    resources: [user.userArn],
    conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [CANARY_TAG_KEY] } },
  });
}

/** How the central functions reach member accounts (organization mode). */
export interface OrganizationAccess {
  /** The organization (`o-...`): the member role is assumed only in accounts of it (`aws:ResourceOrgID`). */
  readonly organizationId: string;
  /** The role assumed in each member account. */
  readonly memberRoleName: string;
  /** Read-only role in the management account, assumed by the sweep to list the organization's accounts. */
  readonly organizationRoleArn?: string;
}

/**
 * `sts:AssumeRole` on `arn:<partition>:iam::*:role/<memberRoleName>` in the organization only, and for the sweep
 * on the management account's read-only role. What the functions do inside a member is granted by the member role.
 */
export function organizationStatements(
  scope: Construct,
  kind: FunctionKind,
  access: OrganizationAccess,
): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      sid: 'AssumeMemberRole',
      actions: ['sts:AssumeRole'],
      resources: [memberRoleArnPattern(scope, access.memberRoleName)],
      conditions: { StringEquals: { 'aws:ResourceOrgID': access.organizationId } },
    }),
  ];
  if (kind === 'sweep' && access.organizationRoleArn !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AssumeOrganizationReader',
        actions: ['sts:AssumeRole'],
        resources: [access.organizationRoleArn],
      }),
    );
  }
  return statements;
}

/** `arn:<partition>:iam::*:role/<name>`: the member role in any account (narrowed by `aws:ResourceOrgID`). */
export function memberRoleArnPattern(scope: Construct, roleName: string): string {
  return `arn:${Stack.of(scope).partition}:iam::*:role/${roleName}`;
}

/** Acknowledges, for cdk-nag, the one wildcard of {@link organizationStatements}: the member accounts. */
export function acknowledgeMemberRoleWildcard(role: iam.IRole, roleName: string): void {
  const stack = Stack.of(role);
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:${partition}:iam::*:role/${roleName}]`,
    reason:
      'The member role has one name in every member account; the account is the wildcard, narrowed to the organization by the aws:ResourceOrgID condition.',
  });
}

/** A list of IAM actions and when a caller needs it. */
export interface PermissionList {
  /** `always`, or the option or setting that adds the actions. */
  readonly when: string;
  readonly actions: readonly string[];
}

/**
 * What `keywarden scan`, `keywarden restore` and `keywarden coverage` call in the caller's account, by option: the permissions their documentation lists
 * (docs/permissions.md is generated from this), and the role the enforced tests run them under.
 */
export const CLI_PERMISSIONS = {
  scan: [
    {
      when: 'always',
      actions: ['sts:GetCallerIdentity', 'iam:GetUser', 'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'],
    },
    {
      when: 'default (credential report)',
      actions: ['iam:GenerateCredentialReport', 'iam:GetCredentialReport'],
    },
    { when: '--full', actions: ['iam:ListUsers'] },
    {
      when: 'a violation (usage evidence; without it the report says why it is missing)',
      actions: ['cloudtrail:LookupEvents'],
    },
    { when: '--import-findings', actions: ['securityhub:GetFindings', 'securityhub:BatchImportFindings'] },
    { when: '--remediate --yes', actions: ['iam:UpdateAccessKey'] },
  ],
  restore: [
    {
      when: 'always',
      actions: [
        'sts:GetCallerIdentity',
        'iam:GetUser',
        'iam:ListAccessKeys',
        'securityhub:GetFindings',
        'cloudtrail:LookupEvents',
      ],
    },
    {
      when: '--yes',
      actions: [
        'iam:TagUser',
        'iam:UpdateAccessKey',
        'iam:GetAccessKeyLastUsed',
        'securityhub:BatchImportFindings',
      ],
    },
  ],
  coverage: [
    {
      when: 'always',
      actions: [
        'sts:GetCallerIdentity',
        'cloudtrail:DescribeTrails',
        'cloudtrail:GetTrailStatus',
        'cloudtrail:GetEventSelectors',
      ],
    },
    { when: '--canary-table', actions: ['dynamodb:GetItem'] },
  ],
} as const satisfies Record<string, readonly PermissionList[]>;

/** Why KeyWarden's code calls each action it is granted or documents (docs/permissions.md). */
export const ACTION_PURPOSES: Readonly<Record<string, string>> = {
  'iam:GetUser':
    "reads the user's ARN, path, id and tags (the exemption tag) for the finding and the decision",
  'iam:ListAccessKeys': "lists the user's keys and their status: the truth the event only hints at",
  'iam:GetAccessKeyLastUsed':
    'dates each key’s last use: the key to keep, never switching off a key in use (IN_USE_HOURS), the finding',
  'iam:UpdateAccessKey': 'deactivates the surplus key (restore: re-activates it)',
  'iam:TagUser':
    'restore: sets the exemption tag before re-activating the key; the sweep: tags the canary user with the canary tag (its send time)',
  'dynamodb:GetItem':
    'reads the account’s canary record, last sent and last received (the sweep; `keywarden coverage --canary-table`)',
  'dynamodb:UpdateItem':
    'records a canary: the sweep its send and coverage problems, the detector its arrival (never over a newer one)',
  'iam:ListUsers': 'the full listing (`full` sweep source, `--full`)',
  'iam:GenerateCredentialReport': 'starts the credential report, the sweep’s list of candidates',
  'iam:GetCredentialReport': 'reads the credential report',
  'securityhub:BatchImportFindings': 'imports the finding into this account’s Security Hub',
  'securityhub:GetFindings': 'reads the stored finding (what was deactivated, open findings to resolve)',
  'events:PutEvents': 'publishes the notification event on the notification bus',
  'events:DescribeRule':
    'coverage check: reads the member’s forwarding rule (exists, enabled, the detector’s event pattern)',
  'events:ListTargetsByRule': 'coverage check: reads where the member’s forwarding rule sends its events',
  'cloudtrail:DescribeTrails': 'lists the trails for the blind-path check',
  'cloudtrail:GetTrailStatus': 'checks that a trail is logging',
  'cloudtrail:GetEventSelectors': 'checks that a trail records management write events',
  'cloudtrail:LookupEvents':
    'reads CloudTrail’s event history: where and by what a violating user’s keys are used (usage evidence); restore, that one of KeyWarden’s roles switched the key off; with exemption approvers, who set the exemption tag',
  'sts:AssumeRole':
    'acts in a member account through its member role (or lists accounts through the reader role)',
  'sts:GetCallerIdentity': 'names the account and the caller',
  'organizations:ListAccounts':
    'lists the ACTIVE accounts of the organization (the sweep of a central stack without `memberOus`)',
  'organizations:ListAccountsForParent':
    'lists the accounts of each member OU and of the OUs nested in it: the sweep’s members are the StackSet’s targets',
  'organizations:ListOrganizationalUnitsForParent':
    'finds the OUs nested in each member OU, whose accounts the StackSet also deploys to',
  'sqs:SendMessage': 'queues one message per member account for the sweep',
};
