import { type AwsSecurityFinding, GetFindingsCommand } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFindingsPort } from '../../functions/adapters/securityhub.ts';
import { findingIdFor } from '../../functions/core/finding.ts';
import { TRAIL_HEALTH_GENERATOR_ID, trailHealthFindingId } from '../../functions/core/trail-health.ts';
import { monotonicClock } from '../../functions/shared/clock.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { SweepError } from '../../functions/sweep/engine.ts';
import { createSweepHandler } from '../../functions/sweep/handler.ts';
import { checkTrailHealth, TrailHealthError } from '../../functions/sweep/trail-health.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import {
  ACCOUNT_ID,
  CONTEXT,
  type IsolatedAws,
  REGION,
  startIsolatedAws,
  type TrailSpec,
} from './moto-fixture.ts';

const ACCOUNT = { accountId: ACCOUNT_ID, partition: 'aws', region: REGION };
const HEALTH_ID = trailHealthFindingId(ACCOUNT_ID);
const noWait = async (): Promise<void> => undefined;

function silentLogger() {
  const logger = createLogger('keywarden-trail-health-test');
  logger.setLogLevel('SILENT');
  return logger;
}

describe('blind-path check against moto', () => {
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

  async function storedHealth(): Promise<AwsSecurityFinding | undefined> {
    const { Findings = [] } = await aws.securityHub.send(new GetFindingsCommand({ MaxResults: 100 }));
    return Findings.find((finding) => finding.Id === HEALTH_ID);
  }

  function check(clock = monotonicClock()) {
    return checkTrailHealth(
      {
        cloudTrail: aws.cloudTrail(),
        findings: createFindingsPort(aws.clients().securityHub, { accountId: ACCOUNT_ID, partition: 'aws' }),
        clock,
      },
      ACCOUNT,
    );
  }

  it.each<{ case: string; trails: TrailSpec[]; status: string; verdicts: string[] }>([
    { case: 'no trail', trails: [], status: 'FAILED', verdicts: [] },
    {
      case: 'a trail in us-east-1 that logs all management events',
      trails: [{ name: 'local' }],
      status: 'PASSED',
      verdicts: ['covers'],
    },
    {
      case: 'a trail in us-east-1 that is not logging',
      trails: [{ name: 'stopped', logging: false }],
      status: 'FAILED',
      verdicts: ['not-logging'],
    },
    {
      case: 'a trail with read-only management events',
      trails: [
        { name: 'reads', eventSelectors: [{ ReadWriteType: 'ReadOnly', IncludeManagementEvents: true }] },
      ],
      status: 'FAILED',
      verdicts: ['read-only'],
    },
    {
      case: 'a trail with management events off',
      trails: [
        { name: 'data-only', eventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: false }] },
      ],
      status: 'FAILED',
      verdicts: ['no-management-events'],
    },
    {
      case: 'a trail with advanced selectors for management write events',
      trails: [
        {
          name: 'advanced',
          advancedEventSelectors: [
            {
              Name: 'management writes',
              FieldSelectors: [
                { Field: 'eventCategory', Equals: ['Management'] },
                { Field: 'readOnly', Equals: ['false'] },
              ],
            },
          ],
        },
      ],
      status: 'PASSED',
      verdicts: ['covers'],
    },
    {
      case: 'a trail with advanced selectors for read-only management events',
      trails: [
        {
          name: 'advanced-reads',
          advancedEventSelectors: [
            {
              FieldSelectors: [
                { Field: 'eventCategory', Equals: ['Management'] },
                { Field: 'readOnly', Equals: ['true'] },
              ],
            },
          ],
        },
      ],
      status: 'FAILED',
      verdicts: ['read-only'],
    },
    {
      case: 'a multi-region trail homed in eu-west-1 (a shadow trail in us-east-1)',
      trails: [{ name: 'multi', region: 'eu-west-1', multiRegion: true }],
      status: 'PASSED',
      verdicts: ['covers'],
    },
    {
      // DescribeTrails in us-east-1 does not even list it.
      case: 'a single-region trail in eu-west-1 only',
      trails: [{ name: 'elsewhere', region: 'eu-west-1' }],
      status: 'FAILED',
      verdicts: [],
    },
    {
      case: 'an organization trail',
      trails: [{ name: 'org', multiRegion: true, organization: true }],
      status: 'PASSED',
      verdicts: ['covers'],
    },
    {
      case: 'a stopped trail beside one that logs',
      trails: [
        { name: 'stopped', logging: false },
        { name: 'multi', region: 'eu-west-1', multiRegion: true },
      ],
      status: 'PASSED',
      verdicts: ['not-logging', 'covers'],
    },
  ])('imports $status for $case', async ({ trails, status, verdicts }) => {
    // Prepare
    for (const trail of trails) await aws.createTrail(trail);

    // Act
    const { finding } = await check();

    // Assess
    const stored = await storedHealth();
    expectValidAsff(stored);
    expect(stored).toMatchObject({
      GeneratorId: TRAIL_HEALTH_GENERATOR_ID,
      Compliance: { Status: status },
      RecordState: 'ACTIVE',
    });
    expect(stored?.Description).toBe(finding.Description);
    const listed = Object.entries(stored?.ProductFields ?? {})
      .filter(([key]) => /^keywarden\/health\/trail\d+\/verdict$/.test(key))
      .map(([, value]) => value);
    expect(listed.sort()).toEqual([...verdicts].sort());
    expect(aws.proxy.countsByOperation()).toMatchObject({
      'cloudtrail.DescribeTrails': 1,
      ...(verdicts.length
        ? { 'cloudtrail.GetTrailStatus': verdicts.length, 'cloudtrail.GetEventSelectors': verdicts.length }
        : {}),
    });
  });

  it('turns FAILED into PASSED on the same finding once the trail logs again, keeping CreatedAt', async () => {
    // Prepare
    await aws.createTrail({ name: 'flaky', logging: false });
    const clock = monotonicClock();
    await check(clock);
    const blind = await storedHealth();
    expect(blind?.Compliance?.Status).toBe('FAILED');
    expect(blind?.Remediation?.Recommendation?.Text).toContain('aws cloudtrail start-logging');
    await aws.createTrail({ name: 'fixed' });

    // Act
    await check(clock);

    // Assess
    const fixed = await storedHealth();
    expect(fixed?.Compliance?.Status).toBe('PASSED');
    expect(fixed?.CreatedAt).toBe(blind?.CreatedAt);
    expect(Date.parse(fixed?.UpdatedAt ?? '')).toBeGreaterThan(Date.parse(blind?.UpdatedAt ?? ''));
  });

  it('throws TrailHealthError and imports nothing when the only trail cannot be read', async () => {
    // Prepare
    await aws.createTrail({ name: 'locked' });
    aws.proxy.inject({ operation: 'cloudtrail.GetTrailStatus', status: 400, code: 'AccessDeniedException' });

    // Act
    const checked = check();

    // Assess
    await expect(checked).rejects.toBeInstanceOf(TrailHealthError);
    await expect(checked).rejects.toThrow(/locked.*AccessDeniedException/);
    expect(await storedHealth()).toBeUndefined();
  });

  describe('in the sweep handler', () => {
    const handler = () =>
      createSweepHandler({
        config: loadConfig({}),
        clients: aws.clients({ maxAttempts: 1 }),
        cloudTrail: aws.cloudTrail({ maxAttempts: 1 }),
        logger: silentLogger(),
        sleep: noWait,
      });

    it('reports a blind account as FAILED and still sweeps the users, without failing the sweep', async () => {
      // Prepare
      await aws.seed([{ userName: 'blind-violator', activeKeys: 2 }]);

      // Act
      const summary = await handler()({}, CONTEXT);

      // Assess
      expect(summary).toMatchObject({ violating: 1 });
      expect((await storedHealth())?.Compliance?.Status).toBe('FAILED');
      expect((await aws.findings()).get(findingIdFor(ACCOUNT_ID, 'blind-violator'))?.Compliance?.Status).toBe(
        'FAILED',
      );
    });

    it('leaves the users’ findings and counts unchanged: the health finding is no user finding', async () => {
      // Prepare: a first sweep leaves an open (FAILED) health finding beside a user's.
      await aws.seed([{ userName: 'steady-violator', activeKeys: 2 }]);
      const first = await handler()({}, CONTEXT);
      const warnings: string[] = [];
      const logger = silentLogger();
      logger.warn = ((message: string) => {
        warnings.push(message);
      }) as never;

      // Act
      const second = await createSweepHandler({
        config: loadConfig({}),
        clients: aws.clients({ maxAttempts: 1 }),
        cloudTrail: aws.cloudTrail({ maxAttempts: 1 }),
        logger,
        sleep: noWait,
      })({}, CONTEXT);

      // Assess
      expect(second).toEqual(first);
      expect(warnings.filter((message) => message !== 'trail health')).toEqual([]);
      expect([...(await aws.findings()).keys()]).toEqual([findingIdFor(ACCOUNT_ID, 'steady-violator')]);
    });

    it('fails the sweep with a trail-health failure when the check fails, after sweeping the users', async () => {
      // Prepare
      await aws.seed([{ userName: 'checked-anyway', activeKeys: 2 }]);
      aws.proxy.inject({
        operation: 'cloudtrail.DescribeTrails',
        status: 400,
        code: 'AccessDeniedException',
      });

      // Act
      const sweep = handler()({}, CONTEXT);

      // Assess
      await expect(sweep).rejects.toBeInstanceOf(SweepError);
      await expect(sweep).rejects.toMatchObject({
        failures: [{ stage: 'trail-health', error: { name: 'AwsCallError', operation: 'DescribeTrails' } }],
        summary: { violating: 1 },
      });
      expect((await aws.findings()).get(findingIdFor(ACCOUNT_ID, 'checked-anyway'))?.Compliance?.Status).toBe(
        'FAILED',
      );
      expect(await storedHealth()).toBeUndefined();
    });
  });
});
