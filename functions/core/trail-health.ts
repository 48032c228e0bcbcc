/**
 * Whether a CloudTrail trail delivers IAM's management write events where they reach EventBridge (the detector is
 * blind without one), and the health finding that says so. Pure: the trails as read, the account and the time
 * are passed in.
 */

import type { Resource } from '@aws-sdk/client-securityhub';
import type { Finding } from './finding.ts';
import { buildHealthFinding } from './health-finding.ts';
import type { AccountContext } from './types.ts';

/** A basic event selector as GetEventSelectors returns it. */
export interface BasicSelector {
  /** `ReadOnly | WriteOnly | All`; absent means All (the API's default). */
  readonly readWriteType?: string | undefined;
  /** Absent means true (the API's default). */
  readonly includeManagementEvents?: boolean | undefined;
  readonly excludeManagementEventSources?: readonly string[] | undefined;
}

export interface FieldSelector {
  readonly field: string;
  readonly equals?: readonly string[] | undefined;
  readonly notEquals?: readonly string[] | undefined;
  readonly startsWith?: readonly string[] | undefined;
  readonly notStartsWith?: readonly string[] | undefined;
  readonly endsWith?: readonly string[] | undefined;
  readonly notEndsWith?: readonly string[] | undefined;
}

/** An advanced event selector: an event is logged when every field selector accepts it. */
export interface AdvancedSelector {
  readonly name?: string | undefined;
  readonly fieldSelectors: readonly FieldSelector[];
}

/** The outcome of one read: its value, or the AWS error code and message. */
export type Read<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** One trail as DescribeTrails (with shadow trails), GetTrailStatus and GetEventSelectors show it. */
export interface TrailObservation {
  readonly name: string;
  readonly arn: string;
  readonly homeRegion: string;
  readonly isMultiRegion: boolean;
  readonly isOrganizationTrail: boolean;
  /** Absent means true (the API's default); IAM is a global service. */
  readonly includeGlobalServiceEvents: boolean | undefined;
  readonly status: Read<{ readonly isLogging: boolean }>;
  readonly selectors: Read<{
    readonly basic: readonly BasicSelector[];
    readonly advanced: readonly AdvancedSelector[];
  }>;
}

/** Why a trail does not deliver IAM's management write events. */
export type TrailGap =
  | 'other-region'
  | 'no-global-service-events'
  | 'not-logging'
  | 'no-management-events'
  | 'read-only'
  | 'iam-excluded';

export type TrailAssessment =
  | { readonly trail: TrailObservation; readonly verdict: 'covers' }
  | { readonly trail: TrailObservation; readonly verdict: 'gap'; readonly gaps: readonly TrailGap[] }
  /** A read failed: for an organization trail of another account (its selectors may be unreadable here). */
  | { readonly trail: TrailObservation; readonly verdict: 'unverified'; readonly reason: string }
  /** A read failed for a trail of this account: the check itself failed. */
  | { readonly trail: TrailObservation; readonly verdict: 'unreadable'; readonly reason: string };

/** The account's state: covered (PASSED), blind (FAILED), unverified (WARNING), or unknown (the check failed). */
export interface TrailHealth {
  readonly status: 'covered' | 'blind' | 'unverified' | 'unknown';
  /** The region IAM's events arrive in, or undefined when the partition's is not known. */
  readonly iamEventRegion: string | undefined;
  readonly assessments: readonly TrailAssessment[];
}

const IAM_SOURCE = 'iam.amazonaws.com';

/** The event probed against the selectors: a management event of `source`, a write unless `readOnly`. */
interface Probe {
  readonly source: string;
  readonly readOnly: boolean;
}

function basicLogs(selector: BasicSelector, probe: Probe): boolean {
  if (selector.includeManagementEvents === false) return false;
  if ((selector.excludeManagementEventSources ?? []).includes(probe.source)) return false;
  const type = selector.readWriteType ?? 'All';
  return type === 'All' || type === (probe.readOnly ? 'ReadOnly' : 'WriteOnly');
}

