import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateUser, exemptionOf, needsExemptionEvidence } from '../../functions/core/evaluate.ts';
import { parseTagUserRecord, settingFromEvent } from '../../functions/core/exemption-evidence.ts';
import { buildFinding } from '../../functions/core/finding.ts';
import type { ExemptionEvidence, ExemptionSetting } from '../../functions/core/types.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';
import { createdBy, IAM_USER } from './identities.ts';

// NOW is 2026-06-01T12:00:00Z.
const APPROVER_ROLE = 'arn:aws:iam::123456789012:role/security-admin';
const APPROVERS = [APPROVER_ROLE];
const tagged = (value: string) => snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': value } });
const setBy = (overrides: Partial<ExemptionSetting> = {}): ExemptionEvidence => ({
  kind: 'proven',
  setting: {
    setterArn: 'arn:aws:sts::123456789012:assumed-role/security-admin/jane',
    setterIssuerArn: APPROVER_ROLE,
    setterType: 'AssumedRole',
    setAt: new Date('2026-05-30T12:00:00Z'),
    value: 'true',
    eventId: 'ev-tag-1',
    source: 'cloudtrail',
    ...overrides,
  },
});
const MALLORY = {
  setterArn: 'arn:aws:iam::123456789012:user/mallory',
  setterIssuerArn: '',
  setterType: 'IAMUser',
};

describe('exemptionOf: the cap', () => {
  // Without approvers the set time is unknown; it is now or earlier, so now + MAX_EXEMPTION_DAYS bounds the end.
  it.each([
    { value: '2026-08-30T12:00:00Z', kind: 'until', verdict: 'exempt' },
    { value: '2026-08-30T12:00:01Z', kind: 'invalid', verdict: 'violation' },
    { value: '2026-06-08T12:00:00Z', kind: 'until', verdict: 'exempt' },
    { value: '9999-12-31T23:59:59Z', kind: 'invalid', verdict: 'violation' },
    { value: 'true', kind: 'permanent', verdict: 'exempt' },
    { value: '2026-05-31T12:00:00Z', kind: 'expired', verdict: 'violation' },
  ])('without approvers, $value is $kind: $verdict', ({ value, kind, verdict }) => {
    expect(exemptionOf(tagged(value), 'keywarden:exempt', NOW).kind).toBe(kind);
    const evaluation = evaluateUser('alice', tagged(value), POLICY, NOW);
    expect(evaluation.verdict).toBe(verdict);
    if (kind === 'invalid' && evaluation.verdict === 'violation') {
      expect(evaluation.exemptionRefused?.kind).toBe('invalid');
      expect(evaluation.exemptionIgnored).toContain('more than MAX_EXEMPTION_DAYS (90) days away');
    }
  });

  it.each([
    { maxExemptionDays: 7, value: '2026-06-08T12:00:00Z', kind: 'until' },
    { maxExemptionDays: 7, value: '2026-06-08T12:00:01Z', kind: 'invalid' },
  ])('reads MAX_EXEMPTION_DAYS=$maxExemptionDays: $value is $kind', ({ maxExemptionDays, value, kind }) => {
    expect(exemptionOf(tagged(value), 'keywarden:exempt', NOW, { maxExemptionDays }).kind).toBe(kind);
  });
});

