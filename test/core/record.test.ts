import { describe, expect, it } from 'vitest';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding, type Finding } from '../../functions/core/finding.ts';
import { compliantOutcome, RECORD_FIELDS, readRecord } from '../../functions/core/record.ts';
import type { AccessKey, EventTrigger, Trigger } from '../../functions/core/types.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT, EVENT_TRIGGER, key, NOW, POLICY, SWEEP_TRIGGER, snapshot } from './builders.ts';

const FIELD = 'keywarden/detector';
const KEY_A = 'AKIAKEYA000000000001';
const KEY_B = 'AKIAKEYB000000000002';
const A_ON = key(KEY_A, '2026-01-10T08:00:00.000Z');
const A_OFF = key(KEY_A, '2026-01-10T08:00:00.000Z', { status: 'Inactive' });
const B_ON = key(KEY_B, '2026-05-01T08:00:00.000Z');
const ALICE_ARN = 'arn:aws:iam::123456789012:user/alice';

/** A stored finding of alice, whole (its record fields are replaced below). */
const STORED: Finding = buildFinding({
  account: ACCOUNT,
  evaluation: { verdict: 'compliant', snapshot: snapshot([B_ON]), activeKeys: [B_ON] },
  action: { kind: 'none' },
  trigger: SWEEP_TRIGGER,
  updatedAt: new Date('2026-06-01T10:00:00.000Z'),
});

/** A stored finding holding KeyWarden's record: it deactivated A (and kept B) at 10:00. */
const DEACTIVATED_A: Finding = {
  ...STORED,
  Compliance: { Status: 'PASSED' },
  RecordState: 'ACTIVE',
  ProductFields: {
    [RECORD_FIELDS.deactivatedKeys]: KEY_A,
    [RECORD_FIELDS.deactivatedAt]: '2026-06-01T10:00:00.000Z',
  },
};

/** The finding the unfixed code stored once A was active again: FAILED/HIGH, recording the re-activation. */
const REACTIVATED_A: Finding = {
  ...STORED,
  Compliance: { Status: 'FAILED' },
  RecordState: 'ACTIVE',
  ProductFields: {
    [RECORD_FIELDS.reactivatedKeys]: KEY_A,
    [RECORD_FIELDS.reactivatedBy]: `${ALICE_ARN} (IAMUser)`,
    [RECORD_FIELDS.reactivatedAt]: '2026-06-01T11:00:00Z',
    [RECORD_FIELDS.deactivatedAt]: '2026-06-01T10:00:00.000Z',
  },
};

const reactivation = (actor: Partial<EventTrigger>): EventTrigger => ({
  ...EVENT_TRIGGER,
  eventName: 'UpdateAccessKey',
  accessKeyId: KEY_A,
  eventTime: '2026-06-01T11:00:00Z',
  ...actor,
});
const BY_ALICE = reactivation({ actorArn: ALICE_ARN, actorUserName: 'alice' });
const BY_ADMIN = reactivation({});

function build(
  previous: Finding,
  keys: readonly AccessKey[],
  trigger: Trigger,
  reactivatedBy?: 'self' | 'trusted' | 'another-principal',
): Finding {
  const evaluation = evaluateUser('alice', snapshot(keys), POLICY, NOW);
  if (evaluation.verdict === 'user-gone') throw new Error('unexpected user-gone');
  const outcome =
    evaluation.verdict === 'compliant'
      ? compliantOutcome(readRecord(previous), evaluation.snapshot, trigger, NOW, reactivatedBy)
      : undefined;
  const built = buildFinding({
    account: ACCOUNT,
    evaluation,
    action: { kind: 'none' },
    trigger,
    updatedAt: NOW,
    outcome,
  });
  expectValidAsff(built);
  return built;
}

