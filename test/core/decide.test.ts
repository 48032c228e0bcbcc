import { describe, expect, it } from 'vitest';
import {
  type Decision,
  type DecisionSettings,
  decide,
  type Effects,
  importsOf,
  intentFinding,
  type Reads,
  recordOutcome,
} from '../../functions/core/decide.ts';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding, type Finding, USER_NAME_FIELD } from '../../functions/core/finding.ts';
import type { CheckInput } from '../../functions/core/read-plan.ts';
import { RECORD_FIELDS, readRecord } from '../../functions/core/record.ts';
import type { ActionTaken } from '../../functions/core/remediation.ts';
import type { AccessKey, EventTrigger, Trigger, UserSnapshot } from '../../functions/core/types.ts';
import type { RemediationMode } from '../../functions/shared/constants.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import {
  ACCOUNT,
  EVENT_TRIGGER,
  NEW_KEY,
  NOW,
  OLD_KEY,
  POLICY,
  SWEEP_TRIGGER,
  snapshot,
} from './builders.ts';

const OLD = OLD_KEY.accessKeyId;
const NEW = NEW_KEY.accessKeyId;
const off = (key: AccessKey): AccessKey => ({ ...key, status: 'Inactive' });
const EARLIER = new Date('2026-05-30T10:00:00.000Z');

/** Events on alice's keys: by alice (self), by a trusted issuer, or by another principal. */
type By = 'self' | 'trusted' | 'another';
const ACTORS: Record<By, Partial<EventTrigger>> = {
  self: { actorArn: 'arn:aws:iam::123456789012:user/alice', actorUserName: 'alice', actorType: 'IAMUser' },
  trusted: {
    actorArn: 'arn:aws:sts::123456789012:assumed-role/KeyIssuer/ci',
    actorIssuerArn: 'arn:aws:iam::123456789012:role/KeyIssuer',
    actorUserName: '',
    actorType: 'AssumedRole',
  },
  another: {
    actorArn: 'arn:aws:iam::123456789012:user/mallory',
    actorUserName: 'mallory',
    actorType: 'IAMUser',
  },
};
const created = (by: By = 'self'): EventTrigger => ({
  ...EVENT_TRIGGER,
  ...ACTORS[by],
  eventName: 'CreateAccessKey',
  accessKeyId: NEW,
});
const deactivatedBySelf: EventTrigger = {
  ...EVENT_TRIGGER,
  ...ACTORS.self,
  eventName: 'UpdateAccessKey',
  accessKeyId: OLD,
};

const SETTINGS: DecisionSettings = {
  ...POLICY,
  remediationMode: 'deactivate',
  trustedKeyIssuers: ['arn:aws:iam::123456789012:role/KeyIssuer'],
};

const TWO = snapshot([OLD_KEY, NEW_KEY]);
const ONE = snapshot([off(OLD_KEY), NEW_KEY]);

/** Stored findings as an earlier check of alice left them. */
const violationOf = (user: UserSnapshot) => {
  const evaluation = evaluateUser('alice', user, POLICY, EARLIER);
  if (evaluation.verdict !== 'violation') throw new Error('expected a violation');
  return evaluation;
};
const stored = (action: ActionTaken): Finding =>
  buildFinding({
    account: ACCOUNT,
    evaluation: violationOf(TWO),
    action,
    trigger: created(),
    updatedAt: EARLIER,
  });
const STORED = {
  none: undefined,
  failed: stored({ kind: 'none' }),
  'passed with record': stored({
    kind: 'deactivated',
    keys: [OLD_KEY],
    at: EARLIER,
    keysAfter: [off(OLD_KEY), NEW_KEY],
  }),
  'pending intent': stored({ kind: 'deactivating', keys: [OLD_KEY], since: EARLIER }),
} as const;
type Stored = keyof typeof STORED;

const reads = (user: UserSnapshot | undefined, compliance: Finding | undefined): Reads => ({
  snapshot: user,
  readAt: NOW,
  compliance,
  former: undefined,
  threats: new Map(),
  evidence: undefined,
});

