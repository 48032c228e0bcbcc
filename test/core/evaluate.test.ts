import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseKeyToKeep, evaluateUser, exemptionOf, isExempt } from '../../functions/core/evaluate.ts';
import type { AccessKey } from '../../functions/core/types.ts';
import type { KeepKeyStrategy } from '../../functions/shared/constants.ts';
import { key, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';

const ids = (keys: readonly AccessKey[]): string[] => keys.map((k) => k.accessKeyId);

describe('evaluateUser', () => {
  // Each compliant state beside the failing twin that differs by one thing.
  it.each([
    { case: 'no key', keys: [], verdict: 'compliant', active: [] },
    { case: 'one active key', keys: [OLD_KEY], verdict: 'compliant', active: ['AKIAOLD0000000000001'] },
    {
      case: 'two active keys',
      keys: [OLD_KEY, NEW_KEY],
      verdict: 'violation',
      active: ['AKIAOLD0000000000001', 'AKIANEW0000000000002'],
    },
    {
      case: 'one active and one inactive key',
      keys: [{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY],
      verdict: 'compliant',
      active: ['AKIANEW0000000000002'],
    },
    {
      case: 'one active and one expired key',
      keys: [OLD_KEY, { ...NEW_KEY, status: 'Expired' }],
      verdict: 'compliant',
      active: ['AKIAOLD0000000000001'],
    },
    {
      case: 'two inactive keys',
      keys: [
        { ...OLD_KEY, status: 'Inactive' },
        { ...NEW_KEY, status: 'Inactive' },
      ],
      verdict: 'compliant',
      active: [],
    },
  ])('is $verdict with $case', ({ keys, verdict, active }) => {
    const evaluation = evaluateUser('alice', snapshot(keys), POLICY, NOW);
    expect(evaluation.verdict).toBe(verdict);
    expect(evaluation.verdict === 'user-gone' ? [] : ids(evaluation.activeKeys)).toEqual(active);
  });

  it('lists active keys oldest first whatever order IAM returns them in', () => {
    const evaluation = evaluateUser('alice', snapshot([NEW_KEY, OLD_KEY]), POLICY, NOW);
    expect(evaluation.verdict === 'violation' && ids(evaluation.activeKeys)).toEqual([
      'AKIAOLD0000000000001',
      'AKIANEW0000000000002',
    ]);
  });

  it('is user-gone when IAM does not know the user', () => {
    expect(evaluateUser('alice', undefined, POLICY, NOW)).toEqual({
      verdict: 'user-gone',
      userName: 'alice',
    });
  });

  describe('exemption', () => {
    it.each([
      { value: 'true', verdict: 'exempt' },
      { value: 'TRUE', verdict: 'exempt' },
      { value: ' True ', verdict: 'exempt' },
      { value: 'false', verdict: 'violation' },
      { value: 'yes', verdict: 'violation' },
      { value: '', verdict: 'violation' },
    ])('is $verdict with two active keys and the tag set to "$value"', ({ value, verdict }) => {
      const tagged = snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': value } });
      expect(evaluateUser('alice', tagged, POLICY, NOW).verdict).toBe(verdict);
    });

    it('reads the configured tag key, not the default one', () => {
      const policy = { ...POLICY, exemptTag: 'security/exempt' };
      const byDefaultTag = snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } });
      const byConfiguredTag = snapshot([OLD_KEY, NEW_KEY], { tags: { 'security/exempt': 'true' } });
      expect(evaluateUser('alice', byDefaultTag, policy, NOW).verdict).toBe('violation');
      expect(evaluateUser('alice', byConfiguredTag, policy, NOW).verdict).toBe('exempt');
    });

    it('says why the user is exempt', () => {
      const tagged = snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } });
      const evaluation = evaluateUser('alice', tagged, POLICY, NOW);
      expect(evaluation.verdict === 'exempt' && evaluation.reason).toContain('keywarden:exempt=true');
    });

    it('is compliant, not exempt, for an exempt user with one active key', () => {
      const tagged = snapshot([OLD_KEY], { tags: { 'keywarden:exempt': 'true' } });
      expect(evaluateUser('alice', tagged, POLICY, NOW).verdict).toBe('compliant');
    });

    it.each<{ tags: Record<string, string>; exempt: boolean }>([
      { tags: { 'keywarden:exempt': 'true' }, exempt: true },
      { tags: { 'keywarden:exempt': 'false' }, exempt: false },
      { tags: { 'KeyWarden:Exempt': 'true' }, exempt: true },
      { tags: { 'KeyWarden:Exempt': 'yes' }, exempt: false },
      { tags: { 'keywarden:exempted': 'true' }, exempt: false },
      { tags: {}, exempt: false },
    ])('isExempt is $exempt for tags $tags', ({ tags, exempt }) => {
      expect(isExempt(snapshot([], { tags }), 'keywarden:exempt', NOW)).toBe(exempt);
    });

    // NOW is 2026-06-01T12:00:00Z.
    it.each([
      { value: 'true', kind: 'permanent', verdict: 'exempt' },
      { value: '2026-06-08T12:00:00Z', kind: 'until', verdict: 'exempt' },
      { value: '2026-06-01T12:00:01.5+00:00', kind: 'until', verdict: 'exempt' },
      { value: '2026-06-01T12:00:00Z', kind: 'expired', verdict: 'violation' },
      { value: '2026-05-31T12:00:00Z', kind: 'expired', verdict: 'violation' },
      { value: '2026-06-08', kind: 'malformed', verdict: 'violation' },
      { value: 'tomorrow', kind: 'malformed', verdict: 'violation' },
      { value: '2026-13-40T99:00:00Z', kind: 'malformed', verdict: 'violation' },
      { value: '', kind: 'malformed', verdict: 'violation' },
    ])('a tag value $value is a $kind exemption: $verdict', ({ value, kind, verdict }) => {
      const tagged = snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': value } });
      expect(exemptionOf(tagged, 'keywarden:exempt', NOW).kind).toBe(kind);
      const evaluation = evaluateUser('alice', tagged, POLICY, NOW);
      expect(evaluation.verdict).toBe(verdict);
      if (evaluation.verdict === 'exempt' && kind === 'until') {
        expect(evaluation.until?.toISOString()).toBe(new Date(value).toISOString());
        expect(evaluation.reason).toContain('until then');
      }
      if (evaluation.verdict === 'violation') {
        expect(evaluation.exemptionIgnored).toContain(kind === 'expired' ? 'ended at' : 'exempts nothing');
      }
    });

    it('says nothing of an exemption for an untagged violating user', () => {
      const evaluation = evaluateUser('alice', snapshot([OLD_KEY, NEW_KEY]), POLICY, NOW);
      expect(evaluation).toMatchObject({ verdict: 'violation', exemptionIgnored: undefined });
    });
  });

  describe('key to keep', () => {
    it.each([
      { strategy: 'newest', keep: 'AKIANEW0000000000002', off: 'AKIAOLD0000000000001' },
      { strategy: 'oldest', keep: 'AKIAOLD0000000000001', off: 'AKIANEW0000000000002' },
      // The old key was used last week, the new one never: last-used keeps the one in use.
      { strategy: 'last-used', keep: 'AKIAOLD0000000000001', off: 'AKIANEW0000000000002' },
    ] as const)('keeps $keep and deactivates $off with KEEP_KEY=$strategy', ({ strategy, keep, off }) => {
      const evaluation = evaluateUser(
        'alice',
        snapshot([NEW_KEY, OLD_KEY]),
        { ...POLICY, keepKey: strategy },
        NOW,
      );
      if (evaluation.verdict !== 'violation')
        throw new Error(`expected a violation, got ${evaluation.verdict}`);
      expect(evaluation.keyToKeep.accessKeyId).toBe(keep);
      expect(ids(evaluation.keysToDeactivate)).toEqual([off]);
      expect(evaluation.keepReason).toContain(`KEEP_KEY=${strategy}`);
    });
  });

  describe('rotation grace', () => {
    const newKeyAt = (iso: string) => key('AKIANEW0000000000002', iso);
    it.each([
      { case: 'no grace configured', hours: 0, created: '2026-06-01T11:00:00.000Z', until: undefined },
      {
        case: 'no grace configured and a key dated ahead of this clock',
        hours: 0,
        created: '2026-06-01T12:00:02.000Z',
        until: undefined,
      },
      {
        case: 'the new key younger than the grace',
        hours: 24,
        created: '2026-06-01T11:00:00.000Z',
        until: '2026-06-02T11:00:00.000Z',
      },
      {
        case: 'the new key older than the grace',
        hours: 24,
        created: '2026-05-31T11:00:00.000Z',
        until: undefined,
      },
      {
        case: 'the grace ending exactly now',
        hours: 1,
        created: '2026-06-01T11:00:00.000Z',
        until: undefined,
      },
    ])('sets graceUntil to $until with $case', ({ hours, created, until }) => {
      const policy = { ...POLICY, rotationGraceHours: hours };
      const evaluation = evaluateUser('alice', snapshot([OLD_KEY, newKeyAt(created)]), policy, NOW);
      if (evaluation.verdict !== 'violation')
        throw new Error(`expected a violation, got ${evaluation.verdict}`);
      expect(evaluation.graceUntil?.toISOString()).toBe(until);
    });
  });
});

