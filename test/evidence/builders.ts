/** Findings for the evidence tests, made by the real pure finding builders (never hand-written ASFF). */

import { buildArchivedFinding, buildFinding, type Finding } from '../../functions/core/finding.ts';
import type { ResolvedViolation } from '../../functions/core/record.ts';
import { buildThreatFinding, type ThreatRecord } from '../../functions/core/threat-finding.ts';
import { buildTrailHealthFinding } from '../../functions/core/trail-health.ts';
import type { AccessKey, AccountContext, EventTrigger, Trigger } from '../../functions/core/types.ts';
import { EVENT_TRIGGER, key, snapshot } from '../core/builders.ts';

export const ACCOUNT: AccountContext = { accountId: '123456789012', partition: 'aws', region: 'us-east-1' };
export const NOW = new Date('2026-06-30T12:00:00.000Z');
const hoursBefore = (hours: number): Date => new Date(NOW.getTime() - hours * 3_600_000);
export const iso = (hours: number): string => hoursBefore(hours).toISOString();

const keys = (userName: string, since: number): AccessKey[] => [
  key(`AKIA${userName.toUpperCase().padEnd(12, 'X').slice(0, 12)}OLD1`, iso(24 * 200), {
    lastUsed: iso(since + 1),
    service: 's3',
    region: 'eu-west-1',
  }),
  key(`AKIA${userName.toUpperCase().padEnd(12, 'X').slice(0, 12)}NEW2`, iso(since), { lastUsed: null }),
];

/** An open violation (FAILED) detected `since` hours ago, in detect-only mode. */
export function openViolation(userName: string, since: number, account = ACCOUNT): Finding {
  const [old, fresh] = keys(userName, since) as [AccessKey, AccessKey];
  return buildFinding({
    account,
    evaluation: {
      verdict: 'violation',
      snapshot: snapshot([old, fresh], { userName }),
      activeKeys: [old, fresh],
      keyToKeep: fresh,
      keysToDeactivate: [old],
      keepReason: 'it is the newest active key (KEEP_KEY=newest)',
      graceUntil: undefined,
    },
    action: { kind: 'none' },
    trigger: EVENT_TRIGGER,
    updatedAt: hoursBefore(Math.max(0, since - 0.5)),
  });
}

/** An exempt user's finding (WARNING), the tag set by `admin` in a TagUser event KeyWarden saw. */
export function exemptFinding(
  userName: string,
  until: string,
  reason = 'user is tagged keywarden:exempt',
): Finding {
  const [old, fresh] = keys(userName, 48) as [AccessKey, AccessKey];
  const trigger: EventTrigger = { ...EVENT_TRIGGER, eventName: 'TagUser', eventTime: iso(47) };
  return buildFinding({
    account: ACCOUNT,
    evaluation: {
      verdict: 'exempt',
      snapshot: snapshot([old, fresh], { userName }),
      activeKeys: [old, fresh],
      reason,
      until: new Date(until),
    },
    action: { kind: 'none' },
    trigger,
    updatedAt: hoursBefore(47),
  });
}

/** The PASSED finding of a resolution: by an event (`trigger`) after a violation detected `detected` hours ago. */
export function resolvedFinding(
  userName: string,
  detected: number,
  resolved: number,
  trigger: Trigger,
  keyStates: readonly string[] = ['Inactive', 'Active'],
): Finding {
  const listed = keys(userName, detected)
    .map((k, index) => ({ ...k, status: keyStates[index] ?? 'gone' }))
    .filter((k) => k.status !== 'gone');
  const resolves: ResolvedViolation = { detectedAt: iso(detected), resolvedAt: undefined };
  return buildFinding({
    account: ACCOUNT,
    evaluation: {
      verdict: 'compliant',
      snapshot: snapshot(listed, { userName }),
      activeKeys: listed.filter((k) => k.status === 'Active'),
    },
    action: { kind: 'none' },
    trigger,
    updatedAt: hoursBefore(resolved),
    resolves,
  });
}

/** KeyWarden's own deactivation, `resolved` hours ago, of a violation that began `detected` hours ago. */
export function deactivatedFinding(userName: string, detected: number, resolved: number): Finding {
  const [old, fresh] = keys(userName, detected) as [AccessKey, AccessKey];
  const off = { ...old, status: 'Inactive' };
  return buildFinding({
    account: ACCOUNT,
    evaluation: {
      verdict: 'violation',
      snapshot: snapshot([old, fresh], { userName }),
      activeKeys: [old, fresh],
      keyToKeep: fresh,
      keysToDeactivate: [old],
      keepReason: 'it is the newest active key (KEEP_KEY=newest)',
      graceUntil: undefined,
    },
    action: { kind: 'deactivated', keys: [old], at: hoursBefore(resolved), keysAfter: [off, fresh] },
    trigger: EVENT_TRIGGER,
    updatedAt: hoursBefore(resolved),
  });
}

/** A PASSED finding that resolved nothing (a deletion of an inactive key of a compliant user). */
export function plainPassed(userName: string, at: number): Finding {
  const [, fresh] = keys(userName, 24) as [AccessKey, AccessKey];
  return buildFinding({
    account: ACCOUNT,
    evaluation: { verdict: 'compliant', snapshot: snapshot([fresh], { userName }), activeKeys: [fresh] },
    action: { kind: 'none' },
    trigger: { ...EVENT_TRIGGER, eventName: 'DeleteAccessKey' },
    updatedAt: hoursBefore(at),
  });
}

export function archivedViolation(userName: string, detected: number, deleted: number): Finding {
  return buildArchivedFinding(
    openViolation(userName, detected),
    userName,
    { kind: 'sweep', origin: 'schedule' },
    hoursBefore(deleted),
  );
}

export function threatFinding(
  userName: string,
  accessKeyId: string,
  state: 'active' | 'inactive',
  hours: number,
): Finding {
  const record: ThreatRecord = {
    userName,
    userArn: `arn:aws:iam::${ACCOUNT.accountId}:user/${userName}`,
    userId: 'AIDAEXAMPLEUSERID0001',
    accessKeyId,
    keyCreatedAt: iso(hours),
    how: 'created',
    eventName: 'CreateAccessKey',
    eventId: 'event-1',
    eventTime: iso(hours),
    actorArn: `arn:aws:iam::${ACCOUNT.accountId}:user/admin`,
    actorType: 'IAMUser',
    actorIssuerArn: '',
    actorAccountId: ACCOUNT.accountId,
    actorMfa: false,
    sourceIp: '203.0.113.7',
    userAgent: 'aws-cli/2.15.0',
    activeKeysAfterCall: [accessKeyId],
    createdAt: iso(hours),
  };
  return buildThreatFinding(
    ACCOUNT,
    record,
    state === 'active'
      ? { key: 'active' }
      : {
          key: 'inactive',
          by: 'UpdateAccessKey by arn:aws:iam::123456789012:user/secops',
          at: hoursBefore(hours - 2),
        },
    hoursBefore(state === 'active' ? hours : hours - 2),
  );
}

export function healthFinding(status: 'covered' | 'blind' | 'unverified', account = ACCOUNT): Finding {
  return buildTrailHealthFinding({
    account,
    health: { status, iamEventRegion: 'us-east-1', assessments: [] },
    observedAt: hoursBefore(3),
  });
}
