/**
 * `keywarden scan --accounts` and `--organization` run as a process against a moto server of their own, through the
 * counting proxy: the caller's account and member accounts reached through the member role.
 */

import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { MotoAccount } from '../support/moto-accounts.ts';
import { createMotoOrganization } from '../support/moto-organization.ts';
import {
  ACCOUNT_ID as CALLER,
  type IsolatedAws,
  iamCalls,
  type ProcessResult,
  REGION,
  run,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';

const BIN = 'functions/cli/bin.mjs';
const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';
const MEMBER_C = '777788889999';
const ROLE = 'KeyWardenMember';

interface Entry {
  accountId: string;
  name: string | null;
  via: string;
  status: string;
  violations: { userName: string; userArn: string; action: string }[];
  errors: { stage: string; message: string }[];
  summary: Record<string, number> | null;
}

describe('keywarden scan --accounts / --organization (process, three accounts)', () => {
  let aws: IsolatedAws;
  const account = (accountId: string): MotoAccount => new MotoAccount(aws.moto.endpoint, accountId);
  const keywarden = (args: string[]): Promise<ProcessResult> =>
    run('node', [BIN, 'scan', ...args], { AWS_ENDPOINT_URL: aws.proxy.endpoint });
  const entries = (result: ProcessResult): Entry[] => JSON.parse(result.stdout).accounts;

  beforeAll(async () => {
    aws = await startIsolatedAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });
  beforeEach(async () => {
    await aws.reset();
  });

  it('scans the accounts that can be scanned, names the one whose role cannot be assumed, and exits 1', async () => {
    // Prepare
    await account(MEMBER_A).userWithKeys('a-two', 2);
    await account(MEMBER_B).userWithKeys('b-one', 1);
    await account(MEMBER_C).userWithKeys('c-two', 2);
    aws.proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied', bodyIncludes: MEMBER_C });

    // Act
    const result = await keywarden([
      '--accounts',
      `${MEMBER_A},${MEMBER_B},${MEMBER_C}`,
      '--role-name',
      ROLE,
    ]);

    // Assess
    expect(result.code, result.stderr).toBe(1);
    const [a, b, c] = entries(result);
    expect([a, b, c].map((entry) => [entry?.accountId, entry?.status])).toEqual([
      [MEMBER_A, 'scanned'],
      [MEMBER_B, 'scanned'],
      [MEMBER_C, 'failed'],
    ]);
    expect(a?.violations).toEqual([
      expect.objectContaining({ userName: 'a-two', userArn: `arn:aws:iam::${MEMBER_A}:user/a-two` }),
    ]);
    expect(b).toMatchObject({ violations: [], errors: [], summary: { usersScanned: 1, compliant: 1 } });
    expect(c).toMatchObject({
      violations: [],
      summary: null,
      errors: [
        { stage: 'account', message: expect.stringContaining(`arn:aws:iam::${MEMBER_C}:role/${ROLE}`) },
      ],
    });
    expect(JSON.parse(result.stdout).summary).toMatchObject({
      accounts: 3,
      accountsScanned: 2,
      accountsFailed: 1,
      violating: 1,
    });
    // Progress per account, and the failed account named with its error.
    expect(result.stderr).toContain(`[${MEMBER_A}] Generating the IAM credential report…`);
    expect(result.stderr).toContain(
      `[${MEMBER_B}] Summary: 1 users scanned, 1 compliant, 0 violating, 0 exempt.`,
    );
    expect(result.stderr).toContain(
      `keywarden: account ${MEMBER_C} could not be scanned: Could not assume the member role arn:aws:iam::${MEMBER_C}:role/${ROLE} (AccessDenied: injected fault): check that the role exists in account ${MEMBER_C}`,
    );
  });

  it('exits 2 with violations in two accounts, scanning the caller’s own with its own credentials and each member with one session', async () => {
    // Prepare
    await account(MEMBER_A).userWithKeys('a-two', 2);
    await account(MEMBER_A).userWithKeys('a-one', 1);
    await account(MEMBER_B).userWithKeys('b-one', 1);
    await aws.seed([{ userName: 'own-two', path: '/ops/', activeKeys: 2 }]);
    let cliSessions = 0;
    aws.proxy.inject({
      operation: 'AssumeRole',
      bodyIncludes: 'RoleSessionName=keywarden-cli',
      hook: () => {
        cliSessions += 1;
      },
    });

    // Act
    const result = await keywarden(['--accounts', `${MEMBER_A},${CALLER},${MEMBER_B}`, '--role-name', ROLE]);

    // Assess
    expect(result.code, result.stderr).toBe(2);
    expect(
      entries(result).map((entry) => [entry.accountId, entry.via, entry.violations.map((v) => v.userArn)]),
    ).toEqual([
      [MEMBER_A, 'member-role', [`arn:aws:iam::${MEMBER_A}:user/a-two`]],
      [CALLER, 'own', [`arn:aws:iam::${CALLER}:user/ops/own-two`]],
      [MEMBER_B, 'member-role', []],
    ]);
    expect(JSON.parse(result.stdout).summary).toMatchObject({
      accounts: 3,
      accountsFailed: 0,
      accountsWithViolations: 2,
      usersScanned: 4,
      violating: 2,
    });
    // One AssumeRole per member account, named keywarden-cli, for every call made there; none for the caller's.
    expect(aws.proxy.count('AssumeRole')).toBe(2);
    expect(cliSessions).toBe(2);
    console.info(`[scan --accounts] calls for 3 accounts: ${JSON.stringify(aws.proxy.countsByOperation())}`);
    expect(iamCalls(aws.proxy)).toMatchObject({ GetCredentialReport: 3 });
    expect(iamCalls(aws.proxy).ListAccessKeys).toBeGreaterThanOrEqual(2);
  });

  it('renders a table section per account, in the order given, and the total', async () => {
    // Prepare
    await account(MEMBER_A).userWithKeys('a-two', 2);
    await account(MEMBER_B).userWithKeys('b-one', 1);

    // Act
    const result = await keywarden([
      '--accounts',
      `${MEMBER_B},${MEMBER_A}`,
      '--role-name',
      ROLE,
      '--format',
      'table',
    ]);

    // Assess
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout.split('\n').filter((line) => line.startsWith('=== '))).toEqual([
      expect.stringMatching(new RegExp(`^=== Account ${MEMBER_B} · through role ${ROLE} · candidates from`)),
      expect.stringMatching(new RegExp(`^=== Account ${MEMBER_A} · through role ${ROLE} · candidates from`)),
      '=== Total',
    ]);
    expect(result.stdout).toMatch(new RegExp(`^a-two +arn:aws:iam::${MEMBER_A}:user/a-two +`, 'm'));
    expect(result.stdout).toContain(`2 accounts: 2 scanned, 1 with violations (${MEMBER_A}).`);
  });

  it('with --import-findings and --remediate --yes, acts inside each member: its own hub, its own keys, none in the caller’s hub', async () => {
    // Prepare
    const memberA = account(MEMBER_A);
    const memberB = account(MEMBER_B);
    const [oldestA, newestA] = await memberA.userWithKeys('fix-a', 2);
    await memberB.userWithKeys('fix-b', 2);

    // Act
    const result = await keywarden([
      '--accounts',
      `${MEMBER_A},${MEMBER_B}`,
      '--role-name',
      ROLE,
      '--import-findings',
      '--remediate',
      '--yes',
    ]);

    // Assess
    expect(result.code, result.stderr).toBe(2);
    expect(entries(result).map((entry) => entry.violations.map((v) => v.action))).toEqual([
      ['deactivated'],
      ['deactivated'],
    ]);
    expect(await memberA.statusOf('fix-a')).toEqual({
      [oldestA as string]: 'Inactive',
      [newestA as string]: 'Active',
    });
    const [findingA, ...moreA] = await memberA.findingsOf('fix-a');
    expect(moreA).toEqual([]);
    expectValidAsff(findingA, MEMBER_A);
    expect(findingA).toMatchObject({
      AwsAccountId: MEMBER_A,
      ProductArn: `arn:aws:securityhub:${REGION}:${MEMBER_A}:product/${MEMBER_A}/default`,
    });
    expect(await memberB.findingsOf('fix-b')).toMatchObject([{ AwsAccountId: MEMBER_B }]);
    expect(await memberA.findingsOf('fix-b', MEMBER_B)).toEqual([]);
    expect(await account(CALLER).findings()).toEqual([]);
  });

  it('--organization scans every ACTIVE account of the organization, the management account with its own credentials', async () => {
    // Prepare: the caller's account creates the organization, so it is the management account.
    const organizations = new OrganizationsClient({
      endpoint: aws.moto.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const created: string[] = [];
    for (const name of ['Production', 'Sandbox']) {
      const { CreateAccountStatus } = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name.toLowerCase()}@example.com` }),
      );
      created.push(CreateAccountStatus?.AccountId as string);
    }
    const [production, sandbox] = created as [string, string];
    await account(production).userWithKeys('prod-two', 2);
    await account(sandbox).userWithKeys('sandbox-one', 1);
    await aws.seed([{ userName: 'management-one', activeKeys: 1 }]);

    // Act
    const result = await keywarden(['--organization', '--role-name', ROLE]);

    // Assess
    expect(result.code, result.stderr).toBe(2);
    const byId = [
      [CALLER, 'own', []],
      [production, 'member-role', ['prod-two']],
      [sandbox, 'member-role', []],
    ].sort(([a], [b]) => String(a).localeCompare(String(b)));
    expect(
      entries(result).map((entry) => [entry.accountId, entry.via, entry.violations.map((v) => v.userName)]),
    ).toEqual(byId);
    expect(entries(result).find((entry) => entry.accountId === production)?.name).toBe('Production');
    expect(JSON.parse(result.stdout)).toMatchObject({ accountsFrom: 'organization', roleName: ROLE });
    expect(aws.proxy.count('ListAccounts')).toBe(1);
    expect(aws.proxy.count('AssumeRole')).toBe(2);
  });

  it('--organization --ous scans only the ACTIVE accounts under those OUs, nested OUs included', async () => {
    // Prepare: the caller's account is the management account, outside the OUs; three accounts in two OUs.
    const organizations = new OrganizationsClient({
      endpoint: aws.moto.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { ous, accounts } = await createMotoOrganization(organizations);
    await account(accounts.teamApp).userWithKeys('team-two', 2);
    await account(accounts.sandbox).userWithKeys('sandbox-two', 2);

    // Act
    const result = await keywarden(['--organization', '--ous', ous.workloads, '--role-name', ROLE]);

    // Assess: not the sandbox account, not the closed one, not the caller's own (outside the OUs).
    expect(result.code, result.stderr).toBe(2);
    expect(
      entries(result).map((entry) => [entry.accountId, entry.via, entry.violations.map((v) => v.userName)]),
    ).toEqual(
      [
        [accounts.workload, 'member-role', []],
        [accounts.teamApp, 'member-role', ['team-two']],
      ].sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    expect(JSON.parse(result.stdout)).toMatchObject({
      accountsFrom: 'organization',
      organizationalUnits: [ous.workloads],
    });
    expect(result.stderr).toContain(
      `Listing the ACTIVE accounts under ${ous.workloads}, nested OUs included`,
    );
    expect(aws.proxy.count('ListAccounts')).toBe(0);
    expect(aws.proxy.count('ListAccountsForParent')).toBe(2);
    expect(aws.proxy.count('ListOrganizationalUnitsForParent')).toBe(2);
    expect(aws.proxy.count('AssumeRole')).toBe(2);
  });

  it('--ous naming an OU that does not exist exits 1 and scans nothing', async () => {
    const organizations = new OrganizationsClient({
      endpoint: aws.moto.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await createMotoOrganization(organizations);

    const result = await keywarden(['--organization', '--ous', 'ou-zz99-doesnotexist', '--role-name', ROLE]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("An OU of --ous is not in the caller's organization");
    expect(aws.proxy.count('AssumeRole')).toBe(0);
  });

  it('exits 1, having scanned nothing, when the caller’s account is in no organization', async () => {
    // Prepare: moto lists accounts without an organization; AWS answers this.
    aws.proxy.inject({ operation: 'ListAccounts', status: 400, code: 'AWSOrganizationsNotInUseException' });

    // Act
    const result = await keywarden(['--organization', '--role-name', ROLE]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      "keywarden: The caller's account is not in an organization (AWSOrganizationsNotInUseException): name the accounts with --accounts",
    );
    expect(aws.proxy.count('AssumeRole')).toBe(0);
    expect(Object.keys(iamCalls(aws.proxy))).toEqual([]);
  });
});