describe('the compliance finding follows compliance after KeyWarden deactivated a key', () => {
  it.each([
    {
      case: 'the user deleted B and re-activated A itself: one active key',
      previous: DEACTIVATED_A,
      keys: [A_ON],
      trigger: BY_ALICE,
      by: 'self' as const,
      status: 'PASSED',
      label: 'INFORMATIONAL',
      note: 'the user re-activated its own key',
    },
    {
      case: 'its twin: the user re-activated A and kept B, two active keys',
      previous: DEACTIVATED_A,
      keys: [A_ON, B_ON],
      trigger: BY_ALICE,
      by: 'self' as const,
      status: 'FAILED',
      label: 'MEDIUM',
      note: undefined,
    },
    {
      case: 'another principal re-activated A, B gone: one active key, the threat finding names the caller',
      previous: DEACTIVATED_A,
      keys: [A_ON],
      trigger: BY_ADMIN,
      by: 'another-principal' as const,
      status: 'PASSED',
      label: 'INFORMATIONAL',
      note: 'keywarden/t1098.001/123456789012/AKIAKEYA000000000001',
    },
    {
      case: 'a sweep finds A active again, B gone, the event unseen',
      previous: DEACTIVATED_A,
      keys: [A_ON],
      trigger: SWEEP_TRIGGER,
      by: undefined,
      status: 'PASSED',
      label: 'INFORMATIONAL',
      note: 'KeyWarden did not see who re-activated it',
    },
    {
      case: 'a sweep meets a finding stuck FAILED/HIGH by a re-activation, one active key',
      previous: REACTIVATED_A,
      keys: [A_ON],
      trigger: SWEEP_TRIGGER,
      by: undefined,
      status: 'PASSED',
      label: 'INFORMATIONAL',
      note: `${ALICE_ARN} (IAMUser) re-activated it at 2026-06-01T11:00:00Z`,
    },
    {
      case: 'its twin: the same stuck finding, the user holding two active keys again',
      previous: REACTIVATED_A,
      keys: [A_ON, B_ON],
      trigger: SWEEP_TRIGGER,
      by: undefined,
      status: 'FAILED',
      label: 'MEDIUM',
      note: undefined,
    },
  ])('$case: $status/$label', ({ previous, keys, trigger, by, status, label, note }) => {
    const built = build(previous, keys, trigger, by);

    expect(built.Compliance?.Status).toBe(status);
    expect(built.Severity?.Label).toBe(label);
    if (note !== undefined) {
      // The history stays in the record: which key KeyWarden had switched off, when, and who turned it back on.
      expect(built.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('DEACTIVATED_KEY_REACTIVATED');
      expect(built.ProductFields).toMatchObject({
        [RECORD_FIELDS.reactivatedKeys]: KEY_A,
        [RECORD_FIELDS.deactivatedAt]: '2026-06-01T10:00:00.000Z',
        [`${FIELD}/activeKeyCount`]: '1',
      });
      expect(built.Description).toContain(note);
    }
  });

  it('keeps who re-activated the key, and how KeyWarden classified them, through later sweeps', () => {
    const first = build(DEACTIVATED_A, [A_ON], BY_ADMIN, 'another-principal');

    const later = build(first, [A_ON], SWEEP_TRIGGER);

    expect(later.Compliance?.Status).toBe('PASSED');
    expect(later.ProductFields).toMatchObject({
      [RECORD_FIELDS.reactivatedBy]: `${BY_ADMIN.actorArn} (IAMUser)`,
      [RECORD_FIELDS.reactivatedByKind]: 'another-principal',
      [RECORD_FIELDS.reactivatedAt]: '2026-06-01T11:00:00Z',
    });
  });

  it('still reports a deactivation KeyWarden made, while the key stays off', () => {
    const built = build(DEACTIVATED_A, [A_OFF, B_ON], SWEEP_TRIGGER);

    expect(built.Compliance?.Status).toBe('PASSED');
    expect(built.Title).toContain(`KeyWarden deactivated access key ${KEY_A}`);
  });
});
