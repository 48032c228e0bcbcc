/**
 * Least privilege, proven on moto enforcing IAM: the single-account stack's roles, created from the synthesized
 * templates, run the real detector and sweep; the CLI runs under a role of exactly its documented permissions.
 * Every run must complete with no AccessDenied, every granted action must be needed by a run (or be listed in
 * UNEXERCISED with the reason), and removing any needed action must make its run fail with AccessDenied.
 */

import {
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { createClients as CreateClients } from '../../functions/adapters/clients.ts';
import type { main as Main } from '../../functions/cli/main.ts';
import type { createDetector as CreateDetector } from '../../functions/detector/handler.ts';
import type { loadConfig as LoadConfig } from '../../functions/shared/config.ts';
import type { createLogger as CreateLogger } from '../../functions/shared/logger.ts';
import type { createSweepHandler as CreateSweepHandler } from '../../functions/sweep/handler.ts';
import { ACTION_PURPOSES, CLI_PERMISSIONS } from '../../infra/permissions.ts';
import { ADMIN_CALLER, canaryEvent, keyEvent } from '../detector/moto-helpers.ts';
import { removeTestApps, synthesizeVariant } from '../infra/synth.ts';
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
import {
  functionEnvironments,
  type PolicyDocument,
  resolveIntrinsics,
  type TemplateRole,
  templateRoles,
} from './template-roles.ts';
import { lambdaServiceGrants } from './unexercised.ts';

const ACCOUNT = '123456789012';
const NOTIFICATION_BUS = 'keywarden-notifications';
const TRUSTED_ISSUER = `arn:aws:iam::${ACCOUNT}:role/provisioner`;
const CONTEXT = {
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:keywarden`,
  awsRequestId: 'enforced',
};
const MODES = ['off', 'dry-run', 'deactivate'] as const;
/**
 * The stacks under test: one per remediation mode, and `approvers`: remediation off with `exemptionApprovers` set,
 * under which both functions read CloudTrail's TagUser history to prove who set an exemption tag.
 */
const VARIANTS = [...MODES, 'approvers'] as const;
type Mode = (typeof VARIANTS)[number];
const remediationOf = (mode: Mode) => (mode === 'approvers' ? 'off' : mode);
/** The exemption approver of the `approvers` stack: a role of the account, allowed to tag users. */
const APPROVER_ARN = `arn:aws:iam::${ACCOUNT}:role/exemption-approver`;
const EXEMPT_TAG = 'keywarden:exempt';
/** The canary table `keywarden coverage --canary-table` reads, with a canary of this account that arrived. */
const CANARY_TABLE = 'keywarden-canary';
const CANARY_SENT_AT = '2026-01-05T10:00:00.000Z';

/** Granted, but no run of KeyWarden's code here exercises them: the Lambda service uses them for the function. */
const SINGLE_ACCOUNT_UNEXERCISED: readonly Unexercised[] = VARIANTS.flatMap((mode) => [
  ...lambdaServiceGrants(`Detector (${mode})`, 'Detector'),
  ...lambdaServiceGrants(`Sweep (${mode})`, 'Sweep'),
]);

// Each action of a role removed in turn, and its run repeated: a dozen runs against moto.
const REMOVAL_TIMEOUT_MS = 240_000;

let aws: EnforcedAws;
const roles: RoleUnderTest[] = [];
const environments = new Map<string, Record<string, string>>();
let cliRole: RoleUnderTest;
/** The deactivate stack's KeyWardenRoleArns output: the roles whose deactivations restore may undo. */
let keywardenRoleArns: string;
let usage: Usage;
let createDetector: typeof CreateDetector;
let createSweepHandler: typeof CreateSweepHandler;
let createClients: typeof CreateClients;
let loadConfig: typeof LoadConfig;
let createLogger: typeof CreateLogger;
let main: typeof Main;
let counter = 0;

const unique = (prefix: string) => `${prefix}-${++counter}`;

/** The CLI operator's role: exactly the documented lists, on every resource (the docs name no resource). */
function cliOperatorRole(): TemplateRole {
  const actions = [
    ...new Set(Object.values(CLI_PERMISSIONS).flatMap((lists) => lists.flatMap((list) => list.actions))),
  ].sort();
  const policy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Documented', Effect: 'Allow', Action: actions, Resource: '*' }],
  };
  return {
    logicalId: 'CliOperator',
    roleName: 'keywarden-cli-operator',
    arn: `arn:aws:iam::${ACCOUNT}:role/keywarden-cli-operator`,
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } },
      ],
    },
    policies: { documented: policy },
  };
}

function describeRole({ label }: RoleUnderTest): string {
  if (label === 'CLI operator') {
    return 'A role made of exactly the lists above, on every resource, running `keywarden scan`, `keywarden restore` and `keywarden coverage`.';
  }
  const [fn, mode] = label.replace(')', '').split(' (');
  if (mode === 'approvers') {
    return `The ${fn?.toLowerCase()} function’s execution role in the single-account stack, \`remediationMode=off\`, \`trustedKeyIssuers\` and \`exemptionApprovers\` set.`;
  }
  return `The ${fn?.toLowerCase()} function’s execution role in the single-account stack, \`remediationMode=${mode}\`${mode === 'off' ? '' : ', with a notification bus'}, \`trustedKeyIssuers\` set.`;
}

