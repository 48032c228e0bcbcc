import { describe, expect, it } from 'vitest';
import { GENERATOR_ID } from '../../functions/core/finding.ts';
import {
  type AdvancedSelector,
  assessTrail,
  type BasicSelector,
  buildTrailHealthFinding,
  evaluateTrailHealth,
  selectorGap,
  TRAIL_HEALTH_GENERATOR_ID,
  type TrailHealth,
  type TrailObservation,
  trailHealthFindingId,
} from '../../functions/core/trail-health.ts';
import { iamEventRegionFor } from '../../functions/shared/constants.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT } from './builders.ts';

const ACCOUNT_ID = ACCOUNT.accountId;
const MANAGEMENT_ACCOUNT = '999988887777';
const IAM_REGION = 'us-east-1';
const OBSERVED_AT = new Date('2026-06-01T12:00:00.000Z');
const ALL_MANAGEMENT: BasicSelector = { readWriteType: 'All', includeManagementEvents: true };

function trail(
  overrides: Partial<TrailObservation> & { basic?: BasicSelector[]; advanced?: AdvancedSelector[] } = {},
): TrailObservation {
  const { basic, advanced, ...rest } = overrides;
  const homeRegion = rest.homeRegion ?? IAM_REGION;
  const name = rest.name ?? 'main';
  return {
    name,
    arn: `arn:aws:cloudtrail:${homeRegion}:${ACCOUNT_ID}:trail/${name}`,
    homeRegion,
    isMultiRegion: false,
    isOrganizationTrail: false,
    includeGlobalServiceEvents: true,
    status: { ok: true, value: { isLogging: true } },
    selectors: { ok: true, value: { basic: basic ?? [ALL_MANAGEMENT], advanced: advanced ?? [] } },
    ...rest,
  };
}

const denied = { ok: false as const, code: 'AccessDeniedException', message: 'not authorized' };
const invalidArn = {
  ok: false as const,
  code: 'CloudTrailARNInvalidException',
  message: 'AccountID in ARN is wrong',
};

describe('selectorGap', () => {
  it.each<{ case: string; basic?: BasicSelector[]; advanced?: AdvancedSelector[]; gap: string | undefined }>([
    { case: 'basic All with management events', basic: [ALL_MANAGEMENT], gap: undefined },
    {
      case: 'basic ReadOnly with management events',
      basic: [{ ...ALL_MANAGEMENT, readWriteType: 'ReadOnly' }],
      gap: 'read-only',
    },
    {
      case: 'basic WriteOnly with management events',
      basic: [{ ...ALL_MANAGEMENT, readWriteType: 'WriteOnly' }],
      gap: undefined,
    },
    {
      case: 'basic with management events off',
      basic: [{ ...ALL_MANAGEMENT, includeManagementEvents: false }],
      gap: 'no-management-events',
    },
    { case: 'basic selector with the API defaults (fields absent)', basic: [{}], gap: undefined },
    { case: 'no selector at all', basic: [], gap: 'no-management-events' },
    {
      case: 'basic All excluding only KMS',
      basic: [{ ...ALL_MANAGEMENT, excludeManagementEventSources: ['kms.amazonaws.com'] }],
      gap: undefined,
    },
    {
      case: 'basic All excluding IAM',
      basic: [{ ...ALL_MANAGEMENT, excludeManagementEventSources: ['iam.amazonaws.com'] }],
      gap: 'iam-excluded',
    },
    {
      case: 'a read-only selector beside a write-only one',
      basic: [
        { ...ALL_MANAGEMENT, readWriteType: 'ReadOnly' },
        { ...ALL_MANAGEMENT, readWriteType: 'WriteOnly' },
      ],
      gap: undefined,
    },
    {
      case: 'advanced: all management events',
      advanced: [{ name: 'm', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] }],
      gap: undefined,
    },
    {
      case: 'advanced: management events, readOnly=true',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'readOnly', equals: ['true'] },
          ],
        },
      ],
      gap: 'read-only',
    },
    {
      case: 'advanced: management events, readOnly=false',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'readOnly', equals: ['false'] },
          ],
        },
      ],
      gap: undefined,
    },
    {
      case: 'advanced: management events, readOnly not false (read-only by negation)',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'readOnly', notEquals: ['false'] },
          ],
        },
      ],
      gap: 'read-only',
    },
    {
      case: 'advanced: management events without IAM',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'eventSource', notEquals: ['iam.amazonaws.com'] },
          ],
        },
      ],
      gap: 'iam-excluded',
    },
    {
      case: 'advanced: management events without KMS',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'eventSource', notEquals: ['kms.amazonaws.com'] },
          ],
        },
      ],
      gap: undefined,
    },
    {
      case: 'advanced: data events only',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Data'] },
            { field: 'resources.type', equals: ['AWS::S3::Object'] },
          ],
        },
      ],
      gap: 'no-management-events',
    },
    {
      case: 'advanced: management events narrowed by a field the check cannot resolve',
      advanced: [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'eventName', equals: ['ConsoleLogin'] },
          ],
        },
      ],
      gap: 'no-management-events',
    },
  ])('$case: $gap', ({ basic = [], advanced = [], gap }) => {
    expect(selectorGap(basic, advanced)).toBe(gap);
  });
});

