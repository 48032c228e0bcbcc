import { describe, expect, it } from 'vitest';
import { type Evaluation, evaluateUser } from '../../functions/core/evaluate.ts';
import { planRemediation } from '../../functions/core/remediation.ts';
import type { REMEDIATION_MODES } from '../../functions/shared/constants.ts';
import { NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';

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