function fieldAccepts(selector: FieldSelector, value: string): boolean {
  const any = (
    list: readonly string[] | undefined,
    test: (pattern: string) => boolean,
  ): boolean | undefined => (list === undefined || list.length === 0 ? undefined : list.some(test));
  return (
    any(selector.equals, (v) => v === value) !== false &&
    any(selector.startsWith, (v) => value.startsWith(v)) !== false &&
    any(selector.endsWith, (v) => value.endsWith(v)) !== false &&
    any(selector.notEquals, (v) => v === value) !== true &&
    any(selector.notStartsWith, (v) => value.startsWith(v)) !== true &&
    any(selector.notEndsWith, (v) => value.endsWith(v)) !== true
  );
}

function advancedLogs(selector: AdvancedSelector, probe: Probe): boolean {
  const values: Readonly<Record<string, string>> = {
    eventCategory: 'Management',
    readOnly: String(probe.readOnly),
    eventSource: probe.source,
  };
  return selector.fieldSelectors.every((field) => {
    const value = values[field.field];
    // A field this check cannot resolve (say eventName) narrows the selector to some events only.
    return value !== undefined && fieldAccepts(field, value);
  });
}

/** Which selector gap keeps IAM's management writes out; undefined when they are logged. */
export function selectorGap(
  basic: readonly BasicSelector[],
  advanced: readonly AdvancedSelector[],
): TrailGap | undefined {
  const logs = (probe: Probe): boolean =>
    basic.some((s) => basicLogs(s, probe)) || advanced.some((s) => advancedLogs(s, probe));
  if (logs({ source: IAM_SOURCE, readOnly: false })) return undefined;
  if (logs({ source: IAM_SOURCE, readOnly: true })) return 'read-only';
  if (logs({ source: 'other.amazonaws.com', readOnly: false })) return 'iam-excluded';
  return 'no-management-events';
}

const accountOfArn = (arn: string): string | undefined => arn.split(':')[4];

/** One trail: does it deliver IAM's management write events in `iamEventRegion`? */
export function assessTrail(
  trail: TrailObservation,
  accountId: string,
  iamEventRegion: string | undefined,
): TrailAssessment {
  const gaps: TrailGap[] = [];
  if (!trail.isMultiRegion && trail.homeRegion !== iamEventRegion) gaps.push('other-region');
  if (trail.includeGlobalServiceEvents === false) gaps.push('no-global-service-events');
  if (trail.status.ok && !trail.status.value.isLogging) gaps.push('not-logging');
  if (trail.selectors.ok) {
    const gap = selectorGap(trail.selectors.value.basic, trail.selectors.value.advanced);
    if (gap !== undefined) gaps.push(gap);
  }
  if (gaps.length > 0) return { trail, verdict: 'gap', gaps };
  const failed = !trail.status.ok ? trail.status : !trail.selectors.ok ? trail.selectors : undefined;
  if (failed === undefined) return { trail, verdict: 'covers' };
  const reason = `${failed.code}: ${failed.message}`;
  // Member accounts see an organization trail but may not read all of it (it lives in the management account).
  const foreign = trail.isOrganizationTrail && accountOfArn(trail.arn) !== accountId;
  return { trail, verdict: foreign ? 'unverified' : 'unreadable', reason };
}

/** The account: covered as soon as one trail covers; else unknown if one could not be read; else blind. */
export function evaluateTrailHealth(
  trails: readonly TrailObservation[],
  accountId: string,
  iamEventRegion: string | undefined,
): TrailHealth {
  const assessments = trails.map((trail) => assessTrail(trail, accountId, iamEventRegion));
  const has = (verdict: TrailAssessment['verdict']) => assessments.some((a) => a.verdict === verdict);
  const status = has('covers')
    ? 'covered'
    : has('unreadable')
      ? 'unknown'
      : has('unverified')
        ? 'unverified'
        : 'blind';
  return { status, iamEventRegion, assessments };
}