const run = (
  user: UserSnapshot | undefined,
  trigger: Trigger,
  options: { settings?: Partial<DecisionSettings>; stored?: Stored; request?: Partial<CheckInput> } = {},
): Decision =>
  decide({
    account: ACCOUNT,
    settings: { ...SETTINGS, ...options.settings },
    request: {
      userName: 'alice',
      trigger,
      ...(trigger.kind === 'event' && trigger.eventName === 'UpdateAccessKey'
        ? { expectation: { accessKeyId: trigger.accessKeyId ?? '', state: 'Inactive' as const } }
        : {}),
      ...options.request,
    },
    reads: reads(user, STORED[options.stored ?? 'none']),
  });

const effectsOf = (decision: Decision): Effects => {
  if (decision.kind !== 'record')
    throw new Error(`expected a decision without IAM write, got ${decision.kind}`);
  return decision.effects;
};
const outcomes = (effects: Effects) => effects.notifications.map((notification) => notification.outcome);

describe('decide: verdict x remediation mode x key to keep', () => {
  it.each<{
    case: string;
    user: UserSnapshot;
    mode: RemediationMode;
    keepKey?: 'newest' | 'oldest' | 'auto';
    graceHours?: number;
    verdict: string;
    action: ActionTaken['kind'] | 'deactivate';
    keys?: readonly string[];
    notified: readonly string[];
  }>([
    {
      case: 'one active key, deactivate',
      user: snapshot([NEW_KEY]),
      mode: 'deactivate',
      verdict: 'compliant',
      action: 'none',
      notified: [],
    },
    {
      case: 'two active keys, deactivate',
      user: TWO,
      mode: 'deactivate',
      verdict: 'violation',
      action: 'deactivate',
      keys: [OLD],
      notified: [],
    },
    {
      case: 'one active key, off',
      user: snapshot([NEW_KEY]),
      mode: 'off',
      verdict: 'compliant',
      action: 'none',
      notified: [],
    },
    {
      case: 'two active keys, off',
      user: TWO,
      mode: 'off',
      verdict: 'violation',
      action: 'none',
      notified: ['Violation Detected'],
    },
    {
      case: 'one active key, dry run',
      user: snapshot([NEW_KEY]),
      mode: 'dry-run',
      verdict: 'compliant',
      action: 'none',
      notified: [],
    },
    {
      case: 'two active keys, dry run',
      user: TWO,
      mode: 'dry-run',
      verdict: 'violation',
      action: 'dry-run',
      keys: [OLD],
      notified: ['Violation Detected'],
    },
    {
      case: 'two active keys, keep oldest',
      user: TWO,
      mode: 'deactivate',
      keepKey: 'oldest',
      verdict: 'violation',
      action: 'deactivate',
      keys: [NEW],
      notified: [],
    },
    {
      case: 'two active keys inside the rotation grace',
      user: TWO,
      mode: 'deactivate',
      graceHours: 24,
      verdict: 'violation',
      action: 'postponed',
      notified: ['Violation Detected'],
    },
    {
      case: 'two active keys, exempt',
      user: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      mode: 'deactivate',
      verdict: 'exempt',
      action: 'none',
      notified: [],
    },
    {
      case: 'two active keys, exemption malformed',
      user: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'soon' } }),
      mode: 'deactivate',
      verdict: 'violation',
      action: 'deactivate',
      keys: [OLD],
      notified: [],
    },
  ])('decides $action for $case', ({ user, mode, keepKey, graceHours, verdict, action, keys, notified }) => {
    // Act
    const decision = run(user, created(), {
      settings: { remediationMode: mode, keepKey: keepKey ?? 'newest', rotationGraceHours: graceHours ?? 0 },
    });

    // Assess
    if (action === 'deactivate') {
      if (decision.kind !== 'deactivate') throw new Error('expected a deactivation');
      expect(decision.state.evaluation.verdict).toBe(verdict);
      expect(decision.keys.map((key) => key.accessKeyId)).toEqual(keys);
      return;
    }
    const effects = effectsOf(decision);
    expect(effects.evaluation.verdict).toBe(verdict);
    expect(effects.action.kind).toBe(action);
    if (keys !== undefined && 'keys' in effects.action)
      expect(effects.action.keys.map((key) => key.accessKeyId)).toEqual(keys);
    // A violation or an exemption is always written; a compliant first key has nothing to say.
    expect(effects.write).toBe(verdict !== 'compliant');
    expect(outcomes(effects)).toEqual(notified);
    if (effects.write && effects.finding !== undefined) expectValidAsff(effects.finding);
  });
});