describe('assessTrail', () => {
  it.each<{ case: string; trail: TrailObservation; verdict: string; gaps?: string[] }>([
    {
      case: 'single-region trail in us-east-1, logging, all management events',
      trail: trail(),
      verdict: 'covers',
    },
    {
      case: 'single-region trail in another region',
      trail: trail({ homeRegion: 'eu-west-1' }),
      verdict: 'gap',
      gaps: ['other-region'],
    },
    {
      case: 'multi-region trail homed in another region',
      trail: trail({ homeRegion: 'eu-west-1', isMultiRegion: true }),
      verdict: 'covers',
    },
    {
      case: 'trail not logging',
      trail: trail({ status: { ok: true, value: { isLogging: false } } }),
      verdict: 'gap',
      gaps: ['not-logging'],
    },
    {
      case: 'trail with read-only selectors',
      trail: trail({ basic: [{ ...ALL_MANAGEMENT, readWriteType: 'ReadOnly' }] }),
      verdict: 'gap',
      gaps: ['read-only'],
    },
    {
      case: 'trail with management events off',
      trail: trail({ basic: [{ ...ALL_MANAGEMENT, includeManagementEvents: false }] }),
      verdict: 'gap',
      gaps: ['no-management-events'],
    },
    {
      case: 'trail without global service events',
      trail: trail({ includeGlobalServiceEvents: false }),
      verdict: 'gap',
      gaps: ['no-global-service-events'],
    },
    {
      case: 'trail not logging, in another region, read-only',
      trail: trail({
        homeRegion: 'eu-west-1',
        status: { ok: true, value: { isLogging: false } },
        basic: [{ ...ALL_MANAGEMENT, readWriteType: 'ReadOnly' }],
      }),
      verdict: 'gap',
      gaps: ['other-region', 'not-logging', 'read-only'],
    },
    {
      case: 'own trail whose status cannot be read',
      trail: trail({ status: denied }),
      verdict: 'unreadable',
    },
    {
      case: 'own trail not logging whose selectors cannot be read',
      trail: trail({ status: { ok: true, value: { isLogging: false } }, selectors: denied }),
      verdict: 'gap',
      gaps: ['not-logging'],
    },
    {
      case: 'organization trail of the management account, selectors unreadable from the member',
      trail: trail({
        arn: `arn:aws:cloudtrail:${IAM_REGION}:${MANAGEMENT_ACCOUNT}:trail/org`,
        isMultiRegion: true,
        isOrganizationTrail: true,
        selectors: invalidArn,
      }),
      verdict: 'unverified',
    },
    {
      case: 'organization trail of the management account, fully readable',
      trail: trail({
        arn: `arn:aws:cloudtrail:${IAM_REGION}:${MANAGEMENT_ACCOUNT}:trail/org`,
        isMultiRegion: true,
        isOrganizationTrail: true,
      }),
      verdict: 'covers',
    },
  ])('$case: $verdict', ({ trail: observed, verdict, gaps }) => {
    const assessment = assessTrail(observed, ACCOUNT_ID, IAM_REGION);
    expect(assessment.verdict).toBe(verdict);
    if (gaps !== undefined) expect(assessment).toMatchObject({ gaps });
  });

  it('counts only multi-region trails when the partition has no known IAM event region', () => {
    expect(assessTrail(trail(), ACCOUNT_ID, undefined).verdict).toBe('gap');
    expect(assessTrail(trail({ isMultiRegion: true }), ACCOUNT_ID, undefined).verdict).toBe('covers');
  });
});

describe('evaluateTrailHealth', () => {
  const notLogging = trail({ name: 'stopped', status: { ok: true, value: { isLogging: false } } });
  it.each<{ case: string; trails: TrailObservation[]; status: TrailHealth['status'] }>([
    { case: 'no trail', trails: [], status: 'blind' },
    { case: 'one trail that covers', trails: [trail()], status: 'covered' },
    { case: 'one trail not logging', trails: [notLogging], status: 'blind' },
    { case: 'one trail not logging and one that covers', trails: [notLogging, trail()], status: 'covered' },
    {
      case: 'one unreadable own trail and one that covers',
      trails: [trail({ name: 'locked', status: denied }), trail()],
      status: 'covered',
    },
    { case: 'one unreadable own trail only', trails: [trail({ status: denied })], status: 'unknown' },
    {
      case: 'an organization trail whose selectors the member cannot read',
      trails: [
        trail({
          arn: `arn:aws:cloudtrail:${IAM_REGION}:${MANAGEMENT_ACCOUNT}:trail/org`,
          isOrganizationTrail: true,
          isMultiRegion: true,
          selectors: invalidArn,
        }),
        notLogging,
      ],
      status: 'unverified',
    },
    {
      case: 'an organization trail of this account that covers',
      trails: [trail({ isOrganizationTrail: true, isMultiRegion: true, homeRegion: 'eu-central-1' })],
      status: 'covered',
    },
  ])('$case: $status', ({ trails, status }) => {
    expect(evaluateTrailHealth(trails, ACCOUNT_ID, IAM_REGION).status).toBe(status);
  });
});

