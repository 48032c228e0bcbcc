/**
 * The end-to-end canary against moto, three accounts: each sweep tags the canary user in every account (members
 * through the member role), the test forwards a canary's TagUser event to the detector as EventBridge would, and
 * the next sweep reports an account whose canary never arrived. A moto server of this file's own.
 */

import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateUserCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { COVERAGE_HEALTH_GENERATOR_ID, coverageFindingId } from '../../functions/core/coverage.ts';
import type { Finding } from '../../functions/core/finding.ts';
import { createDetector } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import {
  CANARY_TAG_KEY,
  CANARY_USER_NAME,
  FORWARDING_RULE_NAME,
  KEY_EVENT_PATTERN,
} from '../../functions/shared/constants.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { createSweepHandler, type SweepHandlerResult } from '../../functions/sweep/handler.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { MotoAccount } from '../support/moto-accounts.ts';
import {
  ACCOUNT_ID as CENTRAL,
  CONTEXT,
  type IsolatedAws,
  REGION,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';

const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';
const ROLE = 'KeyWardenMember';
const SWEEP_ROLE = `arn:aws:iam::${CENTRAL}:role/KeyWarden-SweepRole`;
const BUS = `arn:aws:events:${REGION}:${CENTRAL}:event-bus/keywarden-organization`;
const TABLE = 'keywarden-canary';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const T0 = new Date('2026-06-01T00:00:00.000Z');
const LATER = new Date(T0.getTime() + 6 * 3_600_000);

let aws: IsolatedAws;
const accounts: Record<string, MotoAccount> = {};

beforeAll(async () => {
  aws = await startIsolatedAws();
  for (const id of [CENTRAL, MEMBER_A, MEMBER_B]) accounts[id] = new MotoAccount(aws.moto.endpoint, id);
  vi.stubEnv('AWS_ENDPOINT_URL', aws.proxy.endpoint);
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});

function inAccount<C extends EventBridgeClient>(client: C, accountId: string): C {
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

beforeEach(async () => {
  await aws.reset();
  const settings = { endpoint: aws.moto.endpoint, region: REGION, credentials: CREDENTIALS };
  await new DynamoDBClient(settings).send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (const [id, account] of Object.entries(accounts)) {
    await account.iam.send(new CreateUserCommand({ UserName: CANARY_USER_NAME }));
    if (id === CENTRAL) continue;
    const events = inAccount(new EventBridgeClient(settings), id);
    await events.send(
      new PutRuleCommand({ Name: FORWARDING_RULE_NAME, EventPattern: JSON.stringify(KEY_EVENT_PATTERN) }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: FORWARDING_RULE_NAME, Targets: [{ Id: 'c', Arn: BUS }] }),
    );
  }
});

const silent = () => {
  const logger = createLogger('keywarden-canary-test');
  logger.setLogLevel('SILENT');
  return logger;
};

const ENV = {
  MEMBER_ROLE_NAME: ROLE,
  MEMBER_ACCOUNT_IDS: `${MEMBER_A},${MEMBER_B}`,
  ORGANIZATION_BUS_ARN: BUS,
  OWN_ROLE_ARNS: SWEEP_ROLE,
  CANARY_TABLE_NAME: TABLE,
};

function sweepAt(now: Date) {
  return createSweepHandler({
    config: loadConfig(ENV),
    clients: aws.clients({ maxAttempts: 1 }),
    cloudTrail: aws.cloudTrail({ maxAttempts: 1 }),
    logger: silent(),
    sleep: async () => undefined,
    clock: () => now,
  });
}

function detectorAt(now: Date) {
  return createDetector({
    config: loadConfig(ENV),
    clients: aws.clients({ maxAttempts: 1 }),
    logger: silent(),
    sleep: async () => undefined,
    clock: () => now,
  });
}

/** The TagUser event CloudTrail records for the canary tag now on the canary user of `accountId`, made by `issuer`. */
async function canaryEvent(accountId: string, issuer: string): Promise<Record<string, unknown>> {
  const { Tags = [] } = await (accounts[accountId] as MotoAccount).iam.send(
    new ListUserTagsCommand({ UserName: CANARY_USER_NAME }),
  );
  const value = Tags.find((tag) => tag.Key === CANARY_TAG_KEY)?.Value;
  const roleName = issuer.split('/').pop();
  return {
    version: '0',
    id: `evb-${accountId}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: accountId,
    time: value,
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLE:keywarden-sweep',
        arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/keywarden-sweep`,
        accountId,
        accessKeyId: 'ASIAEXAMPLE',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROAEXAMPLE',
            arn: issuer,
            accountId,
            userName: roleName,
          },
          attributes: { creationDate: value, mfaAuthenticated: 'false' },
        },
      },
      eventTime: value,
      eventSource: 'iam.amazonaws.com',
      eventName: 'TagUser',
      awsRegion: REGION,
      sourceIPAddress: '203.0.113.5',
      userAgent: 'keywarden/0.1.0',
      requestParameters: { userName: CANARY_USER_NAME, tags: [{ key: CANARY_TAG_KEY, value }] },
      responseElements: null,
      requestID: `req-${accountId}`,
      eventID: `00000000-0000-4000-8000-${accountId}`,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
    },
  };
}

