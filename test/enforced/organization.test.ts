/**
 * Least privilege, proven on moto enforcing IAM, for the organization stacks: the central detector and sweep
 * (deactivate mode), the member stack's roles in a member account, and the management account's reader role, all
 * created from the synthesized templates. The central functions reach the member through the member role and list
 * the organization through the reader role; an operator restores through the restore role.
 */

import {
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
} from '@aws-sdk/client-organizations';
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { createClients as CreateClients } from '../../functions/adapters/clients.ts';
import type { main as Main } from '../../functions/cli/main.ts';
import type { createDetector as CreateDetector } from '../../functions/detector/handler.ts';
import type { loadConfig as LoadConfig } from '../../functions/shared/config.ts';
import { DEFAULT_MEMBER_ROLE_NAME } from '../../functions/shared/constants.ts';
import type { createLogger as CreateLogger } from '../../functions/shared/logger.ts';
import type { createSweepHandler as CreateSweepHandler } from '../../functions/sweep/handler.ts';
import {
  KeyWardenCentralStack,
  type KeyWardenOrganizationSettings,
  memberSettings,
} from '../../infra/central-stack.ts';
import { KeyWardenManagementStack } from '../../infra/management-stack.ts';
import { KeyWardenMemberStack, MEMBER_STACK_PARAMETERS } from '../../infra/member-stack.ts';
import { ACTION_PURPOSES } from '../../infra/permissions.ts';
import { canaryEvent, keyEvent } from '../detector/moto-helpers.ts';
import { removeTestApps, testApp } from '../infra/synth.ts';
import { deployForwardingRule } from '../support/forwarding-rule.ts';
import { type Credentials, createCanaryWorld, EnforcedAws, REGION, TRAIL_BUCKET } from './enforced-aws.ts';
import { referenceProblems } from './iam-reference.ts';
import {
  expectEachGrantNeeded,
  expectEveryGrantUsed,
  permissionTables,
  type RoleUnderTest,
  type Scenario,
  type Unexercised,
  Usage,
} from './least-privilege.ts';
import { documentedSection } from './permissions-doc.ts';
import { functionEnvironments, type TemplateJson, templateRoles } from './template-roles.ts';
import { lambdaServiceGrants } from './unexercised.ts';

