/**
 * Usage evidence through the core: planned for a violation only, carried into the finding (within ASFF's limits),
 * the in-use reasons and the notification, and saying why it is missing when it could not be read.
 */

import { describe, expect, it } from 'vitest';
import { type DecisionSettings, decide, type Effects } from '../../functions/core/decide.ts';
import { planUsage } from '../../functions/core/read-plan.ts';
import type {
  AccessKey,
  EventTrigger,
  ExemptionEvidence,
  Trigger,
  UserSnapshot,
} from '../../functions/core/types.ts';
import {
  type RegionRead,
  summariseUsage,
  type UsageEvidence,
  usageUnavailable,
  usageWindow,
} from '../../functions/core/usage-evidence.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import {
  ACCOUNT,
  EVENT_TRIGGER,
  key,
  NEW_KEY,
  NOW,
  OLD_KEY,
  POLICY,
  SWEEP_TRIGGER,
  snapshot,
} from './builders.ts';

const FIELD = 'keywarden/detector';
const OLD = OLD_KEY.accessKeyId;
const NEW = NEW_KEY.accessKeyId;
const hoursAgo = (hours: number): string => new Date(NOW.getTime() - hours * 3_600_000).toISOString();
const usedKey = (id: string, created: string, hours: number): AccessKey =>
  key(id, created, { lastUsed: hoursAgo(hours), service: 'sts', region: 'eu-west-1' });

const read = (region: string, ip: string, agent: string, calls = 1): RegionRead => ({
  region,
  pages: 1,
  records: Array.from({ length: calls }, (_, index) => ({
    eventTime: new Date(NOW.getTime() - (index + 1) * 60_000),
    eventSource: 'sts.amazonaws.com',
    sourceIp: ip,
    userAgent: agent,
  })),
});

const evidence = (keys: readonly { id: string; ip: string; agent: string }[]): UsageEvidence => ({
  ...usageWindow(NOW),
  keys: keys.map(({ id, ip, agent }) => summariseUsage(id, [read('us-east-1', ip, agent, 3)])),
});

const SETTINGS: DecisionSettings = { ...POLICY, remediationMode: 'deactivate', inUseHours: 24 };

function effectsOf(
  user: UserSnapshot,
  usage: UsageEvidence | undefined,
  trigger: Trigger = EVENT_TRIGGER,
): Effects {
  const decision = decide({
    account: ACCOUNT,
    settings: SETTINGS,
    request: { userName: 'alice', trigger },
    reads: {
      snapshot: user,
      readAt: NOW,
      compliance: undefined,
      former: undefined,
      threats: new Map(),
      evidence: undefined,
      usage,
    },
  });
  if (decision.kind !== 'record') throw new Error(`expected no write, got ${decision.kind}`);
  return decision.effects;
}

describe('planUsage', () => {
  it.each<{ case: string; user: UserSnapshot; usage: unknown }>([
    {
      case: 'a violation: each active key, in us-east-1 and its last-used region',
      user: snapshot([OLD_KEY, NEW_KEY]),
      usage: {
        kind: 'cloudtrail',
        keys: [
          { accessKeyId: OLD, regions: ['us-east-1', 'eu-west-1'] },
          { accessKeyId: NEW, regions: ['us-east-1'] },
        ],
      },
    },
    { case: 'its compliant twin (one key)', user: snapshot([OLD_KEY]), usage: { kind: 'none' } },
    {
      case: 'its compliant twin (the second key inactive)',
      user: snapshot([OLD_KEY, { ...NEW_KEY, status: 'Inactive' }]),
      usage: { kind: 'none' },
    },
    {
      case: 'its exempt twin',
      user: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      usage: { kind: 'none' },
    },
  ])('plans $case', ({ user, usage }) => {
    const request = { userName: 'alice', trigger: EVENT_TRIGGER };
    expect(planUsage(ACCOUNT, POLICY, request, user, NOW, undefined)).toEqual(usage);
  });

  it.each([
    { case: 'proven set by an approver: exempt, nothing to read', proven: true, kind: 'none' },
    { case: 'not proven: a violation, its keys are read', proven: false, kind: 'cloudtrail' },
  ])('reads after the exemption proof: $case', ({ proven, kind }) => {
    const approver = 'arn:aws:sts::123456789012:assumed-role/SecurityAdmin/jane';
    const settings = {
      ...POLICY,
      exemptionApprovers: ['arn:aws:sts::123456789012:assumed-role/SecurityAdmin/*'],
    };
    const tagged = snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } });
    const evidence: ExemptionEvidence = proven
      ? {
          kind: 'proven',
          setting: {
            setterArn: approver,
            setterIssuerArn: 'arn:aws:iam::123456789012:role/SecurityAdmin',
            setterType: 'AssumedRole',
            setAt: new Date('2026-05-30T00:00:00Z'),
            value: 'true',
            eventId: 'ev-1',
            source: 'cloudtrail',
          },
        }
      : { kind: 'unproven', reason: 'no TagUser record' };
    const request = { userName: 'alice', trigger: SWEEP_TRIGGER };
    expect(planUsage(ACCOUNT, settings, request, tagged, NOW, evidence).kind).toBe(kind);
  });

  it('reads nothing for a user IAM does not know', () => {
    const request = { userName: 'alice', trigger: SWEEP_TRIGGER };
    expect(planUsage(ACCOUNT, POLICY, request, undefined, NOW, undefined)).toEqual({ kind: 'none' });
  });

  it("looks in the partition's IAM event region", () => {
    const gov = { accountId: '123456789012', partition: 'aws-us-gov', region: 'us-gov-east-1' };
    const plan = planUsage(
      gov,
      POLICY,
      { userName: 'alice', trigger: SWEEP_TRIGGER },
      snapshot([OLD_KEY, NEW_KEY]),
      NOW,
      undefined,
    );
    expect(plan).toMatchObject({
      keys: [{ regions: ['us-gov-west-1', 'eu-west-1'] }, { regions: ['us-gov-west-1'] }],
    });
  });
});