export const TRAIL_HEALTH_GENERATOR_ID = 'keywarden/health/cloudtrail-iam-events';
export const TRAIL_HEALTH_TYPE = 'Software and Configuration Checks/AWS Security Best Practices';
export const TRAIL_HEALTH_URL =
  'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html';
const FIELD = 'keywarden/health';
/** ProductFields pairs are limited to 50; trails past this many are counted, not listed. */
const MAX_LISTED_TRAILS = 10;

export function trailHealthFindingId(accountId: string): string {
  return `keywarden/health/${accountId}/cloudtrail`;
}

const GAP_TEXT: Readonly<Record<TrailGap, string>> = {
  'other-region': 'is a single-region trail outside the IAM event region',
  'no-global-service-events': 'excludes global service events (IAM is one)',
  'not-logging': 'is not logging',
  'no-management-events': 'records no management events',
  'read-only': 'records read-only management events only',
  'iam-excluded': 'excludes iam.amazonaws.com from its management events',
};

/** One trail's verdict in words, for the finding and the CLI. */
export function describeAssessment(assessment: TrailAssessment): string {
  const name = assessment.trail.arn;
  switch (assessment.verdict) {
    case 'covers':
      return `${name} delivers them`;
    case 'gap':
      return `${name} ${assessment.gaps.map((gap) => GAP_TEXT[gap]).join(', and ')}`;
    case 'unverified':
    case 'unreadable':
      return `${name} could not be read (${assessment.reason})`;
  }
}

/** What to do, for the gaps seen (the first trail's, else the account's). */
function advice(health: TrailHealth): string {
  const gaps = new Set(health.assessments.flatMap((a) => (a.verdict === 'gap' ? a.gaps : [])));
  const steps: string[] = [];
  if (health.assessments.length === 0 || gaps.has('other-region'))
    steps.push(
      'Create a multi-region trail that logs management events (read and write), or deploy KeyWarden with -c createTrail=true.',
    );
  if (gaps.has('not-logging')) steps.push('Start logging: aws cloudtrail start-logging --name <trail ARN>.');
  if (gaps.has('no-management-events') || gaps.has('read-only') || gaps.has('iam-excluded'))
    steps.push(
      'Make one event selector record management events with ReadWriteType All (or WriteOnly) without excluding IAM, keeping any data-event selectors: aws cloudtrail put-event-selectors.',
    );
  if (gaps.has('no-global-service-events'))
    steps.push('Include global service events: aws cloudtrail update-trail --include-global-service-events.');
  if (health.status === 'unverified')
    steps.push(
      "Check in the organization's management account that the organization trail logs management write events.",
    );
  return steps.join(' ');
}

export interface TrailHealthFindingInput {
  readonly account: AccountContext;
  /** Not `unknown`: an unknown state is not reported. */
  readonly health: TrailHealth & { readonly status: 'covered' | 'blind' | 'unverified' };
  /** When the trails were read. */
  readonly observedAt: Date;
  /** The stored finding's CreatedAt, kept across updates. */
  readonly createdAt?: Date | undefined;
}

/** The account's health finding: FAILED while blind, WARNING when unverified, PASSED when covered. */
export function buildTrailHealthFinding(input: TrailHealthFindingInput): Finding {
  const { account, health } = input;
  return buildHealthFinding({
    id: trailHealthFindingId(account.accountId),
    generatorId: TRAIL_HEALTH_GENERATOR_ID,
    hub: account,
    type: TRAIL_HEALTH_TYPE,
    ...trailHealthShape(health),
    url: TRAIL_HEALTH_URL,
    fields: trailHealthFields(health),
    resources: trailHealthResources(account, health),
    observedAt: input.observedAt,
    createdAt: input.createdAt,
  });
}