const CENTRAL = '999988887777';
const MEMBER = '111122223333';
const MANAGEMENT = '111100001111';
const OPERATOR_ROLE = 'security-operators';
const OPERATOR_ARN = `arn:aws:iam::${CENTRAL}:role/${OPERATOR_ROLE}`;
const CONTEXT = {
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${CENTRAL}:function:keywarden`,
  awsRequestId: 'enforced',
};

const ORGANIZATION: KeyWardenOrganizationSettings = {
  organizationId: 'o-a1b2c3d4e5',
  memberOus: ['ou-ab12-cd34ef56'],
  managementAccountId: MANAGEMENT,
  restorePrincipalArns: [OPERATOR_ARN],
};

const ORGANIZATION_UNEXERCISED: readonly Unexercised[] = [
  ...lambdaServiceGrants('Central detector', 'Detector'),
  ...lambdaServiceGrants('Central sweep', 'Sweep', ['sqs:SendMessage']),
  ...['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'].map((action) => ({
    role: 'Central sweep',
    action,
    usedBy: 'the Lambda service, for the function',
    reason: 'the event source mapping (the Lambda service) polls the account queue with the function’s role',
  })),
  {
    role: 'Member forward',
    action: 'events:PutEvents',
    usedBy: 'EventBridge, to forward the member’s key events',
    reason:
      'EventBridge, not KeyWarden code, puts the member’s events on the central bus; moto looks a bus up in the caller’s own account, so a put on another account’s bus cannot run here',
  },
];

// Each action of a role removed in turn, and its run repeated: a dozen runs against moto.
const REMOVAL_TIMEOUT_MS = 240_000;

let aws: EnforcedAws;
const roles: RoleUnderTest[] = [];
const environments = new Map<string, Record<string, string>>();
let usage: Usage;
let accountQueueUrl: string;
let centralBusArn: string;
let createDetector: typeof CreateDetector;
let createSweepHandler: typeof CreateSweepHandler;
let createClients: typeof CreateClients;
let loadConfig: typeof LoadConfig;
let createLogger: typeof CreateLogger;
let main: typeof Main;
let counter = 0;

const ROLE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'Central detector':
    'The detector’s execution role in the central stack (organization mode, `remediationMode=deactivate`).',
  'Central sweep':
    'The sweep’s execution role in the central stack: it queues the accounts, then sweeps each, the members through the member role.',
  'Member role':
    'The member stack’s `KeyWardenMember`, assumed by the central detector and sweep in each member account.',
  'Member restore':
    'The member stack’s `KeyWardenMemberRestore` (with `restorePrincipalArns`), assumed by operators for `keywarden restore --account`.',
  'Member forward':
    'The member stack’s forwarding role, assumed by EventBridge to put key events on the central bus.',
  'Organization reader':
    'The management stack’s `KeyWardenOrganizationReader`, assumed by the central sweep.',
};

function describeRole({ label }: RoleUnderTest): string {
  return ROLE_DESCRIPTIONS[label] ?? label;
}

function roleFor(label: string): RoleUnderTest {
  const found = roles.find((r) => r.label === label);
  if (found === undefined) throw new Error(`no role ${label}`);
  return found;
}

async function userWithKeys(accountId: string, count: number) {
  const { iam } = aws.admin(accountId);
  const userName = `user-${++counter}`;
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    keys.push(AccessKey?.AccessKeyId as string);
  }
  return { userName, keys };
}

async function statuses(accountId: string, userName: string): Promise<string[]> {
  const { AccessKeyMetadata = [] } = await aws
    .admin(accountId)
    .iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return AccessKeyMetadata.map((key) => key.Status as string).sort();
}

async function findingOf(accountId: string, userName: string): Promise<AwsSecurityFinding | undefined> {
  const [finding] = await aws.findingsById(accountId, `keywarden/cis-1.13/${accountId}/${userName}`);
  return finding;
}

/** A key event of `accountId`, as the member's forwarding rule delivers it to the central bus. */
function eventOf(
  accountId: string,
  userName: string,
  accessKeyId: string,
  update?: 'Inactive',
): Record<string, unknown> {
  const event = keyEvent(
    update
      ? { userName, accessKeyId, eventName: 'UpdateAccessKey', status: update }
      : { userName, accessKeyId },
  ) as { account: string; detail: Record<string, unknown> };
  const detail = event.detail as { userIdentity: Record<string, unknown>; recipientAccountId: string };
  const arn = `arn:aws:iam::${accountId}:user/${userName}`;
  return {
    ...event,
    account: accountId,
    detail: {
      ...detail,
      recipientAccountId: accountId,
      userIdentity: { ...detail.userIdentity, accountId, arn },
    },
  };
}

/** The organization of the management account: an OU with a nested OU holding one account; returns the OU. */
async function organizationWithNestedOu(): Promise<string> {
  const { organizations } = aws.admin(MANAGEMENT);
  await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const { Roots = [] } = await organizations.send(new ListRootsCommand({}));
  const rootId = Roots[0]?.Id as string;
  const ou = async (ParentId: string, Name: string) =>
    (await organizations.send(new CreateOrganizationalUnitCommand({ ParentId, Name }))).OrganizationalUnit
      ?.Id as string;
  const workloads = await ou(rootId, 'workloads');
  const team = await ou(workloads, 'team');
  const { CreateAccountStatus } = await organizations.send(
    new CreateAccountCommand({ AccountName: 'team-app', Email: 'team-app@example.com' }),
  );
  await organizations.send(
    new MoveAccountCommand({
      AccountId: CreateAccountStatus?.AccountId as string,
      SourceParentId: rootId,
      DestinationParentId: team,
    }),
  );
  return workloads;
}

async function runFunction<T>(label: string, work: () => Promise<T>): Promise<T> {
  const session = await aws.session(roleFor(label).role.arn, 'enforced');
  return (await aws.as(session, work)).value;
}

function detector() {
  return createDetector({
    config: loadConfig(environments.get('Central detector') ?? {}),
    clients: createClients({ maxAttempts: 1 }),
    logger: createLogger('keywarden-detector', 'SILENT'),
    sleep: async () => {},
  });
}

/** The central sweep as deployed; `without` drops variables, e.g. MEMBER_OUS for a central stack without OUs. */
function sweep(without: readonly string[] = []) {
  const environment = Object.entries(environments.get('Central sweep') ?? {}).filter(
    ([name]) => !without.includes(name),
  );
  return createSweepHandler({
    config: loadConfig(Object.fromEntries(environment)),
    clients: createClients({ maxAttempts: 1 }),
    logger: createLogger('keywarden-sweep', 'SILENT'),
    sleep: async () => {},
  });
}

function accountMessage(accountId: string, sweepSource: 'credential-report' | 'full' = 'credential-report') {
  return {
    Records: [
      {
        messageId: `m-${++counter}`,
        receiptHandle: 'r',
        body: JSON.stringify({ accountId, sweepSource }),
        attributes: {},
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${REGION}:${CENTRAL}:accounts`,
        awsRegion: REGION,
      },
    ],
  };
}