describe('decide: usage evidence in the finding and the notification', () => {
  const inUse = snapshot([usedKey(OLD, '2026-01-10T08:00:00.000Z', 2), NEW_KEY]);
  const both = snapshot([
    usedKey(OLD, '2026-01-10T08:00:00.000Z', 2),
    usedKey(NEW, '2026-06-01T11:00:00.000Z', 1),
  ]);
  const usage = evidence([
    { id: OLD, ip: '198.51.100.10', agent: 'payments-api/3.1 aws-sdk-java/2.20' },
    { id: NEW, ip: '203.0.113.7', agent: 'aws-cli/2.15.0' },
  ]);

  it('KEY_IN_USE says where and by what the key in use is used', () => {
    const { finding } = effectsOf(inUse, usage);
    const reason = finding?.Compliance?.StatusReasons?.find((r) => r.ReasonCode === 'KEY_IN_USE');
    expect(reason?.Description).toContain(
      '(CloudTrail: 3 management events in us-east-1 over the last 7 days',
    );
    expect(reason?.Description).toContain(
      'source IPs: 198.51.100.10 (3); user agents: payments-api/3.1 aws-sdk-java/2.20 (3)',
    );
    expectValidAsff(finding);
  });

  it('BOTH_KEYS_IN_USE says it for each key, and the notification carries it', () => {
    const { finding, notifications } = effectsOf(both, usage);
    const reason = finding?.Compliance?.StatusReasons?.find((r) => r.ReasonCode === 'BOTH_KEYS_IN_USE');
    expect(reason?.Description).toContain('198.51.100.10 (3)');
    expect(reason?.Description).toContain('203.0.113.7 (3)');
    const keysInUse = notifications.find((n) => n.outcome === 'Keys In Use');
    expect(keysInUse?.detail.usage).toMatchObject({
      scope: expect.stringContaining('management events only'),
      keys: [
        { accessKeyId: OLD, status: 'complete', calls: 3, sourceIps: [{ value: '198.51.100.10', count: 3 }] },
        { accessKeyId: NEW, status: 'complete', calls: 3 },
      ],
    });
  });

  it('puts each key’s summary in its product fields, with the scope once', () => {
    const { finding } = effectsOf(inUse, usage);
    expect(finding?.ProductFields).toMatchObject({
      [`${FIELD}/key1/usage`]: expect.stringMatching(/^3 management events in us-east-1 .*; complete$/),
      [`${FIELD}/key1/usageSources`]: expect.stringContaining('event sources: sts.amazonaws.com (3)'),
      [`${FIELD}/key2/usage`]: expect.stringContaining('; complete'),
      [`${FIELD}/usageEvidence`]: expect.stringContaining('management events only'),
    });
  });

  it('its twin without evidence has no such fields', () => {
    const { finding } = effectsOf(inUse, undefined);
    expect(Object.keys(finding?.ProductFields ?? {}).filter((name) => name.includes('usage'))).toEqual([]);
  });

  it('says why the evidence is missing, and is otherwise the finding it would be without it', () => {
    const missing = usageUnavailable(
      [
        { accessKeyId: OLD, regions: ['us-east-1', 'eu-west-1'] },
        { accessKeyId: NEW, regions: ['us-east-1'] },
      ],
      usageWindow(NOW),
      'us-east-1: AccessDeniedException: not authorized to perform cloudtrail:LookupEvents',
    );
    const withGap = effectsOf(inUse, missing).finding;
    const without = effectsOf(inUse, undefined).finding;
    expect(withGap?.ProductFields?.[`${FIELD}/key1/usage`]).toBe(
      'usage evidence unavailable (us-east-1: AccessDeniedException: not authorized to perform cloudtrail:LookupEvents)',
    );
    expect(withGap?.ProductFields?.[`${FIELD}/key1/usageSources`]).toBeUndefined();
    expect(withGap?.Compliance?.Status).toBe(without?.Compliance?.Status);
    expect(withGap?.Compliance?.StatusReasons?.map((r) => r.ReasonCode)).toEqual(
      without?.Compliance?.StatusReasons?.map((r) => r.ReasonCode),
    );
    expectValidAsff(withGap);
  });

  it('stays within ASFF limits in the fullest case: a sweep re-check of a renamed user, long user agents', () => {
    const long = `${'x'.repeat(3000)} aws-sdk`;
    const heavy = evidence([
      { id: OLD, ip: '198.51.100.10', agent: long },
      { id: NEW, ip: '203.0.113.7', agent: long },
    ]);
    const lastEvent: EventTrigger = {
      ...EVENT_TRIGGER,
      actorIssuerArn: 'arn:aws:iam::123456789012:role/Admin',
      actorMfa: true,
      renamedFrom: 'alice-old',
    };
    const { finding } = effectsOf(both, heavy, { kind: 'sweep', origin: 'schedule', lastEvent });
    expect(Object.keys(finding?.ProductFields ?? {}).length).toBeLessThanOrEqual(50);
    expectValidAsff(finding);
  });
});
