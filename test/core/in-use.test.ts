/** In-use protection (IN_USE_HOURS): a key used within the window is not switched off, as a table of decisions. */

import { describe, expect, it } from 'vitest';
import { type Decision, type DecisionSettings, decide } from '../../functions/core/decide.ts';
import { inUseUntil, keysInUse } from '../../functions/core/evaluate.ts';
import type { Finding } from '../../functions/core/finding.ts';
import type { AccessKey, EventTrigger, UserSnapshot } from '../../functions/core/types.ts';
import type { KeepKeyStrategy, RemediationMode } from '../../functions/shared/constants.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT, EVENT_TRIGGER, key, NOW, POLICY, snapshot } from './builders.ts';

const OLD = 'AKIAOLD0000000000001';
const NEW = 'AKIANEW0000000000002';
const hoursAgo = (hours: number): string => new Date(NOW.getTime() - hours * 3_600_000).toISOString();
const oldKey = (usedHoursAgo?: number): AccessKey =>
  key(OLD, '2026-01-10T08:00:00.000Z', {
    lastUsed: usedHoursAgo === undefined ? null : hoursAgo(usedHoursAgo),
    service: 'sts',
    region: 'eu-west-1',
  });
const newKey = (usedHoursAgo?: number): AccessKey =>
  key(NEW, '2026-06-01T11:00:00.000Z', {
    lastUsed: usedHoursAgo === undefined ? null : hoursAgo(usedHoursAgo),
    service: 's3',
    region: 'us-west-2',
  });

const SELF: Partial<EventTrigger> = {
  actorArn: 'arn:aws:iam::123456789012:user/alice',
  actorUserName: 'alice',
  actorType: 'IAMUser',
};
const ANOTHER: Partial<EventTrigger> = {
  actorArn: 'arn:aws:iam::123456789012:user/mallory',
  actorUserName: 'mallory',
  actorType: 'IAMUser',
};
const createdBy = (by: 'self' | 'another'): EventTrigger => ({
  ...EVENT_TRIGGER,
  ...(by === 'self' ? SELF : ANOTHER),
  eventName: 'CreateAccessKey',
  accessKeyId: NEW,
});

const SETTINGS: DecisionSettings = { ...POLICY, remediationMode: 'deactivate', inUseHours: 24 };

function run(
  user: UserSnapshot,
  options: {
    mode?: RemediationMode;
    keepKey?: KeepKeyStrategy;
    inUseHours?: number;
    graceHours?: number;
    by?: 'self' | 'another';
    previous?: Finding;
  },
): Decision {
  return decide({
    account: ACCOUNT,
    settings: {
      ...SETTINGS,
      remediationMode: options.mode ?? 'deactivate',
      keepKey: options.keepKey ?? 'newest',
      inUseHours: options.inUseHours ?? 24,
      rotationGraceHours: options.graceHours ?? 0,
    },
    request: {
      userName: 'alice',
      trigger: createdBy(options.by ?? 'self'),
      ...(options.previous ? { previousFinding: options.previous } : {}),
    },
    reads: {
      snapshot: user,
      readAt: NOW,
      compliance: undefined,
      former: undefined,
      threats: new Map(),
      evidence: undefined,
    },
  });
}

type Expected =
  | { readonly deactivate: readonly string[] }
  | {
      readonly action: 'in-use' | 'dry-run' | 'none' | 'postponed';
      readonly reasons: readonly string[];
      readonly notified: readonly string[];
    };