describe('chooseKeyToKeep', () => {
  const a = key('AKIAAAAAAAAAAAAAAAA1', '2026-01-01T00:00:00.000Z');
  const b = key('AKIABBBBBBBBBBBBBBB2', '2026-03-01T00:00:00.000Z');
  const used = (k: AccessKey, when: string | null) => ({
    ...k,
    lastUsed:
      when === null
        ? { date: undefined, serviceName: undefined, region: undefined }
        : { date: new Date(when), serviceName: 'iam', region: 'us-east-1' },
  });

  it.each([
    { case: 'newest', strategy: 'newest', keys: [a, b], keep: b.accessKeyId },
    { case: 'oldest', strategy: 'oldest', keys: [a, b], keep: a.accessKeyId },
    {
      case: 'last-used: the older key used more recently',
      strategy: 'last-used',
      keys: [used(a, '2026-05-30T00:00:00.000Z'), used(b, '2026-05-01T00:00:00.000Z')],
      keep: a.accessKeyId,
    },
    {
      case: 'last-used: the newer key used more recently',
      strategy: 'last-used',
      keys: [used(a, '2026-05-01T00:00:00.000Z'), used(b, '2026-05-30T00:00:00.000Z')],
      keep: b.accessKeyId,
    },
    {
      case: 'last-used: a used key beats a newer never-used key',
      strategy: 'last-used',
      keys: [used(a, '2020-01-01T00:00:00.000Z'), used(b, null)],
      keep: a.accessKeyId,
    },
    {
      case: 'last-used: a used key beats a key whose use was not read',
      strategy: 'last-used',
      keys: [b, used(a, '2020-01-01T00:00:00.000Z')],
      keep: a.accessKeyId,
    },
    {
      case: 'last-used: neither used keeps the newest',
      strategy: 'last-used',
      keys: [used(a, null), used(b, null)],
      keep: b.accessKeyId,
    },
    {
      case: 'last-used: a tie in last use keeps the newest',
      strategy: 'last-used',
      keys: [used(a, '2026-05-30T00:00:00.000Z'), used(b, '2026-05-30T00:00:00.000Z')],
      keep: b.accessKeyId,
    },
    {
      case: 'newest: a tie in creation keeps the greater id',
      strategy: 'newest',
      keys: [a, { ...b, createDate: a.createDate }],
      keep: b.accessKeyId,
    },
    {
      case: 'oldest: a tie in creation keeps the smaller id',
      strategy: 'oldest',
      keys: [{ ...b, createDate: a.createDate }, a],
      keep: a.accessKeyId,
    },
  ] as const)('keeps the right key for $case', ({ strategy, keys, keep }) => {
    expect(chooseKeyToKeep(keys, strategy).key.accessKeyId).toBe(keep);
    expect(chooseKeyToKeep([...keys].reverse(), strategy).key.accessKeyId).toBe(keep);
  });

  it('says when no key was ever used', () => {
    expect(chooseKeyToKeep([used(a, null), used(b, null)], 'last-used').reason).toContain(
      'no active key was ever used',
    );
    expect(chooseKeyToKeep([used(a, '2026-05-01T00:00:00Z'), b], 'last-used').reason).toContain(
      'most recently used',
    );
  });

  it('throws on an empty list rather than choosing nothing', () => {
    expect(() => chooseKeyToKeep([], 'newest')).toThrow(RangeError);
  });

  it('picks the same key whatever the input order, and always one of the keys', () => {
    const keyArb = fc.record({
      id: fc.stringMatching(/^AKIA[A-Z0-9]{4}$/),
      created: fc.integer({ min: 0, max: 1000 }),
      used: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { minLength: 1, maxLength: 4, selector: (k) => k.id }),
        fc.constantFrom<KeepKeyStrategy>('newest', 'oldest', 'last-used'),
        (specs, strategy) => {
          const keys = specs.map((s) =>
            used(
              key(s.id, new Date(s.created * 86_400_000).toISOString()),
              s.used === null ? null : new Date(s.used * 86_400_000).toISOString(),
            ),
          );
          const chosen = chooseKeyToKeep(keys, strategy).key.accessKeyId;
          expect(ids(keys)).toContain(chosen);
          expect(chooseKeyToKeep([...keys].reverse(), strategy).key.accessKeyId).toBe(chosen);
        },
      ),
    );
  });
});