describe('iamEventRegionFor', () => {
  it.each([
    { partition: 'aws', region: 'us-east-1' },
    { partition: 'aws-cn', region: 'cn-north-1' },
    { partition: 'aws-us-gov', region: 'us-gov-west-1' },
    { partition: 'aws-iso', region: undefined },
  ])('$partition: $region', ({ partition, region }) => {
    expect(iamEventRegionFor(partition)).toBe(region);
  });
});

describe('buildTrailHealthFinding', () => {
  const build = (trails: TrailObservation[], createdAt?: Date) => {
    const health = evaluateTrailHealth(trails, ACCOUNT_ID, IAM_REGION);
    if (health.status === 'unknown') throw new Error('unexpected unknown');
    return buildTrailHealthFinding({
      account: ACCOUNT,
      health: health as TrailHealth & { status: 'covered' | 'blind' | 'unverified' },
      observedAt: OBSERVED_AT,
      createdAt,
    });
  };

  it('is FAILED while blind, names what is missing and what to do, and is valid ASFF', () => {
    const finding = build([
      trail({
        status: { ok: true, value: { isLogging: false } },
        basic: [{ ...ALL_MANAGEMENT, readWriteType: 'ReadOnly' }],
      }),
    ]);
    expectValidAsff(finding);
    expect(finding).toMatchObject({
      Id: trailHealthFindingId(ACCOUNT_ID),
      GeneratorId: TRAIL_HEALTH_GENERATOR_ID,
      Compliance: { Status: 'FAILED' },
      Severity: { Label: 'HIGH' },
      RecordState: 'ACTIVE',
    });
    expect(finding.Description).toContain('is not logging, and records read-only management events only');
    expect(finding.Remediation?.Recommendation?.Text).toContain('aws cloudtrail start-logging');
    expect(finding.Remediation?.Recommendation?.Text).toContain('put-event-selectors');
    expect(finding.ProductFields?.['keywarden/health/trail1/verdict']).toBe('not-logging,read-only');
  });

  it('is FAILED with NO_TRAIL and says to create one when the account has no trail', () => {
    const finding = build([]);
    expectValidAsff(finding);
    expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('NO_TRAIL');
    expect(finding.Remediation?.Recommendation?.Text).toContain('createTrail=true');
    expect(finding.Resources).toEqual([
      expect.objectContaining({ Type: 'AwsAccount', Id: `AWS::::Account:${ACCOUNT_ID}` }),
    ]);
  });

  it('is PASSED once a trail covers, and names the trail', () => {
    const finding = build([trail()]);
    expectValidAsff(finding);
    expect(finding).toMatchObject({ Compliance: { Status: 'PASSED' }, Severity: { Label: 'INFORMATIONAL' } });
    expect(finding.ProductFields?.['keywarden/health/coveringTrails']).toBe(trail().arn);
    expect(finding.Resources?.map((r) => r.Type)).toEqual(['AwsAccount', 'AwsCloudTrailTrail']);
  });

  it('is WARNING when only an unreadable organization trail may cover', () => {
    const finding = build([
      trail({
        arn: `arn:aws:cloudtrail:${IAM_REGION}:${MANAGEMENT_ACCOUNT}:trail/org`,
        isOrganizationTrail: true,
        isMultiRegion: true,
        selectors: invalidArn,
      }),
    ]);
    expectValidAsff(finding);
    expect(finding.Compliance?.Status).toBe('WARNING');
    expect(finding.Remediation?.Recommendation?.Text).toContain('management account');
  });

  it('keeps the stored CreatedAt, and never one later than the observation', () => {
    const earlier = new Date('2026-05-01T00:00:00.000Z');
    expect(build([], earlier).CreatedAt).toBe(earlier.toISOString());
    expect(build([], new Date('2027-01-01T00:00:00.000Z')).CreatedAt).toBe(OBSERVED_AT.toISOString());
    expect(build([]).CreatedAt).toBe(OBSERVED_AT.toISOString());
  });

  it('stays within the ASFF limits with many trails', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      trail({ name: `trail-${i}`, status: { ok: true, value: { isLogging: false } } }),
    );
    const finding = build(many);
    expectValidAsff(finding);
    expect(finding.Resources).toHaveLength(32);
    expect(finding.ProductFields?.['keywarden/health/trailCount']).toBe('40');
  });

  it('uses a generator of its own, never the CIS 1.13 one the sweep reconciles', () => {
    expect(build([]).GeneratorId).not.toBe(GENERATOR_ID);
    expect(build([]).Id).not.toMatch(/^keywarden\/cis-1\.13\//);
  });
});
