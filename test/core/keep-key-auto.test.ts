import { describe, expect, it } from 'vitest';
import type { KeyOrigin, KeyOrigins } from '../../functions/core/attribution.ts';
import { chooseKeyToKeep, evaluateUser } from '../../functions/core/evaluate.ts';
import { key, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';

const MALLORY = 'arn:aws:iam::123456789012:user/mallory';

function origin(
  accessKeyId: string,
  minter: KeyOrigin['minter'],
  how: KeyOrigin['how'] = 'created',
): KeyOrigin {
  return {
    accessKeyId,
    how,
    minter,
    actorArn: minter === 'self' ? 'arn:aws:iam::123456789012:user/alice' : MALLORY,
    actorType: 'IAMUser',
    eventTime: '2026-06-01T11:59:00Z',
  };
}

const origins = (...list: KeyOrigin[]): KeyOrigins => new Map(list.map((o) => [o.accessKeyId, o]));

describe('KEEP_KEY=auto', () => {
  // Each case beside the twin that differs only in who made the newer key usable.
  it.each([
    { case: 'nothing is known about either key', known: origins(), kept: NEW_KEY.accessKeyId },
    {
      case: 'the newer key was created by another principal',
      known: origins(origin(NEW_KEY.accessKeyId, 'another-principal')),
      kept: OLD_KEY.accessKeyId,
    },
    {
      case: 'the newer key was created by the user itself',
      known: origins(origin(NEW_KEY.accessKeyId, 'self')),
      kept: NEW_KEY.accessKeyId,
    },
    {
      case: 'the newer key was re-activated by another principal',
      known: origins(origin(NEW_KEY.accessKeyId, 'another-principal', 're-activated')),
      kept: OLD_KEY.accessKeyId,
    },
    {
      case: 'the newer key was created by a trusted key issuer',
      known: origins(origin(NEW_KEY.accessKeyId, 'trusted')),
      kept: NEW_KEY.accessKeyId,
    },
    {
      case: 'the older key was created by another principal',
      known: origins(origin(OLD_KEY.accessKeyId, 'another-principal')),
      kept: NEW_KEY.accessKeyId,
    },
  ])('keeps $kept when $case', ({ known, kept }) => {
    const choice = chooseKeyToKeep([OLD_KEY, NEW_KEY], 'auto', known);
    expect(choice.key.accessKeyId).toBe(kept);
    expect(choice.reason).toMatch(/KEEP_KEY=auto/);
  });

  it('names the key and the principal when it keeps the older key', () => {
    const choice = chooseKeyToKeep(
      [NEW_KEY, OLD_KEY],
      'auto',
      origins(origin(NEW_KEY.accessKeyId, 'another-principal')),
    );
    expect(choice.reason).toBe(
      `the newer key ${NEW_KEY.accessKeyId} was created by ${MALLORY}, another principal that is not a trusted key issuer, so the older key is kept (KEEP_KEY=auto)`,
    );
  });

  it('behaves as newest without origins, as the sweep sees a user', () => {
    const auto = chooseKeyToKeep([OLD_KEY, NEW_KEY], 'auto');
    const newest = chooseKeyToKeep([OLD_KEY, NEW_KEY], 'newest');
    expect(auto.key).toBe(newest.key);
  });

  it('is not fooled by an origin for a key the user no longer has', () => {
    const other = key('AKIAGONE000000000003', '2026-06-01T11:59:30.000Z');
    const choice = chooseKeyToKeep(
      [OLD_KEY, NEW_KEY],
      'auto',
      origins(origin(other.accessKeyId, 'another-principal')),
    );
    expect(choice.key.accessKeyId).toBe(NEW_KEY.accessKeyId);
  });

  it('reads origins under auto only: oldest, newest and last-used ignore them', () => {
    const known = origins(origin(NEW_KEY.accessKeyId, 'another-principal'));
    expect(chooseKeyToKeep([OLD_KEY, NEW_KEY], 'newest', known).key).toBe(NEW_KEY);
    expect(chooseKeyToKeep([OLD_KEY, NEW_KEY], 'oldest', known).key).toBe(OLD_KEY);
    expect(chooseKeyToKeep([OLD_KEY, NEW_KEY], 'last-used', known).key).toBe(OLD_KEY);
  });

  describe('evaluateUser', () => {
    const policy = { ...POLICY, keepKey: 'auto' as const, rotationGraceHours: 24 };

    it('deactivates the newer key another principal created, without waiting for the rotation grace', () => {
      const evaluation = evaluateUser(
        'alice',
        snapshot([OLD_KEY, NEW_KEY]),
        policy,
        NOW,
        origins(origin(NEW_KEY.accessKeyId, 'another-principal')),
      );
      expect(evaluation.verdict === 'violation' && evaluation.keyToKeep).toBe(OLD_KEY);
      expect(evaluation.verdict === 'violation' && evaluation.keysToDeactivate).toEqual([NEW_KEY]);
      expect(evaluation.verdict === 'violation' && evaluation.graceUntil).toBeUndefined();
    });

    it('treats the user creating its own newer key as a rotation: newest kept, grace applies', () => {
      const evaluation = evaluateUser(
        'alice',
        snapshot([OLD_KEY, NEW_KEY]),
        policy,
        NOW,
        origins(origin(NEW_KEY.accessKeyId, 'self')),
      );
      expect(evaluation.verdict === 'violation' && evaluation.keyToKeep).toBe(NEW_KEY);
      expect(evaluation.verdict === 'violation' && evaluation.graceUntil?.toISOString()).toBe(
        '2026-06-02T11:59:00.000Z',
      );
    });

    it('keeps the rotation grace for KEEP_KEY=oldest even when another principal created the key', () => {
      const evaluation = evaluateUser(
        'alice',
        snapshot([OLD_KEY, NEW_KEY]),
        { ...policy, keepKey: 'oldest' },
        NOW,
        origins(origin(NEW_KEY.accessKeyId, 'another-principal')),
      );
      expect(evaluation.verdict === 'violation' && evaluation.graceUntil?.toISOString()).toBe(
        '2026-06-02T11:59:00.000Z',
      );
    });

    it('leaves an exempt user exempt, whoever created the key', () => {
      const evaluation = evaluateUser(
        'alice',
        snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
        policy,
        NOW,
        origins(origin(NEW_KEY.accessKeyId, 'another-principal')),
      );
      expect(evaluation.verdict).toBe('exempt');
    });
  });
});
