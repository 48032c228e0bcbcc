import { describe, expect, it } from 'vitest';
import { threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import type { AccessKey, Trigger } from '../../functions/core/types.ts';
import {
  type Attribution,
  attribute,
  decideThreats,
  originsOf,
  resolveThreats,
  threatKeysToRead,
  threatNotification,
} from '../../functions/engine/threats.ts';
import { ACCOUNT, key, OLD_KEY, SWEEP_TRIGGER, user } from '../core/builders.ts';
import { ACCOUNT_ID, ASSUMED_ROLE, createdBy, IAM_USER, ROLE } from '../core/identities.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';

const NOW = new Date('2026-06-01T12:00:01.000Z');
const BOB = user({ userName: 'bob', userId: 'AIDABOB0000000000001' });
const MINTED = key('AKIANEW0000000000002', '2026-06-01T11:59:58.000Z');
const BY_ALICE = createdBy(IAM_USER, 'bob');
const BY_BOB = createdBy({ ...IAM_USER, userName: 'bob', arn: 'arn:aws:iam::123456789012:user/bob' }, 'bob');

const attributed = (trigger: Trigger, trusted: readonly string[] = []): Attribution | undefined =>
  attribute(trigger, undefined, 'bob', ACCOUNT_ID, trusted);

function decide(options: {
  trigger?: Trigger;
  attribution?: Attribution | undefined;
  stored?: ReadonlyMap<string, ReturnType<typeof decideThreats>['findings'][number]>;
  keysBefore?: readonly AccessKey[];
  keysAfter?: readonly AccessKey[];
  deactivated?: readonly string[];
  now?: Date;
}) {
  const trigger = options.trigger ?? BY_ALICE;
  const keysBefore = options.keysBefore ?? [OLD_KEY, MINTED];
  const outcome = decideThreats({
    account: ACCOUNT,
    trigger,
    attribution: 'attribution' in options ? options.attribution : attributed(trigger),
    stored: options.stored ?? new Map(),
    user: BOB,
    keysBefore,
    keysAfter: options.keysAfter ?? keysBefore,
    deactivatedByKeyWarden: new Set(options.deactivated ?? []),
    now: options.now ?? NOW,
  });
  for (const finding of outcome.findings) expectValidAsff(finding);
  return outcome;
}

const stateOf = (finding: { ProductFields?: Record<string, string> }) =>
  finding.ProductFields?.['keywarden/threat/keyState'];

describe('decideThreats', () => {
  // Each caller beside its twin: only another, untrusted principal raises a finding.
  it.each([
    { case: 'another IAM user', trigger: BY_ALICE, trusted: [], raised: true },
    { case: 'the user itself', trigger: BY_BOB, trusted: [], raised: false },
    { case: 'an assumed role', trigger: createdBy(ASSUMED_ROLE, 'bob'), trusted: [], raised: true },
    {
      case: 'a trusted assumed role',
      trigger: createdBy(ASSUMED_ROLE, 'bob'),
      trusted: [ROLE],
      raised: false,
    },
  ])('raises a threat finding for a key created by $case: $raised', ({ trigger, trusted, raised }) => {
    const outcome = decide({ trigger, attribution: attributed(trigger, trusted) });
    expect(outcome.raised !== undefined).toBe(raised);
    expect(outcome.findings.map((f) => f.Id)).toEqual(
      raised ? [threatFindingIdFor(ACCOUNT_ID, 'AKIANEW0000000000002')] : [],
    );
  });

  it('raises it for a first key too (CIS 1.13 holds)', () => {
    const outcome = decide({ keysBefore: [MINTED] });
    expect(outcome.raised?.Compliance?.Status).toBe('FAILED');
    expect(outcome.raised?.ProductFields?.['keywarden/threat/activeKeysAfterCall']).toBe(
      'AKIANEW0000000000002',
    );
  });

  it('raises it already resolved when KeyWarden switched the key off in the same check', () => {
    const outcome = decide({
      keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }],
      deactivated: ['AKIANEW0000000000002'],
    });
    expect(outcome.raised).toMatchObject({ Compliance: { Status: 'PASSED' }, RecordState: 'ACTIVE' });
    expect(outcome.raised?.ProductFields?.['keywarden/threat/resolvedBy']).toBe(
      "deactivated by KeyWarden's CIS 1.13 remediation",
    );
    // The active keys after the call are those the caller left, not those after KeyWarden's action.
    expect(outcome.raised?.ProductFields?.['keywarden/threat/activeKeysAfterCall']).toBe(
      'AKIAOLD0000000000001,AKIANEW0000000000002',
    );
  });

  describe('a repeated delivery of the same event', () => {
    const first = decide({}).raised;
    if (first === undefined) throw new Error('expected a finding');
    const stored = new Map([['AKIANEW0000000000002', first]]);

    it('imports nothing while the key is still active, and notifies again (at least once)', () => {
      const again = decide({ stored, now: new Date('2026-06-01T12:00:05.000Z') });
      expect(again.findings).toEqual([]);
      expect(again.raised).toBe(first);
    });

    it('resolves instead of re-opening when the key was switched off since', () => {
      const again = decide({ stored, keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }] });
      expect(again.raised).toBeUndefined();
      expect(again.findings).toHaveLength(1);
      expect(again.findings[0]).toMatchObject({ Id: first.Id, Compliance: { Status: 'PASSED' } });
      expect(again.findings[0]?.CreatedAt).toBe(first.CreatedAt);
    });

    it('changes nothing once resolved', () => {
      const resolved = decide({ stored, keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }] })
        .findings[0];
      if (resolved === undefined) throw new Error('expected a resolution');
      const again = decide({
        stored: new Map([['AKIANEW0000000000002', resolved]]),
        keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }],
      });
      expect(again).toEqual({ findings: [], raised: undefined });
    });
  });

  it('re-opens a resolved finding for a new grant by another principal (a re-activation)', () => {
    const resolved = decide({ keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }] }).raised;
    if (resolved === undefined) throw new Error('expected a finding');
    const reactivation: Trigger = { ...BY_ALICE, eventName: 'UpdateAccessKey', eventId: 'ev-2' };
    const outcome = decide({
      trigger: reactivation,
      attribution: attribute(
        reactivation,
        { accessKeyId: MINTED.accessKeyId, state: 'Active' },
        'bob',
        ACCOUNT_ID,
        [],
      ),
      stored: new Map([['AKIANEW0000000000002', resolved]]),
    });
    expect(outcome.raised).toMatchObject({ Id: resolved.Id, Compliance: { Status: 'FAILED' } });
    expect(outcome.raised?.Title).toContain('was re-activated by another principal');
  });

  // The resolutions, each beside the state that leaves the finding as it is.
  it.each([
    { case: 'still active', after: [OLD_KEY, MINTED], status: undefined, record: undefined },
    {
      case: 'inactive',
      after: [OLD_KEY, { ...MINTED, status: 'Inactive' }],
      status: 'PASSED',
      record: 'ACTIVE',
    },
    { case: 'deleted', after: [OLD_KEY], status: 'PASSED', record: 'ARCHIVED' },
  ])('resolves a stored open finding when IAM shows the key $case', ({ after, status, record }) => {
    const open = decide({}).raised;
    if (open === undefined) throw new Error('expected a finding');
    const deletion: Trigger = { ...BY_BOB, eventName: 'DeleteAccessKey', eventId: 'ev-3' };
    const outcome = decide({
      trigger: deletion,
      attribution: undefined,
      stored: new Map([['AKIANEW0000000000002', open]]),
      keysBefore: after,
    });
    expect(outcome.raised).toBeUndefined();
    expect(outcome.findings.map((f) => [f.Compliance?.Status, f.RecordState])).toEqual(
      status === undefined ? [] : [[status, record]],
    );
    if (status !== undefined)
      expect(outcome.findings[0]?.ProductFields?.['keywarden/threat/resolvedBy']).toMatch(
        /^DeleteAccessKey by /,
      );
  });

  it('archives a resolved finding once the key is deleted, and the sweep may do it', () => {
    const resolved = decide({ keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }] }).raised;
    if (resolved === undefined) throw new Error('expected a finding');
    const outcome = decide({
      trigger: SWEEP_TRIGGER,
      attribution: undefined,
      stored: new Map([['AKIANEW0000000000002', resolved]]),
      keysBefore: [OLD_KEY],
    });
    expect(outcome.findings.map((f) => [stateOf(f), f.RecordState])).toEqual([['deleted', 'ARCHIVED']]);
    expect(outcome.findings[0]?.ProductFields?.['keywarden/threat/resolvedBy']).toBe(
      'found by the scheduled sweep',
    );
  });

  it('never re-opens a stored finding on a self-service re-activation', () => {
    const resolved = decide({ keysAfter: [OLD_KEY, { ...MINTED, status: 'Inactive' }] }).raised;
    if (resolved === undefined) throw new Error('expected a finding');
    const selfReactivation: Trigger = { ...BY_BOB, eventName: 'UpdateAccessKey', eventId: 'ev-4' };
    const outcome = decide({
      trigger: selfReactivation,
      attribution: attribute(
        selfReactivation,
        { accessKeyId: MINTED.accessKeyId, state: 'Active' },
        'bob',
        ACCOUNT_ID,
        [],
      ),
      stored: new Map([['AKIANEW0000000000002', resolved]]),
    });
    expect(outcome).toEqual({ findings: [], raised: undefined });
  });
});