describe('decide: who made the key usable', () => {
  it.each<{ by: By; keepKey: 'newest' | 'auto'; keys: readonly string[]; threat: boolean }>([
    { by: 'self', keepKey: 'newest', keys: [OLD], threat: false },
    { by: 'trusted', keepKey: 'newest', keys: [OLD], threat: false },
    { by: 'another', keepKey: 'newest', keys: [OLD], threat: true },
    { by: 'self', keepKey: 'auto', keys: [OLD], threat: false },
    { by: 'trusted', keepKey: 'auto', keys: [OLD], threat: false },
    // KEEP_KEY=auto keeps the older key when another principal made the newer one, and grants it no grace.
    { by: 'another', keepKey: 'auto', keys: [NEW], threat: true },
  ])('a second key by $by with KEEP_KEY=$keepKey deactivates $keys', ({ by, keepKey, keys, threat }) => {
    // Act
    const decision = run(TWO, created(by), {
      settings: { keepKey },
    });

    // Assess
    if (decision.kind !== 'deactivate') throw new Error('expected a deactivation');
    expect(decision.keys.map((key) => key.accessKeyId)).toEqual(keys);
    expect(decision.state.attribution?.minter.kind).toBe(by === 'another' ? 'another-principal' : by);
    const after = [OLD_KEY, NEW_KEY].map((key) => (keys.includes(key.accessKeyId) ? off(key) : key));
    const effects = recordOutcome(decision.state, {
      action: { kind: 'deactivated', keys: decision.keys, at: NOW, keysAfter: after },
      updatedAt: NOW,
    });
    expect(effects.threats.raised !== undefined).toBe(threat);
    expect(outcomes(effects)).toEqual(
      threat ? ['Key Deactivated', 'Key Minted By Another Principal'] : ['Key Deactivated'],
    );
  });

  it.each<{ by: By; kind: string }>([
    { by: 'self', kind: 'postponed' },
    { by: 'another', kind: 'deactivate' },
  ])('inside the rotation grace with KEEP_KEY=auto, a second key by $by: $kind', ({ by, kind }) => {
    // The grace is for rotations; a key another principal minted is no rotation.
    const decision = run(TWO, created(by), { settings: { keepKey: 'auto', rotationGraceHours: 24 } });
    expect(decision.kind === 'record' ? decision.effects.action.kind : decision.kind).toBe(kind);
  });

  it('a first key another principal created raises a threat finding beside a compliant one', () => {
    const effects = effectsOf(run(snapshot([NEW_KEY]), created('another')));
    expect(effects.evaluation.verdict).toBe('compliant');
    expect(effects.threats.raised?.Compliance?.Status).toBe('FAILED');
    expect(outcomes(effects)).toEqual(['Key Minted By Another Principal']);
  });

  it('a first key the user created raises none', () => {
    const effects = effectsOf(run(snapshot([NEW_KEY]), created('self')));
    expect(effects.threats.findings).toEqual([]);
    expect(outcomes(effects)).toEqual([]);
  });
});

