import { describe, expect, it } from 'vitest';
import {
  CANARY_GRACE_MS,
  type CanaryRecord,
  canaryProblem,
  canarySentAt,
} from '../../functions/core/canary.ts';
import type { EventTrigger } from '../../functions/core/types.ts';
import { CANARY_TAG_KEY, CANARY_USER_NAME } from '../../functions/shared/constants.ts';

const SWEEP_ROLE = 'arn:aws:iam::123456789012:role/KeyWarden-SweepRole';
const SENT = '2026-06-01T00:00:00.000Z';
const NOW = new Date('2026-06-01T06:00:00.000Z');

function trigger(overrides: Partial<EventTrigger> = {}): EventTrigger {
  return {
    kind: 'event',
    eventName: 'TagUser',
    eventId: 'e-1',
    eventTime: SENT,
    actorArn: 'arn:aws:sts::123456789012:assumed-role/KeyWarden-SweepRole/keywarden-sweep',
    actorType: 'AssumedRole',
    actorIssuerArn: SWEEP_ROLE,
    actorUserName: '',
    actorAccountId: '123456789012',
    actorMfa: undefined,
    sourceIp: '203.0.113.5',
    userAgent: 'keywarden/0.1.0',
    accessKeyId: undefined,
    tagKeys: [CANARY_TAG_KEY],
    tagValues: { [CANARY_TAG_KEY]: SENT },
    ...overrides,
  };
}

describe('canarySentAt', () => {
  it.each([
    ['KeyWarden’s own role tagging the canary user', CANARY_USER_NAME, trigger(), SENT],
    [
      'another role tagging the canary user',
      CANARY_USER_NAME,
      trigger({ actorIssuerArn: 'arn:aws:iam::123456789012:role/admin' }),
      undefined,
    ],
    [
      'a user agent claiming KeyWarden from an IAM user',
      CANARY_USER_NAME,
      trigger({ actorType: 'IAMUser', actorIssuerArn: '' }),
      undefined,
    ],
    ['KeyWarden’s role tagging another user', 'alice', trigger(), undefined],
    [
      'KeyWarden’s role untagging the canary user',
      CANARY_USER_NAME,
      trigger({ eventName: 'UntagUser' }),
      undefined,
    ],
    [
      'a canary tag that is no time',
      CANARY_USER_NAME,
      trigger({ tagValues: { [CANARY_TAG_KEY]: 'soon' } }),
      undefined,
    ],
  ] as const)('%s: %s', (_case, userName, event, expected) => {
    expect(canarySentAt(userName, event, [SWEEP_ROLE])?.toISOString()).toBe(expected);
  });
});

describe('canaryProblem', () => {
  const sent = new Date(SENT);
  const record = (fields: Partial<CanaryRecord>): CanaryRecord => ({ accountId: '123456789012', ...fields });
  it.each([
    ['no canary sent yet', undefined, undefined],
    ['the last canary received', record({ sentAt: sent, receivedSentAt: sent }), undefined],
    ['the last canary never received', record({ sentAt: sent }), 'CANARY_LOST'],
    [
      'only an older canary received',
      record({ sentAt: sent, receivedSentAt: new Date(sent.getTime() - 1) }),
      'CANARY_LOST',
    ],
  ] as const)('%s', (_case, stored, code) => {
    expect(canaryProblem(stored, NOW)?.code).toBe(code);
  });

  it('does not judge a canary sent within the grace, and does after it', () => {
    const justSent = record({ sentAt: new Date(NOW.getTime() - CANARY_GRACE_MS + 1) });
    const pastGrace = record({ sentAt: new Date(NOW.getTime() - CANARY_GRACE_MS) });
    expect(canaryProblem(justSent, NOW)).toBeUndefined();
    expect(canaryProblem(pastGrace, NOW)).toEqual({
      code: 'CANARY_LOST',
      sentAt: pastGrace.sentAt?.toISOString(),
    });
  });
});