/** What the finding says for each state: PASSED when covered, FAILED when blind, WARNING when unverified. */
function trailHealthShape(health: TrailHealthFindingInput['health']) {
  const region = health.iamEventRegion ?? 'the IAM event region (unknown for this partition)';
  const covering = health.assessments.filter((a) => a.verdict === 'covers');
  const summary = health.assessments.length
    ? health.assessments.map(describeAssessment).join('; ')
    : 'the account has no trail (DescribeTrails, shadow and organization trails included)';
  const consequence =
    'Without such a trail no "AWS API Call via CloudTrail" event reaches EventBridge, so KeyWarden reacts to no access-key change in real time; only its scheduled sweep still finds violations.';
  const shapes = {
    covered: {
      status: 'PASSED',
      label: 'INFORMATIONAL',
      reasonCode: 'TRAIL_DELIVERS_IAM_EVENTS',
      title: `CloudTrail delivers IAM management write events in ${region} to KeyWarden`,
      description: `A trail logs IAM's management write events in ${region}, so KeyWarden sees access-key changes in real time: ${covering.map((a) => a.trail.arn).join(', ')}.`,
      recommendation: 'No action needed. Keep at least one trail logging management write events.',
    },
    blind: {
      status: 'FAILED',
      label: 'HIGH',
      reasonCode: health.assessments.length ? 'NO_TRAIL_DELIVERS_IAM_EVENTS' : 'NO_TRAIL',
      title: `KeyWarden is blind: no CloudTrail trail logs IAM management write events in ${region}`,
      description: `No trail delivers IAM's management write events in ${region}: ${summary}. ${consequence}`,
      recommendation: advice(health),
    },
    unverified: {
      status: 'WARNING',
      label: 'LOW',
      reasonCode: 'ORGANIZATION_TRAIL_UNVERIFIED',
      title: `KeyWarden cannot verify that the organization trail logs IAM management write events in ${region}`,
      description: `Only an organization trail of another account may deliver IAM's management write events in ${region}, and it could not be fully read from this account: ${summary}. If it does not: ${consequence}`,
      recommendation: advice(health),
    },
  } as const;
  return { ...shapes[health.status], summary };
}

/** The state, the region and each trail's verdict (the first MAX_LISTED_TRAILS), as product fields. */
function trailHealthFields(health: TrailHealthFindingInput['health']): Record<string, string> {
  const covering = health.assessments.filter((a) => a.verdict === 'covers');
  const fields: Record<string, string> = {
    [`${FIELD}/status`]: health.status,
    [`${FIELD}/iamEventRegion`]: health.iamEventRegion ?? 'unknown',
    [`${FIELD}/trailCount`]: String(health.assessments.length),
  };
  if (covering.length) fields[`${FIELD}/coveringTrails`] = covering.map((a) => a.trail.arn).join(',');
  health.assessments.slice(0, MAX_LISTED_TRAILS).forEach((assessment, index) => {
    fields[`${FIELD}/trail${index + 1}/arn`] = assessment.trail.arn;
    fields[`${FIELD}/trail${index + 1}/verdict`] =
      assessment.verdict === 'gap' ? assessment.gaps.join(',') : assessment.verdict;
  });
  return fields;
}

/** The account, then its trails (Security Hub takes at most 32 resources). */
function trailHealthResources(
  account: AccountContext,
  health: TrailHealthFindingInput['health'],
): Resource[] {
  return [
    {
      Type: 'AwsAccount',
      Id: `AWS::::Account:${account.accountId}`,
      Partition: account.partition as 'aws',
      Region: account.region,
    },
    ...health.assessments.slice(0, 31).map(({ trail }) => ({
      Type: 'AwsCloudTrailTrail',
      Id: trail.arn,
      Partition: account.partition as 'aws',
      Region: trail.homeRegion,
      Details: {
        AwsCloudTrailTrail: {
          Name: trail.name,
          TrailArn: trail.arn,
          HomeRegion: trail.homeRegion,
          IsMultiRegionTrail: trail.isMultiRegion,
          IsOrganizationTrail: trail.isOrganizationTrail,
          ...(trail.includeGlobalServiceEvents !== undefined
            ? { IncludeGlobalServiceEvents: trail.includeGlobalServiceEvents }
            : {}),
        },
      },
    })),
  ];
}