describe('threatKeysToRead', () => {
  const deletion: Trigger = { ...BY_BOB, eventName: 'DeleteAccessKey', accessKeyId: 'AKIAGONE000000000003' };
  const deactivation: Trigger = {
    ...BY_BOB,
    eventName: 'UpdateAccessKey',
    accessKeyId: 'AKIAOFF0000000000004',
  };
  const untag: Trigger = { ...BY_BOB, eventName: 'UntagUser', accessKeyId: undefined };
  const restore: Trigger = { ...BY_ALICE, eventName: 'TagUser', accessKeyId: 'AKIAOLD0000000000001' };
  // Each case beside its twin: a read only where the event's outcome depends on it.
  it.each([
    { case: 'a self-service first key', trigger: BY_BOB, active: [MINTED], keepKey: 'newest', keys: [] },
    {
      case: 'a first key from another principal',
      trigger: BY_ALICE,
      active: [MINTED],
      keepKey: 'newest',
      keys: ['AKIANEW0000000000002'],
    },
    {
      case: 'a self-service second key',
      trigger: BY_BOB,
      active: [OLD_KEY, MINTED],
      keepKey: 'newest',
      keys: [],
    },
    {
      case: 'a self-service second key with KEEP_KEY=auto (the event names the newest key)',
      trigger: BY_BOB,
      active: [OLD_KEY, MINTED],
      keepKey: 'auto',
      keys: [],
    },
    {
      case: 'a second key from another principal (the other key rides along)',
      trigger: BY_ALICE,
      active: [OLD_KEY, MINTED],
      keepKey: 'newest',
      keys: ['AKIANEW0000000000002', 'AKIAOLD0000000000001'],
    },
    {
      case: 'a tag change on a user with two keys',
      trigger: untag,
      active: [OLD_KEY, MINTED],
      keepKey: 'newest',
      keys: [],
    },
    {
      case: 'a tag change on a user with two keys with KEEP_KEY=auto',
      trigger: untag,
      active: [OLD_KEY, MINTED],
      keepKey: 'auto',
      keys: ['AKIAOLD0000000000001', 'AKIANEW0000000000002'],
    },
    {
      case: 'a tag change naming a key (keywarden restore)',
      trigger: restore,
      active: [OLD_KEY],
      keepKey: 'newest',
      keys: [],
    },
    {
      case: 'a deletion',
      trigger: deletion,
      active: [OLD_KEY],
      keepKey: 'newest',
      keys: ['AKIAGONE000000000003'],
    },
    {
      case: 'a deactivation',
      trigger: deactivation,
      active: [OLD_KEY],
      keepKey: 'newest',
      keys: ['AKIAOFF0000000000004'],
    },
    {
      case: 'a sweep of a compliant user',
      trigger: SWEEP_TRIGGER,
      active: [OLD_KEY],
      keepKey: 'auto',
      keys: [],
    },
    {
      case: 'a sweep of a violating user (it reads every open threat finding itself)',
      trigger: SWEEP_TRIGGER,
      active: [OLD_KEY, MINTED],
      keepKey: 'auto',
      keys: [],
    },
  ] as const)('reads $keys for $case', ({ trigger, active, keepKey, keys }) => {
    expect(threatKeysToRead(trigger, attributed(trigger), active, keepKey)).toEqual(keys);
  });
});

