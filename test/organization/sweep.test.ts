/**
 * The sweep in organization mode against moto: the central account (the function's own) and member accounts
 * reached through the member role, in one invocation and through the account queue, with the calls counted at
 * the proxy. A moto server of this file's own: a sweep reads every user of each account.
 */

import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GENERATOR_ID } from '../../functions/core/finding.ts';
import { loadConfig, requireSweepAccountSource } from '../../functions/shared/config.ts';
import { ConfigError, InvalidEventError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { SweepError } from '../../functions/sweep/engine.ts';
import { createSweepHandler, type SweepHandlerResult } from '../../functions/sweep/handler.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { MotoAccount } from '../support/moto-accounts.ts';
import { createMotoOrganization } from '../support/moto-organization.ts';
import {
  ACCOUNT_ID as CENTRAL,
  CONTEXT,
  type IsolatedAws,
  REGION,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';

const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';
const MANAGEMENT = '999988887777';
const ROLE = 'KeyWardenMember';
const READER_ARN = `arn:aws:iam::${MANAGEMENT}:role/KeyWardenOrganizationReader`;
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

let aws: IsolatedAws;
let central: MotoAccount;
let memberA: MotoAccount;
let memberB: MotoAccount;

beforeAll(async () => {
  aws = await startIsolatedAws();
  central = new MotoAccount(aws.moto.endpoint, CENTRAL);
  memberA = new MotoAccount(aws.moto.endpoint, MEMBER_A);
  memberB = new MotoAccount(aws.moto.endpoint, MEMBER_B);
  // Member clients and STS take their endpoint from the environment, as on Lambda.
  vi.stubEnv('AWS_ENDPOINT_URL', aws.proxy.endpoint);
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});

beforeEach(async () => {
  await aws.reset();
});

/** Organizations as the management account, straight to moto (not counted by the proxy). */
function managementOrganizations(): OrganizationsClient {
  const organizations = new OrganizationsClient({
    endpoint: aws.moto.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
  organizations.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = MANAGEMENT;
      return next(args);
    },
    { step: 'build', name: 'managementAccount' },
  );
  return organizations;
}

function sweep(env: Record<string, string>) {
  const logger = createLogger('keywarden-sweep-test');
  logger.setLogLevel('SILENT');
  return createSweepHandler({
    config: loadConfig(env),
    clients: aws.clients({ maxAttempts: 1 }),
    cloudTrail: aws.cloudTrail({ maxAttempts: 1 }),
    logger,
    sleep: async () => undefined,
  });
}

/** This generator's findings in `account`'s hub, each valid ASFF for that account. */
async function findingsIn(
  account: MotoAccount,
): Promise<{ id: string; accountId: string; status: string }[]> {
  const found = (await account.findings()).filter((f) => f.GeneratorId === GENERATOR_ID);
  for (const finding of found) expectValidAsff(finding, account.accountId);
  return found
    .map((f) => ({
      id: f.Id as string,
      accountId: f.AwsAccountId as string,
      status: f.Compliance?.Status as string,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

const violation = (accountId: string, userName: string) => ({
  id: `keywarden/cis-1.13/${accountId}/${userName}`,
  accountId,
  status: 'FAILED',
});

function sqsEvent(bodies: readonly string[]): SQSEvent {
  return {
    Records: bodies.map((body, n) => ({
      messageId: `m-${n}`,
      receiptHandle: `r-${n}`,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:${CENTRAL}:keywarden-sweep-accounts`,
      awsRegion: REGION,
    })),
  };
}

/** Counts without the trail check and its health finding: what any account's user sweep costs. */
function userSweepCalls(counts: Record<string, number>): Record<string, number> {
  // The trail check's calls; LookupEvents is the users' usage evidence, read in every account.
  const kept = Object.entries(counts).filter(
    ([operation]) => !operation.startsWith('cloudtrail.') || operation === 'cloudtrail.LookupEvents',
  );
  return Object.fromEntries(kept);
}

describe('organization sweep in one invocation (moto, three accounts)', () => {
  it('sweeps every account it can, writes each member’s findings to its own hub, and names the account it could not', async () => {
    // Prepare: a violator in each account; member B's role cannot be assumed.
    await central.userWithKeys('central-violator', 2);
    await central.userWithKeys('central-fine', 1);
    await memberA.userWithKeys('a-violator', 2, '/team/');
    await memberA.userWithKeys('a-fine', 1);
    await memberB.userWithKeys('b-violator', 2);
    aws.proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied', bodyIncludes: MEMBER_B });
    const handler = sweep({ MEMBER_ROLE_NAME: ROLE, MEMBER_ACCOUNT_IDS: `${MEMBER_A},${MEMBER_B}` });

    // Act
    const outcome = handler({}, CONTEXT);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(SweepError);
    const error = (await outcome.catch((e: unknown) => e)) as SweepError;
    expect(error.failedAccountIds).toEqual([MEMBER_B]);
    expect(error.message).toContain(`in account(s) ${MEMBER_B}`);
    expect(error.message).toContain(`arn:aws:iam::${MEMBER_B}:role/${ROLE}`);
    expect(error.summary).toMatchObject({ usersScanned: 4, violating: 2 });
    expect(await findingsIn(memberA)).toEqual([violation(MEMBER_A, 'a-violator')]);
    expect(await findingsIn(central)).toEqual([violation(CENTRAL, 'central-violator')]);
    expect(await findingsIn(memberB)).toEqual([]);
    // One session per member account, reused for every call of its sweep.
    expect(aws.proxy.count('sts.AssumeRole')).toBe(2);
  });

  it('lists the members with Organizations ListAccounts through the management account’s reader role', async () => {
    // Prepare: an organization of the management account and two new accounts (moto picks their ids).
    const organizations = managementOrganizations();
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const created: string[] = [];
    for (const name of ['workload-one', 'workload-two']) {
      const { CreateAccountStatus } = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
      );
      created.push(CreateAccountStatus?.AccountId as string);
    }
    const members = created.map((id) => new MotoAccount(aws.moto.endpoint, id));
    for (const [n, member] of members.entries()) await member.userWithKeys(`workload-violator-${n}`, 2);
    const handler = sweep({ MEMBER_ROLE_NAME: ROLE, ORGANIZATION_ROLE_ARN: READER_ARN });

    // Act
    const summary = (await handler({}, CONTEXT)) as SweepHandlerResult;

    // Assess: the own account, the management account and both new accounts.
    expect(summary.accounts?.map((a) => a.accountId)).toEqual([CENTRAL, ...[MANAGEMENT, ...created].sort()]);
    expect(summary.accounts?.every((a) => a.status === 'swept')).toBe(true);
    for (const [n, member] of members.entries()) {
      expect(await findingsIn(member)).toEqual([violation(created[n] as string, `workload-violator-${n}`)]);
    }
    // The reader role once, then one member role per member account.
    expect(aws.proxy.count('sts.AssumeRole')).toBe(1 + 3);
    expect(aws.proxy.count('ListAccounts')).toBe(1);
  });

  it('sweeps only the ACTIVE accounts under MEMBER_OUS (nested OUs included) and the management account, and assumes no role outside them', async () => {
    // Prepare: three accounts in two OUs (one nested), a closed one; the StackSet targets `workloads` only.
    const organization = await createMotoOrganization(managementOrganizations());
    const { workload, teamApp, sandbox } = organization.accounts;
    for (const id of [workload, teamApp, sandbox]) {
      await new MotoAccount(aws.moto.endpoint, id).userWithKeys(`violator-${id}`, 2);
    }
    const handler = sweep({
      MEMBER_ROLE_NAME: ROLE,
      ORGANIZATION_ROLE_ARN: READER_ARN,
      MEMBER_OUS: organization.ous.workloads,
    });

    // Act
    const summary = (await handler({}, CONTEXT)) as SweepHandlerResult;

    // Assess: the own account, then the management account (its member stack is deployed by hand) and the
    // ACTIVE accounts of the OU and its child OU; neither the sandbox account nor the closed one.
    const members = [MANAGEMENT, workload, teamApp].sort();
    expect(summary.accounts?.map((a) => a.accountId)).toEqual([CENTRAL, ...members]);
    expect(summary.accounts?.every((a) => a.status === 'swept')).toBe(true);
    expect(await findingsIn(new MotoAccount(aws.moto.endpoint, sandbox))).toEqual([]);
    expect(await findingsIn(new MotoAccount(aws.moto.endpoint, teamApp))).toEqual([
      violation(teamApp, `violator-${teamApp}`),
    ]);
    expect(aws.proxy.count('sts.AssumeRole')).toBe(1 + members.length);
    expect(aws.proxy.count('ListAccounts')).toBe(0);
  });

  it('with MEMBER_ACCOUNT_IDS as well, sweeps only the listed accounts under MEMBER_OUS, as the StackSet deploys', async () => {
    // Prepare: the allow-list names an account of the OU's nested OU and the sandbox account outside the OU.
    const organization = await createMotoOrganization(managementOrganizations());
    const { teamApp, sandbox } = organization.accounts;
    const handler = sweep({
      MEMBER_ROLE_NAME: ROLE,
      ORGANIZATION_ROLE_ARN: READER_ARN,
      MEMBER_OUS: organization.ous.workloads,
      MEMBER_ACCOUNT_IDS: `${teamApp},${sandbox}`,
    });

    // Act
    const summary = (await handler({}, CONTEXT)) as SweepHandlerResult;

    // Assess: the StackSet's INTERSECTION gives the sandbox account no member stack, so no role is assumed there.
    expect(summary.accounts?.map((a) => a.accountId)).toEqual([CENTRAL, teamApp]);
    expect(aws.proxy.count('sts.AssumeRole')).toBe(1 + 1);
  });

  it('fails the cold start of an organization sweep that cannot tell its members', async () => {
    vi.stubEnv('MEMBER_ROLE_NAME', ROLE);
    try {
      vi.resetModules();
      await expect(import('../../functions/sweep/handler.ts')).rejects.toThrow(
        /MEMBER_ROLE_NAME is set but neither MEMBER_ACCOUNT_IDS nor ORGANIZATION_ROLE_ARN is/,
      );
    } finally {
      vi.stubEnv('MEMBER_ROLE_NAME', undefined);
    }
  });
});

describe('organization sweep through the account queue (moto)', () => {
  async function accountQueue(): Promise<{ url: string; sqs: SQSClient }> {
    const sqs = new SQSClient({ endpoint: aws.proxy.endpoint, region: REGION, credentials: CREDENTIALS });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'keywarden-sweep-accounts' }));
    aws.proxy.reset();
    // moto names its own address in the URL, and the SDK sends to the URL's host: the proxy's, so it counts.
    const url = new URL(new URL(QueueUrl as string).pathname, aws.proxy.endpoint).toString();
    return { url, sqs };
  }

  async function receiveAll(sqs: SQSClient, url: string): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return bodies;
      bodies.push(...Messages.map((message) => message.Body as string));
    }
  }

  it('queues one message per account on schedule and sweeps none itself', async () => {
    // Prepare
    await memberA.userWithKeys('queued-violator', 2);
    const { url, sqs } = await accountQueue();
    const handler = sweep({
      MEMBER_ROLE_NAME: ROLE,
      MEMBER_ACCOUNT_IDS: `${MEMBER_B},${MEMBER_A}`,
      SWEEP_QUEUE_URL: url,
    });

    // Act
    const result = await handler({ sweepSource: 'full' }, CONTEXT);

    // Assess
    expect(result).toEqual({ source: 'full', accountsQueued: 3 });
    const bodies = (await receiveAll(sqs, url)).map((body) => JSON.parse(body));
    expect(bodies).toEqual([
      { accountId: CENTRAL, sweepSource: 'full' },
      { accountId: MEMBER_A, sweepSource: 'full' },
      { accountId: MEMBER_B, sweepSource: 'full' },
    ]);
    expect(aws.proxy.countsByOperation()['sqs.SendMessageBatch']).toBe(1);
    expect(aws.proxy.count('sts.AssumeRole')).toBe(0);
    expect(await findingsIn(memberA)).toEqual([]);
  });

  it('sweeps the one account of a message through its member role, at the own account’s budget plus one AssumeRole', async () => {
    // Prepare: the same users in the central account and in member A.
    const seedBoth = async () => {
      for (const account of [central, memberA]) {
        await account.userWithKeys('budget-violator', 2);
        for (let n = 0; n < 4; n++) await account.userWithKeys(`budget-fine-${n}`, n % 2);
      }
    };
    await seedBoth();
    const handler = sweep({
      MEMBER_ROLE_NAME: ROLE,
      MEMBER_ACCOUNT_IDS: MEMBER_A,
      SWEEP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q',
    });
    await sweep({})({}, CONTEXT);
    const single = userSweepCalls(aws.proxy.countsByOperation());
    await aws.reset();
    await seedBoth();

    // Act
    const summary = (await handler(
      sqsEvent([JSON.stringify({ accountId: MEMBER_A, sweepSource: 'credential-report' })]),
      CONTEXT,
    )) as SweepHandlerResult;

    // Assess
    expect(summary).toMatchObject({
      usersScanned: 5,
      violating: 1,
      accounts: [{ accountId: MEMBER_A, status: 'swept' }],
    });
    expect(await findingsIn(memberA)).toEqual([violation(MEMBER_A, 'budget-violator')]);
    expect(await findingsIn(central)).toEqual([]);
    // The member has no trail check (its health finding's read and import), and one AssumeRole more.
    const member = aws.proxy.countsByOperation();
    console.info(
      `[organization] calls for one member account's sweep (5 users, 1 violator): ${JSON.stringify(member)}`,
    );
    expect(member).toEqual({
      ...single,
      'securityhub.GetFindings': (single['securityhub.GetFindings'] ?? 0) - 1,
      'securityhub.BatchImportFindings': (single['securityhub.BatchImportFindings'] ?? 0) - 1,
      'sts.AssumeRole': 1,
    });
  });

  it('fails the message of an account whose member role cannot be assumed, so SQS receives it again', async () => {
    aws.proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied' });
    const handler = sweep({
      MEMBER_ROLE_NAME: ROLE,
      MEMBER_ACCOUNT_IDS: MEMBER_B,
      SWEEP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q',
    });

    const outcome = handler(
      sqsEvent([JSON.stringify({ accountId: MEMBER_B, sweepSource: 'credential-report' })]),
      CONTEXT,
    );

    await expect(outcome).rejects.toBeInstanceOf(SweepError);
    await expect(outcome).rejects.toMatchObject({ failedAccountIds: [MEMBER_B] });
    expect(aws.proxy.countsByOperation()).toEqual({ 'sts.AssumeRole': 1 });
  });

  it.each([
    {
      case: 'an account outside MEMBER_ACCOUNT_IDS',
      body: JSON.stringify({ accountId: MEMBER_B, sweepSource: 'full' }),
    },
    { case: 'a body that is no account message', body: '{"hello":"world"}' },
  ])('refuses $case with InvalidEventError and no AWS call', async ({ body }) => {
    const handler = sweep({
      MEMBER_ROLE_NAME: ROLE,
      MEMBER_ACCOUNT_IDS: MEMBER_A,
      SWEEP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q',
    });

    await expect(handler(sqsEvent([body]), CONTEXT)).rejects.toBeInstanceOf(InvalidEventError);
    expect(aws.proxy.count()).toBe(0);
  });
});

describe('requireSweepAccountSource', () => {
  it('is a ConfigError naming both variables when neither source of members is set', async () => {
    expect(() => requireSweepAccountSource(loadConfig({ MEMBER_ROLE_NAME: ROLE }))).toThrow(ConfigError);
    expect(() => requireSweepAccountSource(loadConfig({ MEMBER_ROLE_NAME: ROLE }))).toThrow(
      /MEMBER_ACCOUNT_IDS nor ORGANIZATION_ROLE_ARN/,
    );
    expect(() => requireSweepAccountSource(loadConfig({}))).not.toThrow();
    expect(() =>
      requireSweepAccountSource(loadConfig({ MEMBER_ROLE_NAME: ROLE, MEMBER_ACCOUNT_IDS: MEMBER_A })),
    ).not.toThrow();
  });
});