function roleFor(label: string): RoleUnderTest {
  const found = roles.find((r) => r.label === label);
  if (found === undefined) throw new Error(`no role ${label}`);
  return found;
}

async function sessionOf(label: string): Promise<Credentials> {
  return aws.session(roleFor(label).role.arn, 'enforced');
}

const admin = () => aws.admin(ACCOUNT);

async function userWithKeys(count: number, options: { tags?: Record<string, string> } = {}) {
  const userName = unique('user');
  await admin().iam.send(
    new CreateUserCommand({
      UserName: userName,
      Tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const { AccessKey } = await admin().iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    keys.push(AccessKey?.AccessKeyId as string);
  }
  return { userName, keys };
}

async function statuses(userName: string): Promise<string[]> {
  const { AccessKeyMetadata = [] } = await admin().iam.send(
    new ListAccessKeysCommand({ UserName: userName }),
  );
  return AccessKeyMetadata.map((key) => key.Status as string).sort();
}

function findingsById(id: string): Promise<AwsSecurityFinding[]> {
  return aws.findingsById(ACCOUNT, id);
}

async function detect(mode: Mode, event: Record<string, unknown>) {
  const session = await sessionOf(`Detector (${mode})`);
  const { value } = await aws.as(session, async () => {
    const logger = createLogger('keywarden-detector', 'SILENT');
    const config = loadConfig(environments.get(`Detector (${mode})`) ?? {});
    return createDetector({
      config,
      clients: createClients({ maxAttempts: 1 }),
      logger,
      sleep: async () => {},
    })(event, CONTEXT);
  });
  return value;
}

async function sweep(mode: Mode, sweepSource: 'credential-report' | 'full') {
  const session = await sessionOf(`Sweep (${mode})`);
  const { value } = await aws.as(session, async () => {
    const logger = createLogger('keywarden-sweep', 'SILENT');
    const config = loadConfig(environments.get(`Sweep (${mode})`) ?? {});
    return createSweepHandler({
      config,
      clients: createClients({ maxAttempts: 1 }),
      logger,
      sleep: async () => {},
    })({ sweepSource }, CONTEXT);
  });
  return value;
}

/** The canary table of the account, as the stack creates it, holding one canary that arrived 2 s after it was sent. */
async function canaryTable(): Promise<void> {
  const dynamo = new DynamoDBClient({
    endpoint: aws.endpoint,
    region: REGION,
    credentials: admin().credentials,
    maxAttempts: 1,
  });
  await dynamo.send(
    new CreateTableCommand({
      TableName: CANARY_TABLE,
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await dynamo.send(
    new PutItemCommand({
      TableName: CANARY_TABLE,
      Item: {
        accountId: { S: ACCOUNT },
        sentAt: { S: CANARY_SENT_AT },
        receivedSentAt: { S: CANARY_SENT_AT },
        receivedAt: { S: '2026-01-05T10:00:02.000Z' },
        delayMs: { N: '2000' },
      },
    }),
  );
}

async function cli(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const session = await aws.session(cliRole.role.arn, 'operator');
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { value: code } = await aws.as(session, () =>
    main(argv, {
      stdout: { write: (text: string) => stdout.push(text) > 0, isTTY: false },
      stderr: { write: (text: string) => stderr.push(text) > 0, isTTY: false },
      env: { ...process.env, ...env },
    }),
  );
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

const findingIdOf = (userName: string) => `keywarden/cis-1.13/${ACCOUNT}/${userName.toLowerCase()}`;

/** The usage evidence of a finding's first key, as read under the role: a summary, or why it is missing. */
async function usageOfFirstKey(userName: string): Promise<string | undefined> {
  const [finding] = await findingsById(findingIdOf(userName));
  return finding?.ProductFields?.['keywarden/detector/key1/usage'];
}

/**
 * Usage evidence never fails the event (a missing cloudtrail:LookupEvents is recorded in the finding as its
 * reason), so these runs check the finding holds the summary itself: without the grant, they fail. First in the
 * list, so they are the runs that prove each role's LookupEvents.
 */
function usageScenarios(mode: Mode): Scenario[] {
  return [
    {
      name: `detector (${mode}): a violation's finding holds each key's usage evidence from CloudTrail`,
      async run() {
        const { userName, keys } = await userWithKeys(2);
        await detect(mode, keyEvent({ userName, accessKeyId: keys[1] }));
        expect(await usageOfFirstKey(userName)).toMatch(/^no management event signed with it in us-east-1/);
      },
    },
    {
      name: `sweep (${mode}): a violation's finding holds each key's usage evidence from CloudTrail`,
      async run() {
        const { userName } = await userWithKeys(2);
        await sweep(mode, 'full');
        expect(await usageOfFirstKey(userName)).toMatch(/^no management event signed with it in us-east-1/);
      },
    },
  ];
}

function detectorScenarios(mode: Mode): Scenario[] {
  return [
    {
      name: `detector (${mode}): a second key makes a violation; the finding is imported`,
      async run() {
        const { userName, keys } = await userWithKeys(2);
        const result = await detect(mode, keyEvent({ userName, accessKeyId: keys[1] }));
        expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', findingImported: true });
        const [finding] = await findingsById(findingIdOf(userName));
        expect(finding?.Compliance?.Status).toBe(mode === 'deactivate' ? 'PASSED' : 'FAILED');
        expect(await statuses(userName)).toEqual(
          mode === 'deactivate' ? ['Active', 'Inactive'] : ['Active', 'Active'],
        );
      },
    },
    {
      name: `detector (${mode}): a key made by another principal raises a threat finding`,
      async run() {
        const { userName, keys } = await userWithKeys(1);
        const result = await detect(mode, keyEvent({ userName, accessKeyId: keys[0], caller: ADMIN_CALLER }));
        expect(result).toMatchObject({ status: 'evaluated' });
        expect(result.status === 'evaluated' && result.threatFindingId).toBeTruthy();
      },
    },
    {
      name: `detector (${mode}): a trusted issuer's key raises no threat finding`,
      async run() {
        const { userName, keys } = await userWithKeys(1);
        const caller = {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/provisioner/ci`,
          issuerArn: TRUSTED_ISSUER,
        };
        const result = await detect(mode, keyEvent({ userName, accessKeyId: keys[0], caller }));
        expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant' });
        expect(result.status === 'evaluated' && result.threatFindingId).toBeFalsy();
      },
    },
    {
      name: `detector (${mode}): KeyWarden's canary arrives: recorded, the coverage finding re-imported`,
      async run() {
        const sweepRole = (environments.get(`Sweep (${mode})`)?.OWN_ROLE_ARNS ?? '').split(',')[1] ?? '';
        const result = await detect(mode, canaryEvent(sweepRole, new Date()));
        expect(result).toMatchObject({ status: 'skipped', reason: 'canary' });
        expect(await findingsById(`keywarden/health/${ACCOUNT}/coverage`)).toHaveLength(1);
      },
    },
    {
      name: `detector (${mode}): a deactivation by the user resolves the open finding`,
      async run() {
        const { userName, keys } = await userWithKeys(2);
        await detect(mode, keyEvent({ userName, accessKeyId: keys[1] }));
        const [first] = await findingsById(findingIdOf(userName));
        const active = (
          await admin().iam.send(new ListAccessKeysCommand({ UserName: userName }))
        ).AccessKeyMetadata?.filter((k) => k.Status === 'Active').map((k) => k.AccessKeyId as string);
        if (first?.Compliance?.Status === 'FAILED' && active?.[0] !== undefined) {
          await admin().iam.send(
            new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: active[0], Status: 'Inactive' }),
          );
        }
        const result = await detect(
          mode,
          keyEvent({ eventName: 'UpdateAccessKey', userName, accessKeyId: active?.[0], status: 'Inactive' }),
        );
        expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant' });
        const [finding] = await findingsById(findingIdOf(userName));
        expect(finding?.Compliance?.Status).toBe('PASSED');
      },
    },
  ];
}

/** The approver's role: trusted by the account, allowed to tag its users. */
function approverRole(): TemplateRole {
  return {
    logicalId: 'ExemptionApprover',
    roleName: 'exemption-approver',
    arn: APPROVER_ARN,
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } },
      ],
    },
    policies: {
      tag: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:TagUser', Resource: `arn:aws:iam::${ACCOUNT}:user/*` }],
      },
    },
  };
}

/** A user with two active keys, exempted for 30 days by `by` (the approver's session, or the administrator). */
async function exemptedUser(by: 'approver' | 'administrator') {
  const user = await userWithKeys(2);
  const until = new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const tagger =
    by === 'approver' ? aws.clientsFor(await aws.session(APPROVER_ARN, 'jane')).iam : admin().iam;
  await tagger.send(
    new TagUserCommand({ UserName: user.userName, Tags: [{ Key: EXEMPT_TAG, Value: until }] }),
  );
  return user;
}

/**
 * Under exemption approvers, who set the tag is proven from CloudTrail's TagUser history (the enforcing moto's:
 * the TagUser calls it authorised), so these runs need the functions' cloudtrail:LookupEvents.
 */
function approverScenarios(): Scenario[] {
  return [
    {
      name: 'detector (approvers): an exemption an approver set, proven from CloudTrail, is honoured',
      async run() {
        const { userName, keys } = await exemptedUser('approver');
        const result = await detect('approvers', keyEvent({ userName, accessKeyId: keys[1] }));
        expect(result).toMatchObject({ status: 'evaluated', verdict: 'exempt' });
        const [finding] = await findingsById(findingIdOf(userName));
        expect(finding?.Compliance?.Status).toBe('WARNING');
        expect(JSON.stringify(finding)).toContain('assumed-role/exemption-approver/jane');
      },
    },
    {
      name: 'detector (approvers): an exemption another principal set is refused',
      async run() {
        const { userName, keys } = await exemptedUser('administrator');
        const result = await detect('approvers', keyEvent({ userName, accessKeyId: keys[1] }));
        expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation' });
        const [finding] = await findingsById(findingIdOf(userName));
        expect(finding?.Compliance?.Status).toBe('FAILED');
        expect(finding?.Severity?.Label).toBe('HIGH');
      },
    },
    {
      name: 'sweep (approvers): an exemption an approver set, proven from CloudTrail, is honoured',
      async run() {
        const { userName } = await exemptedUser('approver');
        const result = await sweep('approvers', 'credential-report');
        expect(result).toMatchObject({ failed: 0 });
        const [finding] = await findingsById(findingIdOf(userName));
        expect(finding?.Compliance?.Status).toBe('WARNING');
      },
    },
  ];
}

function sweepScenarios(mode: Mode): Scenario[] {
  return (['credential-report', 'full'] as const).map((source) => ({
    name: `sweep (${mode}, ${source}): every user checked, the trails checked`,
    async run() {
      const { userName } = await userWithKeys(2);
      const result = await sweep(mode, source);
      expect(result).toMatchObject({ source, failed: 0 });
      const [finding] = await findingsById(findingIdOf(userName));
      expect(finding?.Compliance?.Status).toBe(mode === 'deactivate' ? 'PASSED' : 'FAILED');
    },
  }));
}

const cliScenarios: Scenario[] = [
  {
    name: 'keywarden scan: each violator’s keys carry their usage evidence',
    async run() {
      const { userName } = await userWithKeys(2);
      const { stdout } = await cli(['scan', '--full', '--format', 'json']);
      const report = JSON.parse(stdout) as {
        violations: { userName: string; activeAccessKeys: { usage?: { status: string } }[] }[];
      };
      const mine = report.violations.find((v) => v.userName === userName);
      expect(mine?.activeAccessKeys.map((key) => key.usage?.status)).toEqual(['complete', 'complete']);
    },
  },
  {
    name: 'keywarden scan (credential report)',
    async run() {
      await userWithKeys(2);
      const { code, stdout } = await cli(['scan', '--format', 'json']);
      expect(code).toBe(2);
      expect(JSON.parse(stdout)).toMatchObject({ errors: [], summary: { failed: 0 } });
    },
  },
  {
    name: 'keywarden scan --full --import-findings --remediate --yes',
    async run() {
      const { userName } = await userWithKeys(2);
      const { code, stdout } = await cli([
        'scan',
        '--full',
        '--import-findings',
        '--remediate',
        '--yes',
        '--keep-key',
        'last-used',
        '--format',
        'json',
      ]);
      expect(code).toBe(2);
      expect(JSON.parse(stdout)).toMatchObject({ errors: [], summary: { failed: 0 } });
      expect(await statuses(userName)).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'keywarden restore --yes',
    async run() {
      const { userName, keys } = await userWithKeys(2);
      await detect('deactivate', keyEvent({ userName, accessKeyId: keys[1] }));
      expect(await statuses(userName)).toEqual(['Active', 'Inactive']);
      // The proof comes from the enforcing moto's event history: the detector role's UpdateAccessKey above.
      const { code, stderr } = await cli(['restore', userName, '--yes'], {
        KEYWARDEN_ROLE_ARNS: keywardenRoleArns,
      });
      expect({ code, stderr }).toMatchObject({ code: 0, stderr: '' });
      expect(await statuses(userName)).toEqual(['Active', 'Active']);
      const { User } = await admin().iam.send(new GetUserCommand({ UserName: userName }));
      expect(User?.Tags?.map((t) => t.Key)).toContain('keywarden:exempt');
    },
  },
  {
    name: 'keywarden coverage --canary-table',
    async run() {
      const { code, stdout, stderr } = await cli([
        'coverage',
        '--canary-table',
        CANARY_TABLE,
        '--format',
        'json',
      ]);
      expect({ code, stderr }).toMatchObject({ code: 0 });
      expect(JSON.parse(stdout).accounts).toEqual([
        expect.objectContaining({
          accountId: ACCOUNT,
          covered: true,
          trail: expect.objectContaining({ status: 'ok' }),
          canary: expect.objectContaining({ status: 'ok', sentAt: CANARY_SENT_AT, delayMs: 2000 }),
        }),
      ]);
    },
  },
];

const scenarios: Scenario[] = [
  ...VARIANTS.flatMap(usageScenarios),
  ...VARIANTS.flatMap((mode) => [...detectorScenarios(mode), ...sweepScenarios(mode)]),
  ...approverScenarios(),
  ...cliScenarios,
];

beforeAll(async () => {
  const deployment = { accountId: ACCOUNT, region: REGION };
  for (const mode of VARIANTS) {
    const variant = synthesizeVariant({
      env: { account: ACCOUNT, region: REGION },
      notificationBusName: remediationOf(mode) === 'off' ? undefined : NOTIFICATION_BUS,
      detector: {
        remediationMode: remediationOf(mode),
        trustedKeyIssuers: [TRUSTED_ISSUER],
        ...(mode === 'approvers' ? { exemptionApprovers: [APPROVER_ARN] } : {}),
      },
    });
    const template = variant.template.toJSON() as Parameters<typeof templateRoles>[0];
    const named = { ...deployment, namePrefix: `${mode}-` };
    if (mode === 'deactivate') {
      const { Outputs } = variant.template.toJSON() as { Outputs: Record<string, { Value: unknown }> };
      keywardenRoleArns = String(resolveIntrinsics(template, named, Outputs.KeyWardenRoleArns?.Value));
    }
    for (const role of templateRoles(template, named)) {
      const fn = /SweepRole/.test(role.logicalId)
        ? 'Sweep'
        : /DetectorRole/.test(role.logicalId)
          ? 'Detector'
          : role.logicalId;
      roles.push({ label: `${fn} (${mode})`, accountId: ACCOUNT, role });
    }
    for (const [id, variables] of Object.entries(functionEnvironments(template, named))) {
      const fn = /SweepFunction/.test(id) ? 'Sweep' : 'Detector';
      environments.set(`${fn} (${mode})`, variables);
    }
  }
  removeTestApps();
  cliRole = { label: 'CLI operator', accountId: ACCOUNT, role: cliOperatorRole() };
  roles.push(cliRole);

  aws = await EnforcedAws.start([ACCOUNT]);
  for (const { accountId, role } of roles) await aws.createRole(accountId, role);
  await admin().eventBridge.send(new CreateEventBusCommand({ Name: NOTIFICATION_BUS }));
  await admin().cloudTrail.send(
    new CreateTrailCommand({
      Name: 'management',
      S3BucketName: TRAIL_BUCKET,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
    }),
  );
  await admin().cloudTrail.send(
    new PutEventSelectorsCommand({
      TrailName: 'management',
      EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }],
    }),
  );
  await admin().cloudTrail.send(new StartLoggingCommand({ Name: 'management' }));
  await canaryTable();
  await aws.createRole(ACCOUNT, approverRole());
  await createCanaryWorld(aws, ACCOUNT, [...environments.values()]);
  usage = new Usage(aws, roles);

  // The handler modules prime their clients at import; their own configuration is not used here.
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

describe('single account, under the template’s roles on moto enforcing IAM', () => {
  it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))(
    '%s: completes with no AccessDenied',
    async (_, scenario) => {
      await usage.record(scenario);
    },
  );

  it('grants only what IAM’s reference says exists and applies (actions, resources, condition keys)', async () => {
    const problems: string[] = [];
    for (const { label, role } of roles.filter((r) => r.label !== 'CLI operator')) {
      for (const [name, policy] of Object.entries(role.policies)) {
        problems.push(...(await referenceProblems(policy, 'identity')).map((p) => `${label} ${name}: ${p}`));
      }
      problems.push(
        ...(await referenceProblems(role.trustPolicy, 'trust')).map((p) => `${label} trust: ${p}`),
      );
    }
    expect(problems).toEqual([]);
  });

  it('is what docs/permissions.md shows: the CLI’s lists, and each role’s actions, why, and the run that proves each', () => {
    const cliLists = Object.entries(CLI_PERMISSIONS)
      .map(([command, lists]) =>
        [
          `### \`keywarden ${command}\``,
          '',
          '| When | Actions |',
          '| --- | --- |',
          ...lists.map((list) => `| ${list.when} | ${list.actions.map((a) => `\`${a}\``).join(', ')} |`),
        ].join('\n'),
      )
      .join('\n\n');
    const generated = `${cliLists}\n\n${permissionTables(roles, usage, SINGLE_ACCOUNT_UNEXERCISED, ACTION_PURPOSES, describeRole)}`;
    expect(documentedSection('single-account', generated)).toBe(generated);
  });

  it('needs every action each role is granted, but those listed as unexercised (with the reason)', () => {
    expectEveryGrantUsed(roles, usage, SINGLE_ACCOUNT_UNEXERCISED);
  });

  it.each(VARIANTS.flatMap((mode) => [`Detector (${mode})`, `Sweep (${mode})`]).concat('CLI operator'))(
    '%s: each needed action removed, its run fails with AccessDenied',
    async (label) => {
      const proven = await expectEachGrantNeeded(aws, roleFor(label), usage, scenarios);
      expect(proven.length).toBeGreaterThan(0);
    },
    REMOVAL_TIMEOUT_MS,
  );
});