describe('originsOf', () => {
  it('takes this event first, then open threat findings, and ignores resolved ones', () => {
    const open = decide({}).raised;
    const resolved = decide({
      trigger: { ...BY_ALICE, accessKeyId: OLD_KEY.accessKeyId },
      keysBefore: [{ ...OLD_KEY, status: 'Inactive' }],
    }).raised;
    if (open === undefined || resolved === undefined) throw new Error('expected findings');
    const origins = originsOf(
      attributed(BY_BOB),
      new Map([
        ['AKIANEW0000000000002', open],
        ['AKIAOLD0000000000001', resolved],
      ]),
    );
    expect([...origins.values()].map((o) => [o.accessKeyId, o.minter])).toEqual([
      ['AKIANEW0000000000002', 'self'],
    ]);
  });
});

describe('threatNotification', () => {
  it('names the user, the key, the caller and the finding', () => {
    const raised = decide({}).raised;
    if (raised === undefined) throw new Error('expected a finding');
    expect(threatNotification(ACCOUNT, raised)).toEqual({
      outcome: 'Key Minted By Another Principal',
      detail: {
        accountId: ACCOUNT_ID,
        userName: 'bob',
        userArn: 'arn:aws:iam::123456789012:user/bob',
        accessKeyId: 'AKIANEW0000000000002',
        how: 'created',
        actorArn: 'arn:aws:iam::123456789012:user/Alice',
        actorType: 'IAMUser',
        actorIssuerArn: undefined,
        actorMfa: undefined,
        sourceIp: '203.0.113.7',
        eventId: 'ev-1',
        eventTime: '2026-06-01T11:59:58Z',
        activeAccessKeyIds: ['AKIAOLD0000000000001', 'AKIANEW0000000000002'],
        keyState: 'active',
        findingId: raised.Id,
      },
    });
  });
});

