import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Evaluation, evaluateUser } from '../../functions/core/evaluate.ts';
import { planRemediation, unsafeToDeactivate } from '../../functions/core/remediation.ts';
import type { AccessKey } from '../../functions/core/types.ts';
import type { REMEDIATION_MODES } from '../../functions/shared/constants.ts';
import { key, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';

const violation = evaluateUser('alice', snapshot([OLD_KEY, NEW_KEY]), POLICY, NOW);
const inGrace = evaluateUser(
  'alice',
  snapshot([OLD_KEY, NEW_KEY]),
  { ...POLICY, rotationGraceHours: 24 },
  NOW,
);
const compliant = evaluateUser('alice', snapshot([OLD_KEY]), POLICY, NOW);
const exempt = evaluateUser(
  'alice',
  snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
  POLICY,
  NOW,
);
const gone = evaluateUser('alice', undefined, POLICY, NOW);

describe('planRemediation', () => {
  it.each([
    { case: 'a violation, off', evaluation: violation, mode: 'off', plan: { kind: 'none' } },
    {
      case: 'a violation, dry-run',
      evaluation: violation,
      mode: 'dry-run',
      plan: { kind: 'dry-run', keys: [OLD_KEY] },
    },
    {
      case: 'a violation, deactivate',
      evaluation: violation,
      mode: 'deactivate',
      plan: { kind: 'deactivate', keys: [OLD_KEY] },
    },
    {
      case: 'a compliant user, deactivate',
      evaluation: compliant,
      mode: 'deactivate',
      plan: { kind: 'none' },
    },
    { case: 'an exempt user, deactivate', evaluation: exempt, mode: 'deactivate', plan: { kind: 'none' } },
    { case: 'a deleted user, deactivate', evaluation: gone, mode: 'deactivate', plan: { kind: 'none' } },
    { case: 'a violation in rotation grace, off', evaluation: inGrace, mode: 'off', plan: { kind: 'none' } },
    {
      case: 'a violation in rotation grace, deactivate',
      evaluation: inGrace,
      mode: 'deactivate',
      plan: { kind: 'postponed', until: new Date('2026-06-02T11:59:00.000Z') },
    },
    {
      case: 'a violation in rotation grace, dry-run',
      evaluation: inGrace,
      mode: 'dry-run',
      plan: { kind: 'postponed', until: new Date('2026-06-02T11:59:00.000Z') },
    },
  ] as { case: string; evaluation: Evaluation; mode: (typeof REMEDIATION_MODES)[number]; plan: unknown }[])(
    'plans $plan.kind for $case',
    ({ evaluation, mode, plan }) => {
      expect(planRemediation(evaluation, mode)).toEqual(plan);
    },
  );

  it('never plans to switch off the key to keep', () => {
    for (const keepKey of ['newest', 'oldest', 'last-used'] as const) {
      const evaluation = evaluateUser('alice', snapshot([OLD_KEY, NEW_KEY]), { ...POLICY, keepKey }, NOW);
      const plan = planRemediation(evaluation, 'deactivate');
      if (plan.kind !== 'deactivate' || evaluation.verdict !== 'violation')
        throw new Error('expected a plan');
      expect(plan.keys.map((k) => k.accessKeyId)).not.toContain(evaluation.keyToKeep.accessKeyId);
      expect(plan.keys).toHaveLength(1);
    }
  });
});

describe('unsafeToDeactivate', () => {
  const keep = NEW_KEY.accessKeyId;
  const off = [OLD_KEY];
  const inactive = (k: AccessKey): AccessKey => ({ ...k, status: 'Inactive' });

  it.each([
    { case: 'both keys still active', fresh: [OLD_KEY, NEW_KEY], reason: undefined },
    {
      case: 'the key to keep deactivated meanwhile',
      fresh: [OLD_KEY, inactive(NEW_KEY)],
      reason: `${keep}, is no longer active`,
    },
    { case: 'the key to keep deleted meanwhile', fresh: [OLD_KEY], reason: `${keep}, is no longer active` },
    {
      case: 'the key to keep expired',
      fresh: [OLD_KEY, { ...NEW_KEY, status: 'Expired' }],
      reason: 'no longer active',
    },
    {
      case: 'the surplus key already deactivated',
      fresh: [inactive(OLD_KEY), NEW_KEY],
      reason: `${OLD_KEY.accessKeyId} is no longer active`,
    },
    {
      case: 'the surplus key deleted',
      fresh: [NEW_KEY],
      reason: `${OLD_KEY.accessKeyId} is no longer active`,
    },
    { case: 'no key left at all', fresh: [], reason: 'no longer active' },
  ])('returns $reason with $case', ({ fresh, reason }) => {
    const result = unsafeToDeactivate(keep, off, fresh);
    if (reason === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(reason);
  });

  it('refuses when the key to keep is among those to switch off', () => {
    expect(unsafeToDeactivate(keep, [OLD_KEY, NEW_KEY], [OLD_KEY, NEW_KEY])).toBe(
      'the key to keep is among those to switch off',
    );
  });

  it('never lets a deactivation leave the user without an active key', () => {
    const keyArb = fc.record({
      id: fc.constantFrom('AKIA1', 'AKIA2', 'AKIA3'),
      status: fc.constantFrom('Active', 'Inactive', 'Expired'),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { maxLength: 3, selector: (k) => k.id }),
        fc.constantFrom('AKIA1', 'AKIA2', 'AKIA3'),
        fc.subarray(['AKIA1', 'AKIA2', 'AKIA3']),
        (freshSpecs, keepId, offIds) => {
          const fresh = freshSpecs.map((s) => key(s.id, '2026-01-01T00:00:00Z', { status: s.status }));
          const toDeactivate = offIds.map((id) => key(id, '2026-01-01T00:00:00Z'));
          if (unsafeToDeactivate(keepId, toDeactivate, fresh) !== undefined) return;
          const after = fresh.filter((k) => k.status === 'Active' && !offIds.includes(k.accessKeyId));
          expect(after.length).toBeGreaterThanOrEqual(1);
          expect(after.map((k) => k.accessKeyId)).toContain(keepId);
        },
      ),
    );
  });
});
