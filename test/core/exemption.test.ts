import { describe, expect, it } from 'vitest';
import { evaluateUser, exemptionOf, needsExemptionEvidence } from '../../functions/core/evaluate.ts';
import type { ExemptionEvidence, ExemptionSetting } from '../../functions/core/types.ts';
import { NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';

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