describe('decide: the stored finding', () => {
  it.each<{
    case: string;
    stored: Stored;
    user: UserSnapshot;
    trigger: Trigger;
    verdict: string;
    status: string | undefined;
    notified: readonly string[];
    deactivatedKeys?: string;
  }>([
    // A deactivation by the user that leaves one key.
    {
      case: 'none stored, one key left',
      stored: 'none',
      user: ONE,
      trigger: deactivatedBySelf,
      verdict: 'compliant',
      status: 'PASSED',
      notified: [],
    },
    {
      case: 'none stored, two keys',
      stored: 'none',
      user: TWO,
      trigger: created(),
      verdict: 'violation',
      status: 'FAILED',
      notified: ['Violation Detected'],
    },
    {
      case: 'FAILED stored, one key left',
      stored: 'failed',
      user: ONE,
      trigger: deactivatedBySelf,
      verdict: 'compliant',
      status: 'PASSED',
      notified: ['Violation Resolved'],
    },
    {
      case: 'FAILED stored, still two keys (off)',
      stored: 'failed',
      user: TWO,
      trigger: SWEEP_TRIGGER,
      verdict: 'violation',
      status: 'FAILED',
      notified: ['Violation Detected'],
    },
    // A sweep keeps KeyWarden's record while the key it switched off stays off.
    {
      case: 'PASSED with record, key still off',
      stored: 'passed with record',
      user: ONE,
      trigger: SWEEP_TRIGGER,
      verdict: 'compliant',
      status: 'PASSED',
      notified: [],
      deactivatedKeys: OLD,
    },
    {
      case: 'PASSED with record, key active again beside the other',
      stored: 'passed with record',
      user: TWO,
      trigger: SWEEP_TRIGGER,
      verdict: 'violation',
      status: 'FAILED',
      notified: ['Violation Detected'],
    },
    {
      case: 'PASSED with record, key active again alone',
      stored: 'passed with record',
      user: snapshot([OLD_KEY]),
      trigger: SWEEP_TRIGGER,
      verdict: 'compliant',
      status: 'PASSED',
      notified: ['Deactivated Key Reactivated'],
    },
    // An intent whose outcome was never recorded is rebuilt once IAM shows the key off.
    {
      case: 'pending intent, key off',
      stored: 'pending intent',
      user: ONE,
      trigger: SWEEP_TRIGGER,
      verdict: 'compliant',
      status: 'PASSED',
      notified: ['Violation Resolved'],
      deactivatedKeys: OLD,
    },
    {
      case: 'pending intent, key still on (off)',
      stored: 'pending intent',
      user: TWO,
      trigger: SWEEP_TRIGGER,
      verdict: 'violation',
      status: 'FAILED',
      notified: ['Violation Detected'],
    },
  ])(
    '$case: $verdict, $status',
    ({ stored: kind, user, trigger, verdict, status, notified, deactivatedKeys }) => {
      // Act
      const effects = effectsOf(run(user, trigger, { stored: kind, settings: { remediationMode: 'off' } }));

      // Assess
      expect(effects.evaluation.verdict).toBe(verdict);
      expect(effects.write).toBe(true);
      expect(effects.finding?.Compliance?.Status).toBe(status);
      expect(outcomes(effects)).toEqual(notified);
      if (deactivatedKeys !== undefined)
        expect(readRecord(effects.finding).deactivated?.keys).toEqual([deactivatedKeys]);
      if (effects.finding !== undefined) expectValidAsff(effects.finding);
    },
  );

  it('writes nothing for a sweep of a compliant user with no stored finding', () => {
    const effects = effectsOf(run(snapshot([NEW_KEY]), SWEEP_TRIGGER));
    expect(effects.write).toBe(false);
  });

  it('writes a sweep of a compliant user whose finding is stored', () => {
    const effects = effectsOf(run(ONE, SWEEP_TRIGGER, { stored: 'failed' }));
    expect(effects.write).toBe(true);
  });

  it("prefers the caller's stored finding (null: none) over the one read", () => {
    const effects = effectsOf(
      run(ONE, SWEEP_TRIGGER, { stored: 'failed', request: { previousFinding: null } }),
    );
    expect(effects.write).toBe(false);
  });

  it('records the intent before a write, with the keys and since when', () => {
    const decision = run(TWO, created());
    if (decision.kind !== 'deactivate') throw new Error('expected a deactivation');
    const intent = intentFinding(decision.state, decision.keys, NOW);
    expect(readRecord(intent).pending).toEqual({ keys: [OLD], since: NOW.toISOString() });
    expect(intent.ProductFields?.[RECORD_FIELDS.pendingDeactivation]).toBe(OLD);
    expectValidAsff(intent);
  });
});

