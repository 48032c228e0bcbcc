import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccountPorts } from '../../functions/adapters/account-ports.ts';
import { createClients } from '../../functions/adapters/clients.ts';
import { createAccountClients } from '../../functions/adapters/member-accounts.ts';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding } from '../../functions/core/finding.ts';
import type { AccountTarget } from '../../functions/core/organization.ts';
import { AsffValidationError, MemberRoleError } from '../../functions/shared/errors.ts';
import { ACCOUNT, EVENT_TRIGGER, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from '../core/builders.ts';

const sts = mockClient(STSClient);
const securityHub = mockClient(SecurityHubClient);
const OWN = createClients({ region: 'us-east-1' });
const MEMBER: AccountTarget = {
  account: { accountId: '111122223333', partition: 'aws', region: 'us-east-1' },
  via: 'member-role',
};
const OTHER: AccountTarget = {
  account: { ...MEMBER.account, accountId: '444455556666' },
  via: 'member-role',
};
const START = Date.parse('2026-06-01T12:00:00Z');

function session(expiresInMs: number) {
  return {
    Credentials: {
      AccessKeyId: 'ASIAMEMBER0000000001',
      SecretAccessKey: 'secret',
      SessionToken: 'token',
      Expiration: new Date(START + expiresInMs),
    },
  };
}

let now = START;
beforeEach(() => {
  sts.reset();
  securityHub.reset();
  now = START;
});
afterEach(() => {
  sts.reset();
});

function accounts(options: { memberRoleName?: string } = { memberRoleName: 'KeyWardenMember' }) {
  return createAccountClients({
    own: OWN,
    memberRoleName: options.memberRoleName,
    sessionName: 'keywarden-detector',
    sts: async () => new STSClient({ region: 'us-east-1' }),
    now: () => now,
  });
}

describe('createAccountClients', () => {
  it('returns the function’s own clients for its own account, with no AssumeRole', async () => {
    const clients = await accounts().clientsFor({ account: ACCOUNT, via: 'own' });
    expect(clients).toBe(OWN);
    expect(sts.calls()).toHaveLength(0);
  });

  it('assumes the member role by its ARN with a session name naming KeyWarden', async () => {
    sts.on(AssumeRoleCommand).resolves(session(3_600_000));
    const clients = await accounts().clientsFor(MEMBER);
    expect(clients).not.toBe(OWN);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: 'arn:aws:iam::111122223333:role/KeyWardenMember',
      RoleSessionName: 'keywarden-detector',
      DurationSeconds: 3600,
    });
    expect(await clients.iam.config.credentials()).toMatchObject({
      accessKeyId: 'ASIAMEMBER0000000001',
      sessionToken: 'token',
    });
  });

  it('reuses a session until five minutes before it expires, then assumes the role again', async () => {
    sts.on(AssumeRoleCommand).resolves(session(3_600_000));
    const adapter = accounts();
    const first = await adapter.clientsFor(MEMBER);
    now = START + 3_600_000 - 5 * 60_000 - 1;
    const beforeMargin = await adapter.clientsFor(MEMBER);
    now = START + 3_600_000 - 5 * 60_000 + 1;
    sts.on(AssumeRoleCommand).resolves(session(2 * 3_600_000));
    const renewed = await adapter.clientsFor(MEMBER);
    expect(beforeMargin).toBe(first);
    expect(renewed).not.toBe(first);
    expect(adapter.assumeRoleCalls).toBe(2);
  });

  it('keeps one session per account and shares one AssumeRole between concurrent requests', async () => {
    sts.on(AssumeRoleCommand).resolves(session(3_600_000));
    const adapter = accounts();
    const [a1, a2, b] = await Promise.all([
      adapter.clientsFor(MEMBER),
      adapter.clientsFor(MEMBER),
      adapter.clientsFor(OTHER),
    ]);
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
    expect(sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input.RoleArn)).toEqual([
      'arn:aws:iam::111122223333:role/KeyWardenMember',
      'arn:aws:iam::444455556666:role/KeyWardenMember',
    ]);
  });

  it('throws MemberRoleError naming the account, the role and the code, and forgets the failure', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(
        new STSServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: {},
          message: 'not trusted',
        }),
      )
      .resolves(session(3_600_000));
    const adapter = accounts();
    const failed = adapter.clientsFor(MEMBER);
    await expect(failed).rejects.toBeInstanceOf(MemberRoleError);
    await expect(failed).rejects.toMatchObject({
      accountId: '111122223333',
      roleArn: 'arn:aws:iam::111122223333:role/KeyWardenMember',
      code: 'AccessDenied',
    });
    await expect(adapter.clientsFor(MEMBER)).resolves.toBeDefined();
    expect(adapter.assumeRoleCalls).toBe(2);
  });

  it('throws MemberRoleError when STS answers without credentials', async () => {
    sts.on(AssumeRoleCommand).resolves({});
    await expect(accounts().clientsFor(MEMBER)).rejects.toMatchObject({
      name: 'MemberRoleError',
      code: 'NoCredentials',
    });
  });

  it('refuses a member target without a member role name', async () => {
    await expect(accounts({}).clientsFor(MEMBER)).rejects.toBeInstanceOf(MemberRoleError);
    expect(sts.calls()).toHaveLength(0);
  });
});

describe('createAccountPorts', () => {
  const action = { kind: 'none' as const };
  const findingFor = (accountId: string) => {
    const evaluation = evaluateUser('alice', snapshot([OLD_KEY, NEW_KEY]), POLICY, NOW);
    if (evaluation.verdict === 'user-gone') throw new Error('unexpected user-gone');
    return buildFinding({
      account: { ...ACCOUNT, accountId },
      evaluation,
      action,
      trigger: EVENT_TRIGGER,
      updatedAt: NOW,
    });
  };

  it('sends a member’s finding with the member’s clients, and refuses one naming another account', async () => {
    sts.on(AssumeRoleCommand).resolves(session(3_600_000));
    securityHub
      .on(BatchImportFindingsCommand)
      .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    const portsFor = createAccountPorts({
      own: OWN,
      memberRoleName: 'KeyWardenMember',
      sessionName: 'keywarden-detector',
      sts: async () => new STSClient({ region: 'us-east-1' }),
      now: () => now,
    });
    const { findings } = await portsFor(MEMBER);

    await findings.importFindings([findingFor('111122223333')]);
    const refused = findings.importFindings([findingFor(ACCOUNT.accountId)]);

    await expect(refused).rejects.toBeInstanceOf(AsffValidationError);
    await expect(refused).rejects.toThrow('AwsAccountId must be the calling account 111122223333');
    expect(securityHub.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
  });
});