async function coverageOf(accountId: string): Promise<Finding | undefined> {
  const found = (await (accounts[accountId] as MotoAccount).findings()).filter(
    (f) => f.GeneratorId === COVERAGE_HEALTH_GENERATOR_ID && f.Id === coverageFindingId(accountId),
  );
  for (const finding of found) expectValidAsff(finding, accountId);
  return found[0];
}

const memberRole = (accountId: string) => `arn:aws:iam::${accountId}:role/${ROLE}`;

describe('the canary (moto, three accounts)', () => {
  it('reports PASSED with the delay for a canary that arrives, and FAILED on the next sweep for one that never does', async () => {
    // Prepare: the first sweep sends a canary to every account.
    await sweepAt(T0)({}, CONTEXT);
    const tagged = await (accounts[MEMBER_B] as MotoAccount).iam.send(
      new ListUserTagsCommand({ UserName: CANARY_USER_NAME }),
    );
    expect(tagged.Tags).toEqual([{ Key: CANARY_TAG_KEY, Value: T0.toISOString() }]);

    // Act: member A's and the central account's canaries arrive 30 s later; member B's is lost.
    const arrival = new Date(T0.getTime() + 30_000);
    aws.proxy.reset();
    const received = await detectorAt(arrival)(await canaryEvent(MEMBER_A, memberRole(MEMBER_A)), CONTEXT);
    const calls = aws.proxy.countsByOperation();
    await detectorAt(arrival)(await canaryEvent(CENTRAL, SWEEP_ROLE), CONTEXT);

    // Assess: recorded, the finding re-imported with the delay, and nothing else (no IAM call, no 1.13 finding).
    expect(received).toMatchObject({ status: 'skipped', reason: 'canary' });
    expect(calls).toEqual({
      'DynamoDB_20120810.UpdateItem': 1,
      'sts.AssumeRole': 1,
      'securityhub.BatchImportFindings': 1,
    });
    const passed = await coverageOf(MEMBER_A);
    expect(passed?.Compliance?.Status).toBe('PASSED');
    expect(passed?.ProductFields?.['keywarden/coverage/canaryDelayMs']).toBe('30000');
    expect(passed?.Description).toContain('30.0 s after it was sent');
    const all = await (accounts[MEMBER_A] as MotoAccount).findings();
    expect(all.map((f) => f.GeneratorId)).toEqual([COVERAGE_HEALTH_GENERATOR_ID]);

    // Act: the next sweep.
    const next = (await sweepAt(LATER)({}, CONTEXT)) as SweepHandlerResult;

    // Assess
    expect(next.membersBlind).toBe(1);
    expect((await coverageOf(MEMBER_A))?.Compliance?.Status).toBe('PASSED');
    expect((await coverageOf(CENTRAL))?.Compliance?.Status).toBe('PASSED');
    const lost = await coverageOf(MEMBER_B);
    expect(lost?.Compliance).toMatchObject({
      Status: 'FAILED',
      StatusReasons: [{ ReasonCode: 'CANARY_LOST' }],
    });
    expect(lost?.Description).toContain(
      `events from this account do not reach KeyWarden: last canary sent ${T0.toISOString()}, never received`,
    );
  });

  it('passes again once a canary of the lost account arrives', async () => {
    // Prepare: B's first canary is lost and reported.
    await sweepAt(T0)({}, CONTEXT);
    await sweepAt(LATER)({}, CONTEXT);
    expect((await coverageOf(MEMBER_B))?.Compliance?.Status).toBe('FAILED');

    // Act: the canary the second sweep sent arrives.
    await detectorAt(new Date(LATER.getTime() + 5_000))(
      await canaryEvent(MEMBER_B, memberRole(MEMBER_B)),
      CONTEXT,
    );

    // Assess
    expect((await coverageOf(MEMBER_B))?.Compliance?.Status).toBe('PASSED');
  });

  it('treats anyone else tagging the canary user as an ordinary event: nothing recorded', async () => {
    // Prepare
    await sweepAt(T0)({}, CONTEXT);
    const forged = await canaryEvent(MEMBER_A, `arn:aws:iam::${MEMBER_A}:role/someone-else`);

    // Act
    const result = await detectorAt(new Date(T0.getTime() + 1_000))(forged, CONTEXT);

    // Assess
    expect(result).toMatchObject({ status: 'skipped' });
    expect(result).not.toMatchObject({ reason: 'canary' });
    const { Item } = await new DynamoDBClient({
      endpoint: aws.moto.endpoint,
      region: REGION,
      credentials: CREDENTIALS,
    }).send(new GetItemCommand({ TableName: TABLE, Key: { accountId: { S: MEMBER_A } } }));
    expect(Item?.receivedAt).toBeUndefined();
  });
});