describe('exemptionOf: approvers', () => {
  // Each honoured exemption beside the twin that is refused, and why.
  it.each<{ case: string; value: string; evidence: ExemptionEvidence | undefined; kind: string }>([
    { case: 'true set by an approver 2 days ago', value: 'true', evidence: setBy(), kind: 'until' },
    {
      case: 'true set by an approver 91 days ago (true lasts MAX_EXEMPTION_DAYS)',
      value: 'true',
      evidence: setBy({ setAt: new Date('2026-03-02T12:00:00Z') }),
      kind: 'expired',
    },
    {
      case: 'an end 60 days after an approver set it',
      value: '2026-07-29T12:00:00Z',
      evidence: setBy({ value: '2026-07-29T12:00:00Z' }),
      kind: 'until',
    },
    {
      case: 'an end 91 days after an approver set it (set 2 days ago)',
      value: '2026-08-29T12:00:01Z',
      evidence: setBy({ value: '2026-08-29T12:00:01Z' }),
      kind: 'invalid',
    },
    {
      case: 'set by the approver role itself (its ARN, no session)',
      value: 'true',
      evidence: setBy({ setterArn: APPROVER_ROLE, setterIssuerArn: '', setterType: 'Role' }),
      kind: 'until',
    },
    {
      case: 'set by an IAM user who is no approver',
      value: 'true',
      evidence: setBy(MALLORY),
      kind: 'not-approved',
    },
    {
      case: 'set by a role whose path holds the approver role after a colon',
      value: 'true',
      evidence: setBy({
        setterArn: 'arn:aws:sts::123456789012:assumed-role/x/s',
        setterIssuerArn: 'arn:aws:iam::123456789012:role/app/x:role/security-admin',
      }),
      kind: 'not-approved',
    },
    {
      case: 'an approver set another value than IAM shows',
      value: 'true',
      evidence: setBy({ value: '2026-06-10T00:00:00Z' }),
      kind: 'not-proven',
    },
    {
      case: 'nothing proves who set it',
      value: 'true',
      evidence: { kind: 'unproven', reason: 'no TagUser of it in the last 90 days' },
      kind: 'not-proven',
    },
    { case: 'CloudTrail was not read', value: 'true', evidence: undefined, kind: 'not-proven' },
    // Refused whoever set it: no proof is needed.
    {
      case: 'year 9999 set by an approver',
      value: '9999-01-01T00:00:00Z',
      evidence: undefined,
      kind: 'invalid',
    },
    { case: 'an end already past', value: '2026-05-01T00:00:00Z', evidence: undefined, kind: 'expired' },
  ])('$case: $kind', ({ value, evidence, kind }) => {
    const exemption = exemptionOf(tagged(value), 'keywarden:exempt', NOW, {
      exemptionApprovers: APPROVERS,
      evidence,
    });
    expect(exemption.kind).toBe(kind);
  });

  it('an honoured exemption names its approver and the pattern it matched; true ends MAX_EXEMPTION_DAYS after', () => {
    const evaluation = evaluateUser(
      'alice',
      tagged('true'),
      { ...POLICY, exemptionApprovers: APPROVERS },
      NOW,
      undefined,
      setBy(),
    );
    expect(evaluation).toMatchObject({
      verdict: 'exempt',
      until: new Date('2026-08-28T12:00:00Z'),
      approval: { pattern: APPROVER_ROLE, setting: { setterIssuerArn: APPROVER_ROLE } },
    });
  });

  it('an exemption set by another principal is a violation that names who set it', () => {
    const evaluation = evaluateUser(
      'alice',
      tagged('true'),
      { ...POLICY, exemptionApprovers: APPROVERS },
      NOW,
      undefined,
      setBy(MALLORY),
    );
    expect(evaluation.verdict).toBe('violation');
    if (evaluation.verdict !== 'violation') return;
    expect(evaluation.exemptionRefused).toMatchObject({ kind: 'not-approved', setting: MALLORY });
    expect(evaluation.exemptionIgnored).toContain('set by arn:aws:iam::123456789012:user/mallory (IAMUser)');
  });
});