describe('in-use protection: each protected case beside its twin that is switched off', () => {
  it.each<{
    case: string;
    user: UserSnapshot;
    options: Parameters<typeof run>[1];
    expected: Expected;
  }>([
    {
      case: 'newest: the old key used 2 hours ago, a new key never used -> KEY_IN_USE, no write',
      user: snapshot([oldKey(2), newKey()]),
      options: {},
      expected: {
        action: 'in-use',
        reasons: ['KEY_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Violation Detected'],
      },
    },
    {
      case: 'newest: the old key last used 30 hours ago (idle) -> switched off as before',
      user: snapshot([oldKey(30), newKey()]),
      options: {},
      expected: { deactivate: [OLD] },
    },
    {
      case: 'IN_USE_HOURS=0: the old key used 2 hours ago -> switched off (no protection)',
      user: snapshot([oldKey(2), newKey()]),
      options: { inUseHours: 0 },
      expected: { deactivate: [OLD] },
    },
    {
      case: 'the last use just inside the window (23h59m ago) -> in use',
      user: snapshot([oldKey(23 + 59 / 60), newKey()]),
      options: {},
      expected: {
        action: 'in-use',
        reasons: ['KEY_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Violation Detected'],
      },
    },
    {
      case: 'the last use exactly a window ago -> idle, switched off',
      user: snapshot([oldKey(24), newKey()]),
      options: {},
      expected: { deactivate: [OLD] },
    },
    {
      case: 'both keys in use -> BOTH_KEYS_IN_USE, no write, Keys In Use',
      user: snapshot([oldKey(2), newKey(1)]),
      options: {},
      expected: {
        action: 'in-use',
        reasons: ['BOTH_KEYS_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Keys In Use'],
      },
    },
    {
      case: 'only the key to keep in use -> the idle one switched off',
      user: snapshot([oldKey(30), newKey(1)]),
      options: {},
      expected: { deactivate: [OLD] },
    },
    {
      case: 'auto: another principal minted the new key and uses it, the old one in use too -> its key switched off',
      user: snapshot([oldKey(2), newKey(1)]),
      options: { keepKey: 'auto', by: 'another' },
      expected: { deactivate: [NEW] },
    },
    {
      case: 'newest: another principal minted the new key, both in use -> no exception outside auto',
      user: snapshot([oldKey(2), newKey(1)]),
      options: { keepKey: 'newest', by: 'another' },
      expected: {
        action: 'in-use',
        reasons: ['BOTH_KEYS_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Keys In Use', 'Key Minted By Another Principal'],
      },
    },
    {
      case: 'auto, the user made the new key, both in use -> BOTH_KEYS_IN_USE',
      user: snapshot([oldKey(2), newKey(1)]),
      options: { keepKey: 'auto', by: 'self' },
      expected: {
        action: 'in-use',
        reasons: ['BOTH_KEYS_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Keys In Use'],
      },
    },
    {
      case: 'auto without a threat: only the old key in use -> the old key kept, the new one switched off',
      user: snapshot([oldKey(2), newKey()]),
      options: { keepKey: 'auto' },
      expected: { deactivate: [NEW] },
    },
    {
      case: 'auto without a threat: neither in use -> the newest kept, as before',
      user: snapshot([oldKey(30), newKey()]),
      options: { keepKey: 'auto' },
      expected: { deactivate: [OLD] },
    },
    {
      case: 'last-used: only the old key in use -> kept, the new one switched off',
      user: snapshot([oldKey(2), newKey()]),
      options: { keepKey: 'last-used' },
      expected: { deactivate: [NEW] },
    },
    {
      case: 'last-used: both in use -> BOTH_KEYS_IN_USE',
      user: snapshot([oldKey(2), newKey(1)]),
      options: { keepKey: 'last-used' },
      expected: {
        action: 'in-use',
        reasons: ['BOTH_KEYS_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Keys In Use'],
      },
    },
    {
      case: 'oldest: the new key in use -> KEY_IN_USE',
      user: snapshot([oldKey(30), newKey(1)]),
      options: { keepKey: 'oldest' },
      expected: {
        action: 'in-use',
        reasons: ['KEY_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Violation Detected'],
      },
    },
    {
      case: 'dry run: the old key in use -> says it would not switch it off',
      user: snapshot([oldKey(2), newKey()]),
      options: { mode: 'dry-run' },
      expected: {
        action: 'in-use',
        reasons: ['KEY_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Violation Detected'],
      },
    },
    {
      case: 'dry run: the old key idle -> would switch it off',
      user: snapshot([oldKey(30), newKey()]),
      options: { mode: 'dry-run' },
      expected: {
        action: 'dry-run',
        reasons: ['MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Violation Detected'],
      },
    },
    {
      case: 'detect only: the old key in use -> nothing to hold back, reported as before',
      user: snapshot([oldKey(2), newKey()]),
      options: { mode: 'off' },
      expected: { action: 'none', reasons: ['MORE_THAN_ONE_ACTIVE_KEY'], notified: ['Violation Detected'] },
    },
    {
      case: 'inside the rotation grace: postponed first, as before',
      user: snapshot([oldKey(2), newKey()]),
      options: { graceHours: 24 },
      expected: {
        action: 'postponed',
        reasons: ['MORE_THAN_ONE_ACTIVE_KEY'],
        notified: ['Violation Detected'],
      },
    },
  ])('$case', ({ user, options, expected }) => {
    // Act
    const decision = run(user, options);

    // Assess
    if ('deactivate' in expected) {
      if (decision.kind !== 'deactivate') throw new Error(`expected a deactivation, got ${decision.kind}`);
      expect(decision.keys.map((k) => k.accessKeyId)).toEqual(expected.deactivate);
      return;
    }
    if (decision.kind !== 'record') throw new Error('expected no IAM write');
    const { effects } = decision;
    expect(effects.action.kind).toBe(expected.action);
    expect(effects.finding?.Compliance?.Status).toBe('FAILED');
    expect(effects.finding?.Compliance?.StatusReasons?.map((r) => r.ReasonCode)).toEqual(expected.reasons);
    expect(effects.notifications.map((n) => n.outcome)).toEqual(expected.notified);
    expectValidAsff(effects.finding);
  });
});

