import { describe, expect, it } from 'vitest';
import {
  buildCoverageFinding,
  COVERAGE_HEALTH_GENERATOR_ID,
  type CoverageObservation,
  coverageFindingId,
  type ExpectedForwarding,
  evaluateCoverage,
  type ForwardingRuleObservation,
  samePattern,
} from '../../functions/core/coverage.ts';
import { FORWARDING_RULE_NAME, KEY_EVENT_PATTERN } from '../../functions/shared/constants.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT } from './builders.ts';

const MEMBER = '111122223333';
const BUS = `arn:aws:events:us-east-1:${ACCOUNT.accountId}:event-bus/keywarden-organization`;
const EXPECTED: ExpectedForwarding = {
  ruleName: FORWARDING_RULE_NAME,
  eventPattern: KEY_EVENT_PATTERN,
  centralBusArn: BUS,
};
const OBSERVED_AT = new Date('2026-06-01T12:00:00.000Z');

function rule(overrides: Partial<ForwardingRuleObservation> = {}): CoverageObservation {
  return {
    role: { ok: true, value: true },
    rule: {
      ok: true,
      value: {
        arn: `arn:aws:events:us-east-1:${MEMBER}:rule/${FORWARDING_RULE_NAME}`,
        state: 'ENABLED',
        eventPattern: JSON.stringify(KEY_EVENT_PATTERN),
        targetArns: [BUS],
        ...overrides,
      },
    },
  };
}

// The pattern as EventBridge may store it: keys in another order, list entries reordered.
const REORDERED = JSON.stringify({
  detail: {
    errorCode: [{ exists: false }],
    eventName: [...KEY_EVENT_PATTERN.detail.eventName].reverse(),
    eventSource: ['iam.amazonaws.com'],
  },
  'detail-type': ['AWS API Call via CloudTrail'],
  source: ['aws.iam'],
});
const NARROWED = JSON.stringify({
  ...KEY_EVENT_PATTERN,
  detail: { ...KEY_EVENT_PATTERN.detail, eventName: ['TagUser'] },
});

describe('evaluateCoverage', () => {
  it.each([
    ['an enabled rule forwarding the pattern to the central bus', rule(), []],
    ['the same rule disabled', rule({ state: 'DISABLED' }), ['RULE_DISABLED']],
    ['the pattern with keys and list entries reordered', rule({ eventPattern: REORDERED }), []],
    ['a pattern narrowed to one event name', rule({ eventPattern: NARROWED }), ['RULE_PATTERN_CHANGED']],
    [
      'a rule targeting the central bus among others',
      rule({ targetArns: ['arn:aws:sqs:us-east-1:1:q', BUS] }),
      [],
    ],
    [
      'a rule retargeted to another bus',
      rule({ targetArns: [`arn:aws:events:us-east-1:${MEMBER}:event-bus/default`] }),
      ['RULE_RETARGETED'],
    ],
    ['a rule with no pattern (scheduled)', rule({ eventPattern: undefined }), ['RULE_PATTERN_CHANGED']],
    [
      'a rule disabled and retargeted',
      rule({ state: 'DISABLED', targetArns: [] }),
      ['RULE_DISABLED', 'RULE_RETARGETED'],
    ],
    [
      'a deleted rule',
      { role: { ok: true, value: true }, rule: { ok: true, value: undefined } },
      ['RULE_MISSING'],
    ],
    [
      'a rule that could not be read',
      { role: { ok: true, value: true }, rule: { ok: false, code: 'AccessDeniedException', message: 'no' } },
      ['RULE_UNREADABLE'],
    ],
    [
      'a member role that cannot be assumed',
      { role: { ok: false, code: 'AccessDenied', message: 'not authorized' } },
      ['ROLE_UNASSUMABLE'],
    ],
  ] as const)('%s: %j', (_case, observation, codes) => {
    // Act
    const health = evaluateCoverage(observation as CoverageObservation, EXPECTED);

    // Assess
    expect(health.problems.map((problem) => problem.code)).toEqual(codes);
    expect(health.status).toBe(codes.length === 0 ? 'covered' : 'blind');
  });

  it.each([
    ['not JSON', '{not json', false],
    ['the same pattern', JSON.stringify(KEY_EVENT_PATTERN), true],
    ['an extra condition', JSON.stringify({ ...KEY_EVENT_PATTERN, account: ['1'] }), false],
  ])('compares the stored pattern semantically: %s', (_case, stored, same) => {
    expect(samePattern(stored, KEY_EVENT_PATTERN)).toBe(same);
  });
});

describe('buildCoverageFinding', () => {
  const member = { ...ACCOUNT, accountId: MEMBER };

  it('is FAILED (HIGH) in the member’s own hub with what is wrong and how to fix it', () => {
    // Prepare
    const health = evaluateCoverage(rule({ state: 'DISABLED' }), EXPECTED);

    // Act
    const finding = buildCoverageFinding({
      subject: MEMBER,
      hub: member,
      health,
      expected: EXPECTED,
      observedAt: OBSERVED_AT,
    });

    // Assess
    expectValidAsff(finding, MEMBER);
    expect(finding).toMatchObject({
      Id: coverageFindingId(MEMBER),
      GeneratorId: COVERAGE_HEALTH_GENERATOR_ID,
      AwsAccountId: MEMBER,
      Compliance: { Status: 'FAILED', StatusReasons: [{ ReasonCode: 'RULE_DISABLED' }] },
      Severity: { Label: 'HIGH' },
    });
    expect(finding.Description).toContain(`${FORWARDING_RULE_NAME} is DISABLED`);
    expect(finding.Remediation?.Recommendation?.Text).toContain('aws events enable-rule');
  });

  it('is PASSED (INFORMATIONAL) for its covered twin, keeping CreatedAt', () => {
    // Prepare
    const createdAt = new Date('2026-05-01T00:00:00.000Z');

    // Act
    const finding = buildCoverageFinding({
      subject: MEMBER,
      hub: member,
      health: evaluateCoverage(rule(), EXPECTED),
      expected: EXPECTED,
      observedAt: OBSERVED_AT,
      createdAt,
    });

    // Assess
    expectValidAsff(finding, MEMBER);
    expect(finding).toMatchObject({
      Compliance: { Status: 'PASSED' },
      Severity: { Label: 'INFORMATIONAL' },
      CreatedAt: createdAt.toISOString(),
      UpdatedAt: OBSERVED_AT.toISOString(),
    });
  });

  it('names the calling (central) account when the member’s hub is out of reach, and the member as its resource', () => {
    // Prepare
    const health = evaluateCoverage(
      { role: { ok: false, code: 'AccessDenied', message: 'denied' } },
      EXPECTED,
    );

    // Act
    const finding = buildCoverageFinding({
      subject: MEMBER,
      hub: ACCOUNT,
      health,
      expected: EXPECTED,
      observedAt: OBSERVED_AT,
    });

    // Assess: Security Hub takes a custom finding only from the account named in AwsAccountId.
    expectValidAsff(finding, ACCOUNT.accountId);
    expect(finding.AwsAccountId).toBe(ACCOUNT.accountId);
    expect(finding.Resources?.[0]?.Id).toBe(`AWS::::Account:${MEMBER}`);
    expect(finding.Title).toContain(`blind to account ${MEMBER}`);
    expect(finding.Description).toContain('member role could not be assumed (AccessDenied: denied)');
  });
});