describe('decide: a user IAM no longer knows', () => {
  it.each<{
    case: string;
    stored: Stored;
    storedName?: string;
    archived: boolean;
    notified: readonly string[];
  }>([
    { case: 'FAILED stored', stored: 'failed', archived: true, notified: ['Violation Resolved'] },
    { case: 'nothing stored', stored: 'none', archived: false, notified: [] },
    { case: 'PASSED stored', stored: 'passed with record', archived: true, notified: [] },
    {
      case: 'FAILED stored under another spelling',
      stored: 'failed',
      storedName: 'Alice',
      archived: false,
      notified: [],
    },
  ])('$case: archived $archived', ({ stored: kind, storedName, archived, notified }) => {
    // Prepare
    const finding = STORED[kind];
    const previous =
      finding === undefined || storedName === undefined
        ? finding
        : { ...finding, ProductFields: { ...finding.ProductFields, [USER_NAME_FIELD]: storedName } };

    // Act
    const effects = effectsOf(
      decide({
        account: ACCOUNT,
        settings: SETTINGS,
        request: { userName: 'alice', trigger: SWEEP_TRIGGER },
        reads: reads(undefined, previous),
      }),
    );

    // Assess
    expect(effects.evaluation).toEqual({ verdict: 'user-gone', userName: 'alice' });
    expect(effects.write).toBe(archived);
    expect(effects.finding?.RecordState).toBe(archived ? 'ARCHIVED' : undefined);
    expect(outcomes(effects)).toEqual(notified);
  });
});

describe('recordOutcome: what the proof read showed', () => {
  const deactivation = (): Extract<Decision, { kind: 'deactivate' }> => {
    const decision = run(TWO, created(), { stored: 'failed' });
    if (decision.kind !== 'deactivate') throw new Error('expected a deactivation');
    return decision;
  };
  it.each<{ action: ActionTaken; status: string; notified: readonly string[] }>([
    {
      action: { kind: 'deactivated', keys: [OLD_KEY], at: NOW, keysAfter: [off(OLD_KEY), NEW_KEY] },
      status: 'PASSED',
      notified: ['Key Deactivated'],
    },
    {
      action: { kind: 'unconfirmed', keys: [OLD_KEY], keysAfter: [OLD_KEY, NEW_KEY] },
      status: 'FAILED',
      notified: ['Violation Detected'],
    },
    {
      action: {
        kind: 'rolled-back',
        keys: [OLD_KEY],
        at: NOW,
        keysAfter: [OLD_KEY, off(NEW_KEY)],
        restored: true,
      },
      status: 'FAILED',
      notified: ['Deactivation Rolled Back'],
    },
  ])('$action.kind: $status, notifies $notified', ({ action, status, notified }) => {
    const effects = recordOutcome(deactivation().state, { action, updatedAt: NOW });
    expect(effects.finding?.Compliance?.Status).toBe(status);
    expect(effects.finding?.UpdatedAt).toBe(NOW.toISOString());
    expect(outcomes(effects)).toEqual(notified);
    // A finding after an IAM write is imported at once, never deferred to the caller's batch.
    expect(importsOf(effects, true).written).toBe('imported');
  });
});

describe('importsOf', () => {
  it.each<{ case: string; write: boolean; defer: boolean; written: string; count: number }>([
    { case: 'a finding to write, imported now', write: true, defer: false, written: 'imported', count: 1 },
    {
      case: 'a finding to write, deferred to the caller',
      write: true,
      defer: true,
      written: 'deferred',
      count: 0,
    },
    { case: 'nothing to write', write: false, defer: false, written: 'none', count: 0 },
    { case: 'nothing to write, deferring', write: false, defer: true, written: 'none', count: 0 },
  ])('$case', ({ write, defer, written, count }) => {
    const effects = effectsOf(run(TWO, created(), { settings: { remediationMode: 'off' } }));
    const imports = importsOf({ ...effects, write }, defer);
    expect(imports.written).toBe(written);
    expect(imports.now).toHaveLength(count);
  });
});