describe('in-use protection: what the finding says', () => {
  const reasonOf = (decision: Decision, code: string): string => {
    if (decision.kind !== 'record') throw new Error('expected no IAM write');
    const reason = decision.effects.finding?.Compliance?.StatusReasons?.find((r) => r.ReasonCode === code);
    if (reason === undefined) throw new Error(`no ${code}`);
    return reason.Description ?? '';
  };

  it('KEY_IN_USE names the key, its last use (date, service, region) and when KeyWarden looks again', () => {
    // Arrange
    const decision = run(snapshot([oldKey(2), newKey()]), {});

    // Act
    const reason = reasonOf(decision, 'KEY_IN_USE');

    // Assess
    const lastUse = hoursAgo(2);
    const lookAgain = new Date(NOW.getTime() + 22 * 3_600_000).toISOString();
    expect(reason).toContain(`${OLD} last used ${lastUse} by sts in eu-west-1`);
    expect(reason).toContain(`looks again at ${lookAgain}`);
    expect(reason).toContain('does not switch it off');
    if (decision.kind !== 'record') throw new Error('expected no IAM write');
    const fields = decision.effects.finding?.ProductFields ?? {};
    expect(fields['keywarden/detector/keysInUse']).toBe(OLD);
    expect(fields['keywarden/detector/lookAgainAt']).toBe(lookAgain);
    expect(fields['keywarden/detector/action']).toBe('in-use');
    expect(decision.effects.finding?.Remediation?.Recommendation?.Text).toContain('Finish the rotation');
  });

  it('a dry run says it would not switch the key off', () => {
    expect(reasonOf(run(snapshot([oldKey(2), newKey()]), { mode: 'dry-run' }), 'KEY_IN_USE')).toContain(
      'would not switch it off',
    );
    const decision = run(snapshot([oldKey(2), newKey()]), { mode: 'dry-run' });
    if (decision.kind !== 'record') throw new Error('expected no IAM write');
    expect(decision.effects.finding?.Description).toContain('Dry run: KeyWarden would not switch off');
  });

  it('BOTH_KEYS_IN_USE gives each key its last use and what to do; the notification carries them', () => {
    // Arrange
    const decision = run(snapshot([oldKey(2), newKey(1)]), {});

    // Act
    const reason = reasonOf(decision, 'BOTH_KEYS_IN_USE');

    // Assess
    expect(reason).toContain(`${OLD} last used ${hoursAgo(2)} by sts in eu-west-1`);
    expect(reason).toContain(`${NEW} last used ${hoursAgo(1)} by s3 in us-west-2`);
    expect(reason).toContain('move the application to one key');
    if (decision.kind !== 'record') throw new Error('expected no IAM write');
    const [notification] = decision.effects.notifications;
    expect(notification?.detail).toMatchObject({
      keyToKeep: NEW,
      inUseHours: 24,
      dryRun: false,
      keysInUse: [
        { accessKeyId: OLD, lastUsedDate: hoursAgo(2), lastUsedService: 'sts', lastUsedRegion: 'eu-west-1' },
        { accessKeyId: NEW, lastUsedDate: hoursAgo(1), lastUsedService: 's3', lastUsedRegion: 'us-west-2' },
      ],
      firstIdleAt: new Date(NOW.getTime() + 22 * 3_600_000).toISOString(),
    });
  });
});

describe('the Keys In Use notification', () => {
  const both = snapshot([oldKey(2), newKey(1)]);
  const findingOf = (decision: Decision): Finding => {
    if (decision.kind !== 'record' || decision.effects.finding === undefined) throw new Error('no finding');
    return decision.effects.finding;
  };
  const outcomes = (decision: Decision) =>
    decision.kind === 'record' ? decision.effects.notifications.map((n) => n.outcome) : [];

  it.each([
    { case: 'no stored finding', previous: () => undefined, notified: ['Keys In Use'] },
    {
      case: 'a stored finding that says KEY_IN_USE only',
      previous: () => findingOf(run(snapshot([oldKey(2), newKey()]), {})),
      notified: ['Keys In Use'],
    },
    {
      case: 'a stored finding that already says BOTH_KEYS_IN_USE (not news)',
      previous: () => findingOf(run(both, {})),
      notified: [],
    },
  ])('$case', ({ previous, notified }) => {
    const stored = previous();
    expect(outcomes(run(both, stored ? { previous: stored } : {}))).toEqual(notified);
  });
});

describe('inUseUntil / keysInUse', () => {
  it.each([
    { case: 'used 1 hour ago, 24-hour window', used: 1, hours: 24, inUse: true },
    { case: 'used 25 hours ago, 24-hour window', used: 25, hours: 24, inUse: false },
    { case: 'used 1 hour ago, window off', used: 1, hours: 0, inUse: false },
    { case: 'never used', used: undefined, hours: 24, inUse: false },
  ])('$case', ({ used, hours, inUse }) => {
    expect(inUseUntil(oldKey(used), hours, NOW) !== undefined).toBe(inUse);
  });

  it('marks a key another principal made usable unprotected under auto only', () => {
    const origins = new Map([
      [
        NEW,
        { accessKeyId: NEW, minter: 'another-principal' as const, how: 'created' as const, actorArn: 'x' },
      ],
    ]);
    const keys = [oldKey(2), newKey(1)];
    const protectedUnder = (keepKey: KeepKeyStrategy) =>
      keysInUse(keys, { keepKey, inUseHours: 24 }, NOW, origins as never).map((use) => use.protected);
    expect(protectedUnder('auto')).toEqual([true, false]);
    expect(protectedUnder('newest')).toEqual([true, true]);
  });
});