describe('needsExemptionEvidence', () => {
  const policy = { ...POLICY, exemptionApprovers: APPROVERS };
  it.each([
    { case: 'approvers, two active keys, tag true', snap: tagged('true'), policy, needs: true },
    { case: 'no approvers', snap: tagged('true'), policy: POLICY, needs: false },
    {
      case: 'one active key',
      snap: snapshot([OLD_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      policy,
      needs: false,
    },
    { case: 'no tag', snap: snapshot([OLD_KEY, NEW_KEY]), policy, needs: false },
    {
      case: 'an end in year 9999 (invalid whoever set it)',
      snap: tagged('9999-01-01T00:00:00Z'),
      policy,
      needs: false,
    },
    { case: 'a malformed value', snap: tagged('yes'), policy, needs: false },
  ])('$case: $needs', ({ snap, policy: rules, needs }) => {
    expect(needsExemptionEvidence(snap, rules, NOW)).toBe(needs);
  });
});

describe('the finding of an exemption decided by approvers', () => {
  const findingOf = (evidence: ExemptionEvidence | undefined, value = 'true') => {
    const evaluation = evaluateUser(
      'alice',
      tagged(value),
      { ...POLICY, exemptionApprovers: APPROVERS },
      NOW,
      undefined,
      evidence,
    );
    if (evaluation.verdict === 'user-gone') throw new Error('unexpected user-gone');
    const built = buildFinding({
      account: ACCOUNT,
      evaluation,
      action: { kind: 'none' },
      trigger: { kind: 'sweep', origin: 'schedule' },
      updatedAt: NOW,
    });
    expectValidAsff(built);
    return built;
  };

  // The honoured exemption beside each refused twin.
  it('an approved exemption is WARNING/LOW and names its approver, the pattern and the CloudTrail event', () => {
    const finding = findingOf(setBy());
    expect(finding.Compliance?.Status).toBe('WARNING');
    expect(finding.Severity?.Label).toBe('LOW');
    expect(finding.Description).toContain(
      'set by arn:aws:sts::123456789012:assumed-role/security-admin/jane (AssumedRole) at 2026-05-30T12:00:00.000Z, an exemption approver (arn:aws:iam::123456789012:role/security-admin), proven by CloudTrail event ev-tag-1',
    );
    expect(finding.ProductFields).toMatchObject({
      'keywarden/detector/exemptionApprovedBy': 'arn:aws:sts::123456789012:assumed-role/security-admin/jane',
      'keywarden/detector/exemptionApproverPattern': APPROVER_ROLE,
      'keywarden/detector/exemptionSetAt': '2026-05-30T12:00:00.000Z',
      'keywarden/detector/exemptionValue': 'true',
      'keywarden/detector/exemptionEventId': 'ev-tag-1',
    });
  });

  it('an exemption set by another principal is FAILED/HIGH, EXEMPTION_NOT_APPROVED, naming who set it', () => {
    const finding = findingOf(setBy(MALLORY));
    expect(finding.Compliance?.Status).toBe('FAILED');
    expect(finding.Severity?.Label).toBe('HIGH');
    expect(finding.FindingProviderFields?.Severity?.Label).toBe('HIGH');
    expect(finding.Compliance?.StatusReasons?.map((reason) => reason.ReasonCode)).toEqual([
      'EXEMPTION_NOT_APPROVED',
      'MORE_THAN_ONE_ACTIVE_KEY',
    ]);
    expect(finding.Compliance?.StatusReasons?.[0]?.Description).toContain(
      'set by arn:aws:iam::123456789012:user/mallory (IAMUser)',
    );
    expect(finding.ProductFields?.['keywarden/detector/exemptionSetBy']).toBe(MALLORY.setterArn);
  });

  it('an exemption nothing proves is FAILED/HIGH, EXEMPTION_NOT_PROVEN, saying what could not be proven', () => {
    const finding = findingOf({
      kind: 'unproven',
      reason: 'CloudTrail holds no TagUser of keywarden:exempt on alice',
    });
    expect(finding.Severity?.Label).toBe('HIGH');
    expect(finding.Compliance?.StatusReasons?.[0]).toEqual({
      ReasonCode: 'EXEMPTION_NOT_PROVEN',
      Description:
        'who set keywarden:exempt="true" could not be proven: CloudTrail holds no TagUser of keywarden:exempt on alice, so it exempts nobody',
    });
  });

  it('an end beyond the cap is FAILED/MEDIUM, EXEMPTION_INVALID', () => {
    const finding = findingOf(undefined, '9999-12-31T23:59:59Z');
    expect(finding.Severity?.Label).toBe('MEDIUM');
    expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('EXEMPTION_INVALID');
    expect(finding.Description).toContain('more than MAX_EXEMPTION_DAYS (90) days away');
  });
});

describe('settingFromEvent and parseTagUserRecord', () => {
  it('reads who set the tag from a CloudTrail TagUser record, never from its user agent', () => {
    const raw = readFileSync(
      new URL('../fixtures/cloudtrail/record-tag-user-assumed-role.json', import.meta.url),
      'utf8',
    );
    expect(parseTagUserRecord(raw)).toEqual({
      eventId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      eventTime: new Date('2026-05-30T12:00:00Z'),
      setterArn: 'arn:aws:sts::123456789012:assumed-role/security-admin/jane',
      setterIssuerArn: 'arn:aws:iam::123456789012:role/security-admin',
      setterType: 'AssumedRole',
      userName: 'alice',
      tags: { 'keywarden:exempt': 'true' },
    });
    expect(parseTagUserRecord('not json')).toBeUndefined();
  });

  it('takes the setting of the exemption tag from a TagUser event, its key in any case', () => {
    const trigger = {
      ...createdBy(IAM_USER, 'bob'),
      eventName: 'TagUser' as const,
      tagKeys: ['KeyWarden:Exempt'],
      tagValues: { 'KeyWarden:Exempt': 'true' },
    };
    expect(settingFromEvent(trigger, 'keywarden:exempt')).toMatchObject({
      setterArn: 'arn:aws:iam::123456789012:user/Alice',
      value: 'true',
      source: 'event',
    });
    expect(settingFromEvent({ ...trigger, tagValues: { team: 'x' } }, 'keywarden:exempt')).toBeUndefined();
  });
});