async function cliAs(credentials: Credentials, argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { value: code } = await aws.as(credentials, () =>
    main(argv, {
      stdout: { write: (text: string) => stdout.push(text) > 0, isTTY: false },
      stderr: { write: (text: string) => stderr.push(text) > 0, isTTY: false },
      env: { ...process.env },
    }),
  );
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** The usage evidence of a finding's first key, as read under the role: a summary, or why it is missing. */
async function usageOfFirstKey(accountId: string, userName: string): Promise<string | undefined> {
  return (await findingOf(accountId, userName))?.ProductFields?.['keywarden/detector/key1/usage'];
}

const READ = /^no management event signed with it in us-east-1/;

/**
 * Usage evidence never fails the event (a missing cloudtrail:LookupEvents is recorded in the finding as its reason),
 * so these runs check the finding holds the summary itself, read in the user's own account (a member's through its
 * member role). First, so they are the runs that prove each role's LookupEvents.
 */
const usageScenarios: Scenario[] = [
  {
    name: 'central detector: a member’s violation, its keys’ usage evidence read through the member role',
    async run() {
      const { userName, keys } = await userWithKeys(MEMBER, 2);
      await runFunction('Central detector', () =>
        detector()(eventOf(MEMBER, userName, keys[1] as string), CONTEXT),
      );
      expect(await usageOfFirstKey(MEMBER, userName)).toMatch(READ);
    },
  },
  {
    name: 'central detector: a violation in the central account, its keys’ usage evidence',
    async run() {
      const { userName, keys } = await userWithKeys(CENTRAL, 2);
      await runFunction('Central detector', () =>
        detector()(eventOf(CENTRAL, userName, keys[1] as string), CONTEXT),
      );
      expect(await usageOfFirstKey(CENTRAL, userName)).toMatch(READ);
    },
  },
  {
    name: 'central sweep (queued central account, full listing): a violation’s usage evidence',
    async run() {
      const { userName } = await userWithKeys(CENTRAL, 2);
      await runFunction('Central sweep', () => sweep()(accountMessage(CENTRAL, 'full'), CONTEXT));
      expect(await usageOfFirstKey(CENTRAL, userName)).toMatch(READ);
    },
  },
];

const scenarios: Scenario[] = [
  ...usageScenarios,
  {
    name: 'central detector: a member’s violation deactivated through the member role, its finding in the member’s hub',
    async run() {
      const { userName, keys } = await userWithKeys(MEMBER, 2);
      const result = await runFunction('Central detector', () =>
        detector()(eventOf(MEMBER, userName, keys[1] as string), CONTEXT),
      );
      expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', findingImported: true });
      expect(await statuses(MEMBER, userName)).toEqual(['Active', 'Inactive']);
      expect((await findingOf(MEMBER, userName))?.Compliance?.Status).toBe('PASSED');
    },
  },
  {
    name: 'central detector: a member’s canary arrives: recorded, its coverage finding re-imported in its hub',
    async run() {
      const memberRole = `arn:aws:iam::${MEMBER}:role/${DEFAULT_MEMBER_ROLE_NAME}`;
      const result = await runFunction('Central detector', () =>
        detector()(canaryEvent(memberRole, new Date(), MEMBER), CONTEXT),
      );
      expect(result).toMatchObject({ status: 'skipped', reason: 'canary' });
    },
  },
  {
    name: 'central detector: a violation in the central account itself',
    async run() {
      const { userName, keys } = await userWithKeys(CENTRAL, 2);
      const result = await runFunction('Central detector', () =>
        detector()(eventOf(CENTRAL, userName, keys[1] as string), CONTEXT),
      );
      expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', findingImported: true });
      expect(await statuses(CENTRAL, userName)).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'central detector: a deactivation by the user resolves the open finding in the member’s hub',
    async run() {
      const { userName, keys } = await userWithKeys(MEMBER, 2);
      await aws
        .admin(MEMBER)
        .iam.send(
          new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keys[0], Status: 'Inactive' }),
        );
      const result = await runFunction('Central detector', () =>
        detector()(eventOf(MEMBER, userName, keys[0] as string, 'Inactive'), CONTEXT),
      );
      expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant' });
    },
  },
  {
    name: 'central detector: a deactivation by the user resolves the open finding in the central account',
    async run() {
      const { userName, keys } = await userWithKeys(CENTRAL, 2);
      await aws
        .admin(CENTRAL)
        .iam.send(
          new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keys[0], Status: 'Inactive' }),
        );
      const result = await runFunction('Central detector', () =>
        detector()(eventOf(CENTRAL, userName, keys[0] as string, 'Inactive'), CONTEXT),
      );
      expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant' });
    },
  },
  {
    name: 'central sweep (schedule): lists the accounts under memberOus through the reader role and queues each account',
    async run() {
      const result = await runFunction('Central sweep', () => sweep()({}, CONTEXT));
      // The central account, the management account and the account of the nested OU.
      expect(result).toMatchObject({ accountsQueued: 3 });
      const sqs = new SQSClient({
        endpoint: aws.endpoint,
        region: REGION,
        credentials: aws.admin(CENTRAL).credentials,
      });
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: accountQueueUrl, MaxNumberOfMessages: 10 }),
      );
      expect(Messages.length).toBeGreaterThan(0);
    },
  },
  {
    name: 'central sweep (schedule, no memberOus): lists every ACTIVE account through the reader role',
    async run() {
      const result = await runFunction('Central sweep', () => sweep(['MEMBER_OUS'])({}, CONTEXT));
      // The central account, the management account and the account of the OU.
      expect(result).toMatchObject({ accountsQueued: 3 });
    },
  },
  {
    name: 'central sweep (queued member account): swept through the member role',
    async run() {
      const { userName } = await userWithKeys(MEMBER, 2);
      const result = await runFunction('Central sweep', () => sweep()(accountMessage(MEMBER), CONTEXT));
      expect(result).toMatchObject({ failed: 0, membersBlind: 0 });
      expect(await statuses(MEMBER, userName)).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'central sweep (queued member account, full listing): swept through the member role',
    async run() {
      const { userName } = await userWithKeys(MEMBER, 2);
      const result = await runFunction('Central sweep', () =>
        sweep()(accountMessage(MEMBER, 'full'), CONTEXT),
      );
      expect(result).toMatchObject({ failed: 0 });
      expect(await statuses(MEMBER, userName)).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'central sweep (queued central account, credential report): its users and its trails',
    async run() {
      const { userName } = await userWithKeys(CENTRAL, 2);
      const result = await runFunction('Central sweep', () => sweep()(accountMessage(CENTRAL), CONTEXT));
      expect(result).toMatchObject({ failed: 0 });
      expect(await statuses(CENTRAL, userName)).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'central sweep (queued central account, full listing): its users and its trails',
    async run() {
      const { userName } = await userWithKeys(CENTRAL, 2);
      const result = await runFunction('Central sweep', () =>
        sweep()(accountMessage(CENTRAL, 'full'), CONTEXT),
      );
      expect(result).toMatchObject({ failed: 0 });
      expect(await statuses(CENTRAL, userName)).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'keywarden restore --account through the member restore role',
    async run() {
      const { userName, keys } = await userWithKeys(MEMBER, 2);
      await runFunction('Central detector', () =>
        detector()(eventOf(MEMBER, userName, keys[1] as string), CONTEXT),
      );
      expect(await statuses(MEMBER, userName)).toEqual(['Active', 'Inactive']);
      const operator = await aws.session(OPERATOR_ARN, 'operator');
      const { code, stderr } = await cliAs(operator, [
        'restore',
        userName,
        '--account',
        MEMBER,
        '--role-name',
        roleFor('Member restore').role.roleName,
        '--yes',
      ]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(await statuses(MEMBER, userName)).toEqual(['Active', 'Active']);
    },
  },
];

beforeAll(async () => {
  const app = testApp();
  const detectorProps = { remediationMode: 'deactivate' as const };
  const central = new KeyWardenCentralStack(app, 'KeyWarden', {
    env: { account: CENTRAL, region: REGION },
    detector: detectorProps,
    organization: ORGANIZATION,
  });
  const member = new KeyWardenMemberStack(app, 'KeyWarden-Member', {
    env: { region: REGION },
    ...memberSettings(ORGANIZATION, detectorProps),
  });
  const management = new KeyWardenManagementStack(app, 'KeyWarden-Management');
  app.synth();
  const centralTemplate = Template.fromStack(central).toJSON() as TemplateJson;
  const centralDeployment = { accountId: CENTRAL, region: REGION };
  const centralRoles = templateRoles(centralTemplate, centralDeployment);
  const detectorRole = centralRoles.find((r) => /DetectorRole/.test(r.logicalId));
  const sweepRole = centralRoles.find((r) => /SweepRole/.test(r.logicalId));
  if (detectorRole === undefined || sweepRole === undefined) throw new Error('central roles not found');
  roles.push(
    { label: 'Central detector', accountId: CENTRAL, role: detectorRole },
    { label: 'Central sweep', accountId: CENTRAL, role: sweepRole },
  );
  for (const [id, variables] of Object.entries(functionEnvironments(centralTemplate, centralDeployment))) {
    environments.set(/SweepFunction/.test(id) ? 'Central sweep' : 'Central detector', variables);
  }
  const bus = Object.entries(centralTemplate.Resources).find(([, r]) => r.Type === 'AWS::Events::EventBus');
  centralBusArn = `arn:aws:events:${REGION}:${CENTRAL}:event-bus/${String(bus?.[1].Properties?.Name)}`;
  const parameters = {
    [MEMBER_STACK_PARAMETERS.centralEventBusArn]: centralBusArn,
    [MEMBER_STACK_PARAMETERS.detectorRoleArn]: detectorRole.arn,
    [MEMBER_STACK_PARAMETERS.sweepRoleArn]: sweepRole.arn,
    [MEMBER_STACK_PARAMETERS.homeRegion]: REGION,
  };
  for (const role of templateRoles(Template.fromStack(member).toJSON() as TemplateJson, {
    accountId: MEMBER,
    region: REGION,
    parameters,
  })) {
    const label = /ForwardRole/.test(role.logicalId)
      ? 'Member forward'
      : /RestoreRole/.test(role.logicalId)
        ? 'Member restore'
        : 'Member role';
    roles.push({ label, accountId: MEMBER, role });
  }
  for (const role of templateRoles(Template.fromStack(management).toJSON() as TemplateJson, {
    accountId: MANAGEMENT,
    region: REGION,
    parameters,
  })) {
    roles.push({ label: 'Organization reader', accountId: MANAGEMENT, role });
  }
  removeTestApps();

  aws = await EnforcedAws.start([CENTRAL, MEMBER, MANAGEMENT], { trailBucketAccount: CENTRAL });
  for (const { accountId, role } of roles) await aws.createRole(accountId, role);
  // The operator: a role of the central account allowed to assume the restore role.
  await aws.createRole(CENTRAL, {
    logicalId: 'Operator',
    roleName: OPERATOR_ROLE,
    arn: OPERATOR_ARN,
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: `arn:aws:iam::${CENTRAL}:root` } },
      ],
    },
    policies: {
      restore: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleFor('Member restore').role.arn },
        ],
      },
    },
  });
  const admin = aws.admin(CENTRAL);
  await admin.eventBridge.send(new CreateEventBusCommand({ Name: centralBusArn.split('/').pop() as string }));
  await createCanaryWorld(aws, CENTRAL, [...environments.values()], [CENTRAL, MEMBER]);
  // The member stack's forwarding rule, which the sweep's coverage check reads through the member role.
  await deployForwardingRule(aws.admin(MEMBER).eventBridge, centralBusArn);
  const queueName = new URL(environments.get('Central sweep')?.SWEEP_QUEUE_URL as string).pathname
    .split('/')
    .pop();
  const sqs = new SQSClient({ endpoint: aws.endpoint, region: REGION, credentials: admin.credentials });
  ({ QueueUrl: accountQueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: queueName })));
  // The queue's URL on this server, in place of the deployed one.
  environments.set('Central sweep', {
    ...environments.get('Central sweep'),
    SWEEP_QUEUE_URL: accountQueueUrl,
  });
  const memberOu = await organizationWithNestedOu();
  // The StackSet's OU on this server, in place of the deployed one.
  environments.set('Central sweep', { ...environments.get('Central sweep'), MEMBER_OUS: memberOu });
  await admin.cloudTrail.send(
    new CreateTrailCommand({
      Name: 'organization',
      S3BucketName: TRAIL_BUCKET,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
    }),
  );
  await admin.cloudTrail.send(
    new PutEventSelectorsCommand({
      TrailName: 'organization',
      EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }],
    }),
  );
  await admin.cloudTrail.send(new StartLoggingCommand({ Name: 'organization' }));
  usage = new Usage(aws, roles);

  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'unused');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unused');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ createDetector } = await import('../../functions/detector/handler.ts'));
  ({ createSweepHandler } = await import('../../functions/sweep/handler.ts'));
  ({ createClients } = await import('../../functions/adapters/clients.ts'));
  ({ loadConfig } = await import('../../functions/shared/config.ts'));
  ({ createLogger } = await import('../../functions/shared/logger.ts'));
  ({ main } = await import('../../functions/cli/main.ts'));
  vi.unstubAllEnvs();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});

