/**
 * The organization sweep's coverage check against moto: three accounts, each member's forwarding rule read
 * through its member role, and the coverage finding imported into the member's own hub, or into the central hub
 * when the member role cannot be assumed. A moto server of this file's own.
 */

import {
  DeleteRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { COVERAGE_HEALTH_GENERATOR_ID, coverageFindingId } from '../../functions/core/coverage.ts';
import type { Finding } from '../../functions/core/finding.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { COVERAGE_METRIC_NAMES, FORWARDING_RULE_NAME } from '../../functions/shared/constants.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { sweepMetricPoints } from '../../functions/shared/metrics.ts';
import { SweepError } from '../../functions/sweep/engine.ts';
import { createSweepHandler, type SweepHandlerResult } from '../../functions/sweep/handler.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { deployForwardingRule as putForwardingRule } from '../support/forwarding-rule.ts';
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
const BUS = `arn:aws:events:${REGION}:${CENTRAL}:event-bus/keywarden-organization`;
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

/** EventBridge of `accountId`, straight to moto (seeding is not counted). */
function eventsOf(accountId: string): EventBridgeClient {
  const client = new EventBridgeClient({
    endpoint: aws.moto.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

/** The forwarding rule the member stack deploys: the detector's pattern, to the central bus. */
async function deployForwardingRule(accountId: string): Promise<EventBridgeClient> {
  const events = eventsOf(accountId);
  await putForwardingRule(events, BUS, `arn:aws:iam::${accountId}:role/forward`);
  return events;
}

function sweep() {
  const logger = createLogger('keywarden-sweep-test');
  logger.setLogLevel('SILENT');
  return createSweepHandler({
    config: loadConfig({
      MEMBER_ROLE_NAME: ROLE,
      MEMBER_ACCOUNT_IDS: `${MEMBER_A},${MEMBER_B}`,
      ORGANIZATION_BUS_ARN: BUS,
    }),
    clients: aws.clients({ maxAttempts: 1 }),
    cloudTrail: aws.cloudTrail({ maxAttempts: 1 }),
    logger,
    sleep: async () => undefined,
  });
}

/** The coverage findings in `account`'s hub, each valid ASFF for that account. */
async function coverageIn(account: MotoAccount): Promise<Finding[]> {
  const found = (await account.findings()).filter((f) => f.GeneratorId === COVERAGE_HEALTH_GENERATOR_ID);
  for (const finding of found) expectValidAsff(finding, account.accountId);
  return found.sort((a, b) => String(a.Id).localeCompare(String(b.Id)));
}

const statusOf = (finding: Finding | undefined) => ({
  id: finding?.Id,
  status: finding?.Compliance?.Status,
  reason: finding?.Compliance?.StatusReasons?.[0]?.ReasonCode,
  recordState: finding?.RecordState,
});

describe('organization sweep: coverage of each member (moto, three accounts)', () => {
  it('reports PASSED in each member’s hub while its forwarding rule is intact, with two EventBridge reads per member', async () => {
    // Prepare
    await deployForwardingRule(MEMBER_A);
    await deployForwardingRule(MEMBER_B);

    // Act
    const result = (await sweep()({}, CONTEXT)) as SweepHandlerResult;

    // Assess
    expect(result.membersBlind).toBe(0);
    for (const member of [memberA, memberB]) {
      expect((await coverageIn(member)).map(statusOf)).toEqual([
        {
          id: coverageFindingId(member.accountId),
          status: 'PASSED',
          reason: 'EVENTS_FORWARDED',
          recordState: 'ACTIVE',
        },
      ]);
    }
    expect(await coverageIn(central)).toEqual([]);
    expect(aws.proxy.count('DescribeRule')).toBe(2);
    expect(aws.proxy.count('ListTargetsByRule')).toBe(2);
    expect(aws.proxy.count('sts.AssumeRole')).toBe(2);
  });

  it.each([
    [
      'disabled',
      (events: EventBridgeClient) => events.send(new DisableRuleCommand({ Name: FORWARDING_RULE_NAME })),
      'RULE_DISABLED',
    ],
    [
      'deleted',
      async (events: EventBridgeClient) => {
        await events.send(new RemoveTargetsCommand({ Rule: FORWARDING_RULE_NAME, Ids: ['central'] }));
        await events.send(new DeleteRuleCommand({ Name: FORWARDING_RULE_NAME }));
      },
      'RULE_MISSING',
    ],
    [
      'retargeted',
      async (events: EventBridgeClient) => {
        await events.send(new RemoveTargetsCommand({ Rule: FORWARDING_RULE_NAME, Ids: ['central'] }));
        await events.send(
          new PutTargetsCommand({
            Rule: FORWARDING_RULE_NAME,
            Targets: [{ Id: 'elsewhere', Arn: `arn:aws:events:${REGION}:${MEMBER_A}:event-bus/default` }],
          }),
        );
      },
      'RULE_RETARGETED',
    ],
    [
      'given another pattern',
      (events: EventBridgeClient) =>
        events.send(
          new PutRuleCommand({
            Name: FORWARDING_RULE_NAME,
            EventPattern: JSON.stringify({ source: ['aws.s3'] }),
          }),
        ),
      'RULE_PATTERN_CHANGED',
    ],
  ] as const)(
    'reports FAILED in the member’s own hub when its forwarding rule is %s',
    async (_how, breakRule, reason) => {
      // Prepare
      const events = await deployForwardingRule(MEMBER_A);
      await deployForwardingRule(MEMBER_B);
      await breakRule(events);

      // Act
      const result = (await sweep()({}, CONTEXT)) as SweepHandlerResult;

      // Assess
      expect(result.membersBlind).toBe(1);
      const [finding] = await coverageIn(memberA);
      expect(statusOf(finding)).toEqual({
        id: coverageFindingId(MEMBER_A),
        status: 'FAILED',
        reason,
        recordState: 'ACTIVE',
      });
      expect(finding?.AwsAccountId).toBe(MEMBER_A);
      expect((await coverageIn(memberB)).map((f) => f.Compliance?.Status)).toEqual(['PASSED']);
      expect(
        sweepMetricPoints({ result }).find((point) => point.name === COVERAGE_METRIC_NAMES.membersBlind)
          ?.value,
      ).toBe(1);
    },
  );

  it('reports a forwarding rule the member role may not read as FAILED, and fails that account’s sweep', async () => {
    // Prepare
    await deployForwardingRule(MEMBER_A);
    await deployForwardingRule(MEMBER_B);
    aws.proxy.inject({ operation: 'DescribeRule', status: 400, code: 'AccessDeniedException' });

    // Act
    const outcome = await sweep()({}, CONTEXT).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(SweepError);
    expect((outcome as SweepError).failures.map((f) => [f.accountId, f.stage])).toEqual([
      [MEMBER_A, 'coverage'],
      [MEMBER_B, 'coverage'],
    ]);
    expect((await coverageIn(memberA)).map(statusOf)).toEqual([
      { id: coverageFindingId(MEMBER_A), status: 'FAILED', reason: 'RULE_UNREADABLE', recordState: 'ACTIVE' },
    ]);
  });

  it('reports a member whose role cannot be assumed in the central hub, and archives that report once the role works again', async () => {
    // Prepare
    await deployForwardingRule(MEMBER_A);
    await deployForwardingRule(MEMBER_B);
    aws.proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied', bodyIncludes: MEMBER_B });

    // Act
    const outcome = await sweep()({}, CONTEXT).catch((error: unknown) => error);

    // Assess: the account failed, and its blindness is reported where Security Hub takes it (the caller's hub).
    expect(outcome).toBeInstanceOf(SweepError);
    expect((outcome as SweepError).failedAccountIds).toEqual([MEMBER_B]);
    expect(
      sweepMetricPoints({ error: outcome }).find((p) => p.name === COVERAGE_METRIC_NAMES.membersBlind)?.value,
    ).toBe(1);
    const [reported] = await coverageIn(central);
    expect(statusOf(reported)).toEqual({
      id: coverageFindingId(MEMBER_B),
      status: 'FAILED',
      reason: 'ROLE_UNASSUMABLE',
      recordState: 'ACTIVE',
    });
    expect(reported?.AwsAccountId).toBe(CENTRAL);
    expect(reported?.Resources?.[0]?.Id).toBe(`AWS::::Account:${MEMBER_B}`);
    expect(await coverageIn(memberB)).toEqual([]);

    // Act: the role works again.
    aws.proxy.clearFaults();
    const healed = (await sweep()({}, CONTEXT)) as SweepHandlerResult;

    // Assess
    expect(healed.membersBlind).toBe(0);
    expect((await coverageIn(central)).map(statusOf)).toEqual([
      {
        id: coverageFindingId(MEMBER_B),
        status: 'PASSED',
        reason: 'EVENTS_FORWARDED',
        recordState: 'ARCHIVED',
      },
    ]);
    expect((await coverageIn(memberB)).map((f) => f.Compliance?.Status)).toEqual(['PASSED']);
  });
});
