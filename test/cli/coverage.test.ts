/**
 * `keywarden coverage` run as a process against a moto server of its own, through the counting proxy: the caller's
 * account and two members, each member's forwarding rule read through its member role, the caller's trail, and the
 * canary ledger in the caller's account.
 */

import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DisableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FORWARDING_RULE_NAME } from '../../functions/shared/constants.ts';
import { deployForwardingRule as putForwardingRule } from '../support/forwarding-rule.ts';
import { inMotoAccount } from '../support/moto-accounts.ts';
import { createMotoOrganization } from '../support/moto-organization.ts';
import {
  ACCOUNT_ID as CALLER,
  type IsolatedAws,
  type ProcessResult,
  REGION,
  run,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';

const BIN = 'functions/cli/bin.mjs';
const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';
const ROLE = 'KeyWardenMember';
const BUS = `arn:aws:events:${REGION}:${CALLER}:event-bus/keywarden-organization`;
const TABLE = 'keywarden-canary';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

interface Check {
  status: string;
  detail: string;
}
interface Row {
  accountId: string;
  via: string;
  covered: boolean;
  role: Check;
  forwardingRule: Check;
  trail: Check;
  canary: Check & { sentAt: string | null; receivedAt: string | null; delayMs: number | null };
}

let aws: IsolatedAws;

beforeAll(async () => {
  aws = await startIsolatedAws();
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  await aws.reset();
});

const direct = () => ({ endpoint: aws.moto.endpoint, region: REGION, credentials: CREDENTIALS });

/** The forwarding rule the member stack deploys: the detector's pattern, to the central bus. */
async function deployForwardingRule(accountId: string): Promise<EventBridgeClient> {
  const events = inMotoAccount(new EventBridgeClient(direct()), accountId);
  await putForwardingRule(events, BUS, `arn:aws:iam::${accountId}:role/forward`);
  return events;
}

/** The caller's trail and both members' rules, all intact. */
async function intactDeployment(): Promise<EventBridgeClient> {
  await aws.createTrail({ name: 'management', multiRegion: true });
  const eventsA = await deployForwardingRule(MEMBER_A);
  await deployForwardingRule(MEMBER_B);
  return eventsA;
}

const keywarden = (args: string[]): Promise<ProcessResult> =>
  run('node', [BIN, 'coverage', ...args], { AWS_ENDPOINT_URL: aws.proxy.endpoint });
const threeAccounts = ['--accounts', `${CALLER},${MEMBER_A},${MEMBER_B}`, '--role-name', ROLE, '--bus', BUS];
const rows = (result: ProcessResult): Row[] => JSON.parse(result.stdout).accounts;
const byAccount = (result: ProcessResult) => new Map(rows(result).map((row) => [row.accountId, row]));

// What the command may call: reads only (no import, no canary, no change to a rule).
const READS =
  /^(sts\.(GetCallerIdentity|AssumeRole)|events\.(DescribeRule|ListTargetsByRule)|cloudtrail\.(DescribeTrails|GetTrailStatus|GetEventSelectors)|DynamoDB_20120810\.GetItem)$/;

describe('keywarden coverage (process, three accounts on moto)', () => {
  it('exits 0 when every account is covered, reading only, one member session each', async () => {
    // Prepare
    await intactDeployment();

    // Act
    const result = await keywarden([...threeAccounts, '--format', 'json']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(rows(result).map((row) => [row.accountId, row.via, row.covered])).toEqual([
      [CALLER, 'own', true],
      [MEMBER_A, 'member-role', true],
      [MEMBER_B, 'member-role', true],
    ]);
    const [own, memberA] = rows(result);
    expect(own?.trail).toEqual({
      status: 'ok',
      detail: expect.stringContaining('trail/management delivers them'),
    });
    expect(memberA?.forwardingRule).toEqual({
      status: 'ok',
      detail: "ENABLED, the detector's pattern, targets the central bus",
    });
    expect(memberA?.canary.detail).toBe('not read (no --canary-table)');
    const calls = aws.proxy.countsByOperation();
    expect(Object.keys(calls).filter((operation) => !READS.test(operation))).toEqual([]);
    expect(calls).toMatchObject({ 'events.DescribeRule': 2, 'events.ListTargetsByRule': 2 });
    expect(aws.proxy.count('AssumeRole')).toBe(2);
  });

  it('exits 1 when a member’s forwarding rule is disabled, and that row says why', async () => {
    // Prepare
    const eventsA = await intactDeployment();
    await eventsA.send(new DisableRuleCommand({ Name: FORWARDING_RULE_NAME }));

    // Act
    const result = await keywarden([...threeAccounts, '--format', 'json']);

    // Assess
    expect(result.code, result.stderr).toBe(1);
    const found = byAccount(result);
    expect(found.get(MEMBER_A)).toMatchObject({
      covered: false,
      role: { status: 'ok' },
      forwardingRule: { status: 'failed', detail: `the forwarding rule ${FORWARDING_RULE_NAME} is DISABLED` },
    });
    expect([found.get(CALLER)?.covered, found.get(MEMBER_B)?.covered]).toEqual([true, true]);
    expect(JSON.parse(result.stdout).summary).toEqual({ accounts: 3, covered: 2, notCovered: 1 });
    expect(result.stderr).toContain(
      `keywarden: account ${MEMBER_A} is not covered: the forwarding rule ${FORWARDING_RULE_NAME} is DISABLED\n`,
    );
  });

  it('reports an unassumable member role in that account’s row, FAILED, and still checks the others', async () => {
    // Prepare
    await intactDeployment();
    aws.proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied', bodyIncludes: MEMBER_B });

    // Act
    const result = await keywarden([...threeAccounts, '--format', 'table']);

    // Assess
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^${MEMBER_B} +NO +FAILED +- +- +-$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^${MEMBER_A} +yes +ok +ok +- +-$`, 'm'));
    expect(result.stdout).toContain(
      `  role             FAILED: could not be assumed (AccessDenied: could not assume arn:aws:iam::${MEMBER_B}:role/${ROLE} in account ${MEMBER_B}: AccessDenied: injected fault)`,
    );
    expect(result.stdout).toContain(`3 accounts: 1 not covered (${MEMBER_B}).`);
  });

  it('exits 1 for the caller’s own account when no trail delivers IAM’s events', async () => {
    // Act: no trail at all
    const result = await keywarden(['--format', 'json']);

    // Assess
    expect(result.code, result.stderr).toBe(1);
    expect(rows(result)).toEqual([
      expect.objectContaining({
        accountId: CALLER,
        covered: false,
        trail: { status: 'failed', detail: "no trail delivers IAM's management write events" },
      }),
    ]);
  });

  it('reads the canary ledger: a canary received shows its delay, one never received is FAILED', async () => {
    // Prepare
    await intactDeployment();
    const dynamo = inMotoAccount(new DynamoDBClient(direct()), CALLER);
    await dynamo.send(
      new CreateTableCommand({
        TableName: TABLE,
        KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const arrived = new Date(Date.parse(hourAgo) + 3_500).toISOString();
    await dynamo.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          accountId: { S: MEMBER_A },
          sentAt: { S: hourAgo },
          receivedSentAt: { S: hourAgo },
          receivedAt: { S: arrived },
          delayMs: { N: '3500' },
        },
      }),
    );
    await dynamo.send(
      new PutItemCommand({ TableName: TABLE, Item: { accountId: { S: MEMBER_B }, sentAt: { S: hourAgo } } }),
    );

    // Act
    const result = await keywarden([...threeAccounts, '--canary-table', TABLE, '--format', 'json']);

    // Assess
    expect(result.code, result.stderr).toBe(1);
    const found = byAccount(result);
    expect(found.get(MEMBER_A)?.canary).toEqual({
      status: 'ok',
      detail: `sent ${hourAgo}, received ${arrived}, 3.5 s after it was sent`,
      sentAt: hourAgo,
      receivedAt: arrived,
      delayMs: 3500,
    });
    expect(found.get(MEMBER_B)).toMatchObject({
      covered: false,
      canary: {
        status: 'failed',
        detail: `events from this account do not reach KeyWarden: last canary sent ${hourAgo}, never received`,
      },
    });
    expect(found.get(CALLER)?.canary).toMatchObject({ status: 'not-judged', detail: 'none sent yet' });
    expect(aws.proxy.countsByOperation()).toMatchObject({ 'DynamoDB_20120810.GetItem': 3 });
    const calls = Object.keys(aws.proxy.countsByOperation());
    expect(calls.filter((operation) => !READS.test(operation))).toEqual([]);
  });

  it('--organization --ous checks the StackSet’s accounts only, and names the member whose rule was deleted', async () => {
    // Prepare: the caller is the management account, outside the OUs; the StackSet targets `workloads` only.
    const organizations = new OrganizationsClient(direct());
    const { ous, accounts } = await createMotoOrganization(organizations);
    await aws.createTrail({ name: 'organization', multiRegion: true, organization: true });
    await deployForwardingRule(accounts.workload);

    // Act: team-app (in the nested OU) never got its rule
    const result = await keywarden([
      '--organization',
      '--ous',
      ous.workloads,
      '--role-name',
      ROLE,
      '--bus',
      BUS,
    ]);

    // Assess: no session outside the OUs (not sandbox, not the closed account, not the caller's own)
    expect(result.code, result.stderr).toBe(1);
    const found = byAccount(result);
    expect([...found.keys()].sort()).toEqual([accounts.workload, accounts.teamApp].sort());
    expect(aws.proxy.count('AssumeRole')).toBe(2);
    expect(found.get(accounts.workload)).toMatchObject({
      covered: true,
      trail: {
        status: 'ok',
        detail: expect.stringMatching(/^the organization trail .*trail\/organization covers it$/),
      },
    });
    expect(found.get(accounts.teamApp)).toMatchObject({
      covered: false,
      forwardingRule: {
        status: 'failed',
        detail: `the forwarding rule ${FORWARDING_RULE_NAME} does not exist`,
      },
    });
    expect(JSON.parse(result.stdout)).toMatchObject({
      accountsFrom: 'organization',
      organizationalUnits: [ous.workloads],
    });
  });
});