describe('organization, under the templates’ roles on moto enforcing IAM', () => {
  it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))(
    '%s: completes with no AccessDenied',
    async (_, scenario) => {
      await usage.record(scenario);
    },
  );

  it('grants only what IAM’s reference says exists and applies (actions, resources, condition keys)', async () => {
    const problems: string[] = [];
    for (const { label, role } of roles) {
      for (const [name, policy] of Object.entries(role.policies)) {
        problems.push(...(await referenceProblems(policy, 'identity')).map((p) => `${label} ${name}: ${p}`));
      }
      problems.push(
        ...(await referenceProblems(role.trustPolicy, 'trust')).map((p) => `${label} trust: ${p}`),
      );
    }
    expect(problems).toEqual([]);
  });

  it('is what docs/permissions.md shows: each role’s actions, why, and the run that proves each', () => {
    const generated = permissionTables(roles, usage, ORGANIZATION_UNEXERCISED, ACTION_PURPOSES, describeRole);
    expect(documentedSection('organization', generated)).toBe(generated);
  });

  it('needs every action each role is granted, but those listed as unexercised (with the reason)', () => {
    expectEveryGrantUsed(roles, usage, ORGANIZATION_UNEXERCISED);
  });

  it.each(['Central detector', 'Central sweep', 'Member role', 'Member restore', 'Organization reader'])(
    '%s: each needed action removed, its run fails with AccessDenied',
    async (label) => {
      const proven = await expectEachGrantNeeded(aws, roleFor(label), usage, scenarios);
      expect(proven.length).toBeGreaterThan(0);
    },
    REMOVAL_TIMEOUT_MS,
  );
});