describe('a threat finding whose user was renamed', () => {
  // The finding recorded when bob's key was minted; bob is then renamed robert (same user id, same keys).
  const open = decide({}).raised;
  if (open === undefined) throw new Error('expected a finding');
  const stored = new Map([['AKIANEW0000000000002', open]]);
  const ROBERT = user({ userName: 'robert', userId: BOB.userId });
  const INACTIVE = { ...MINTED, status: 'Inactive' };
  const decideFor = (holder: typeof BOB, keysAfter: readonly AccessKey[]) =>
    decideThreats({
      account: ACCOUNT,
      trigger: SWEEP_TRIGGER,
      attribution: undefined,
      stored,
      user: holder,
      keysBefore: keysAfter,
      keysAfter,
      deactivatedByKeyWarden: new Set(),
      now: NOW,
    });

  // Each rename beside its twin under the same name.
  it.each([
    {
      case: 'renamed, key active: re-imported open, naming robert',
      holder: ROBERT,
      keys: [MINTED],
      state: 'active',
      name: 'robert',
    },
    {
      case: 'not renamed, key active: nothing to import',
      holder: BOB,
      keys: [MINTED],
      state: undefined,
      name: undefined,
    },
    {
      case: 'renamed, key now inactive: resolved, naming robert',
      holder: ROBERT,
      keys: [INACTIVE],
      state: 'inactive',
      name: 'robert',
    },
    {
      case: 'not renamed, key now inactive: resolved, naming bob',
      holder: BOB,
      keys: [INACTIVE],
      state: 'inactive',
      name: 'bob',
    },
    {
      case: 'renamed, key gone: archived as deleted',
      holder: ROBERT,
      keys: [],
      state: 'deleted',
      name: 'bob',
    },
  ])('$case', ({ holder, keys, state, name }) => {
    const { findings } = decideFor(holder, keys);

    expect(findings.map(stateOf)).toEqual(state === undefined ? [] : [state]);
    for (const finding of findings) expectValidAsff(finding);
    if (state === undefined) return;
    expect(findings[0]).toMatchObject({
      Id: open.Id,
      CreatedAt: open.CreatedAt,
      ProductFields: {
        'keywarden/threat/userName': name,
        'keywarden/threat/actorArn': open.ProductFields?.['keywarden/threat/actorArn'],
      },
    });
    if (name === 'robert') {
      expect(findings[0]?.ProductFields?.['keywarden/threat/userNameAtCall']).toBe('bob');
      expect(findings[0]?.ProductFields?.['keywarden/threat/userArn']).toBe(ROBERT.arn);
      expect(findings[0]?.Description).toContain('of IAM user robert');
      expect(findings[0]?.Description).toContain('then named bob');
    }
  });

  describe('resolveThreats (the sweep)', () => {
    const iamWith = (holder: string | undefined, keys: readonly AccessKey[]) => {
      const calls: string[] = [];
      const iam = {
        listKeys: async (userName: string) => {
          calls.push(`ListAccessKeys ${userName}`);
          return userName === holder ? [...keys] : undefined;
        },
        keyOwner: async (accessKeyId: string) => {
          calls.push(`GetAccessKeyLastUsed ${accessKeyId}`);
          return holder;
        },
        readUser: async (userName: string) => {
          calls.push(`GetUser ${userName}`);
          return userName === holder ? { user: ROBERT, keys: [...keys] } : undefined;
        },
      };
      return { iam, calls };
    };
    const clock = () => NOW;

    it('follows the key of a user IAM no longer knows by that name, and keeps its finding open', async () => {
      const { iam, calls } = iamWith('robert', [OLD_KEY, MINTED]);

      const { findings, failures } = await resolveThreats(iam, ACCOUNT, [open], SWEEP_TRIGGER, clock);

      expect(failures).toEqual([]);
      expect(findings.map(stateOf)).toEqual(['active']);
      expect(findings[0]?.ProductFields?.['keywarden/threat/userName']).toBe('robert');
      expect(calls).toEqual([
        'ListAccessKeys bob',
        'GetAccessKeyLastUsed AKIANEW0000000000002',
        'GetUser robert',
      ]);
    });

    it('archives the finding of a key IAM does not know (its twin), asking once per key', async () => {
      const { iam, calls } = iamWith(undefined, []);

      const { findings } = await resolveThreats(iam, ACCOUNT, [open], SWEEP_TRIGGER, clock);

      expect(findings.map(stateOf)).toEqual(['deleted']);
      expect(findings[0]?.RecordState).toBe('ARCHIVED');
      expect(calls).toEqual(['ListAccessKeys bob', 'GetAccessKeyLastUsed AKIANEW0000000000002']);
    });

    it('asks IAM nothing more for a key whose holder the sweep already knows', async () => {
      const { iam, calls } = iamWith('robert', [OLD_KEY, MINTED]);

      await resolveThreats(
        iam,
        ACCOUNT,
        [open],
        SWEEP_TRIGGER,
        clock,
        new Map([['AKIANEW0000000000002', 'robert']]),
      );

      expect(calls).toEqual(['ListAccessKeys bob', 'GetUser robert']);
    });

    it('leaves the finding as it is when IAM names a holder that does not list the key (a race)', async () => {
      const { iam } = iamWith('robert', [OLD_KEY]);

      const { findings } = await resolveThreats(iam, ACCOUNT, [open], SWEEP_TRIGGER, clock);

      expect(findings).toEqual([]);
    });
  });
});
