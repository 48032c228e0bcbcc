/**
 * What a stored finding records of KeyWarden's own actions (a deactivation, an intent to deactivate, a
 * re-activation it noticed) and of the last event it saw, and what that means for a user IAM now shows compliant.
 * Pure: a finding is read back, nothing is fetched.
 */

import {
  type AccessKey,
  type EventTrigger,
  type Finding,
  isActive,
  type Trigger,
  type UserSnapshot,
} from './types.ts';

/** ProductFields prefix of every field KeyWarden writes on a compliance finding. */
export const FIELD = 'keywarden/detector';

export const RECORD_FIELDS = {
  deactivatedKeys: `${FIELD}/deactivatedKeys`,
  deactivatedAt: `${FIELD}/deactivatedAt`,
  pendingDeactivation: `${FIELD}/pendingDeactivation`,
  pendingSince: `${FIELD}/pendingDeactivationSince`,
  reactivatedKeys: `${FIELD}/reactivatedKeys`,
  reactivatedBy: `${FIELD}/reactivatedBy`,
  reactivatedByKind: `${FIELD}/reactivatedByKind`,
  reactivatedAt: `${FIELD}/reactivatedAt`,
  keyToKeepReason: `${FIELD}/keyToKeepReason`,
  violationDetectedAt: `${FIELD}/violationDetectedAt`,
  violationResolvedAt: `${FIELD}/violationResolvedAt`,
  // Who set an honoured exemption (approvers configured). Anyone with securityhub:BatchImportFindings can write
  // these: they are a record for people, never proof; KeyWarden proves the setter from CloudTrail each time.
  exemptionApprovedBy: `${FIELD}/exemptionApprovedBy`,
  exemptionApproverPattern: `${FIELD}/exemptionApproverPattern`,
  exemptionSetAt: `${FIELD}/exemptionSetAt`,
  exemptionValue: `${FIELD}/exemptionValue`,
  exemptionEventId: `${FIELD}/exemptionEventId`,
} as const;

/** When a violation that a compliant finding resolves was detected, and when it was resolved (once known). */
export interface ResolvedViolation {
  readonly detectedAt: string;
  readonly resolvedAt: string | undefined;
}

/**
 * The violation a compliant user's finding resolves: an open (FAILED) or exempt (WARNING) stored finding was
 * detected at its CreatedAt; a PASSED one carries the times it recorded when it resolved one. Security Hub keeps no
 * history of a finding, so these fields are the only evidence of how long a violation lasted.
 */
export function resolvedViolationOf(previous: Finding | undefined): ResolvedViolation | undefined {
  if (previous === undefined || previous.RecordState === 'ARCHIVED') return undefined;
  const status = previous.Compliance?.Status;
  if ((status === 'FAILED' || status === 'WARNING') && previous.CreatedAt)
    return { detectedAt: previous.CreatedAt, resolvedAt: undefined };
  const fields = previous.ProductFields ?? {};
  const detectedAt = fields[RECORD_FIELDS.violationDetectedAt];
  if (status !== 'PASSED' || !detectedAt) return undefined;
  return { detectedAt, resolvedAt: fields[RECORD_FIELDS.violationResolvedAt] || undefined };
}

export interface KeyWardenRecord {
  /** Keys KeyWarden deactivated (confirmed by a read after the write), and when. */
  readonly deactivated?: { readonly keys: readonly string[]; readonly at: string };
  /** Keys KeyWarden set out to deactivate, recorded before the write; the outcome was never recorded. */
  readonly pending?: { readonly keys: readonly string[]; readonly since: string };
  /** Keys KeyWarden had deactivated that someone re-activated, who and when. */
  readonly reactivated?: {
    readonly keys: readonly string[];
    readonly by: string;
    readonly byKind: ReactivatorKind;
    readonly at: string;
    /** When KeyWarden had deactivated them; '' when not recorded. */
    readonly deactivatedAt: string;
  };
  readonly keepReason?: string;
}

/** How KeyWarden classified whoever re-activated a key it had switched off; `unknown` when it saw no event. */
export type ReactivatorKind = 'self' | 'trusted' | 'another-principal' | 'unknown';
const REACTIVATOR_KINDS: readonly string[] = ['self', 'trusted', 'another-principal', 'unknown'];

const ids = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');

/** Reads KeyWarden's record from a stored finding; empty when there is none (or no finding). */
export function readRecord(previous: Finding | undefined): KeyWardenRecord {
  const fields = previous?.ProductFields ?? {};
  const deactivated = ids(fields[RECORD_FIELDS.deactivatedKeys]);
  const pending = ids(fields[RECORD_FIELDS.pendingDeactivation]);
  const reactivated = ids(fields[RECORD_FIELDS.reactivatedKeys]);
  return {
    ...(deactivated.length > 0
      ? { deactivated: { keys: deactivated, at: fields[RECORD_FIELDS.deactivatedAt] ?? '' } }
      : {}),
    ...(pending.length > 0
      ? { pending: { keys: pending, since: fields[RECORD_FIELDS.pendingSince] ?? '' } }
      : {}),
    ...(reactivated.length > 0
      ? {
          reactivated: {
            keys: reactivated,
            by: fields[RECORD_FIELDS.reactivatedBy] ?? 'unknown',
            byKind: (REACTIVATOR_KINDS.includes(fields[RECORD_FIELDS.reactivatedByKind] ?? '')
              ? fields[RECORD_FIELDS.reactivatedByKind]
              : 'unknown') as ReactivatorKind,
            at: fields[RECORD_FIELDS.reactivatedAt] ?? '',
            deactivatedAt: fields[RECORD_FIELDS.deactivatedAt] ?? '',
          },
        }
      : {}),
    ...(fields[RECORD_FIELDS.keyToKeepReason] ? { keepReason: fields[RECORD_FIELDS.keyToKeepReason] } : {}),
  };
}

/** The event trigger a stored finding recorded, rebuilt from its fields; undefined when it recorded none. */
export function lastEventOf(previous: Finding | undefined): EventTrigger | undefined {
  const fields = previous?.ProductFields ?? {};
  const get = (name: string): string => fields[`${FIELD}/trigger/${name}`] ?? '';
  const eventName = get('eventName');
  if (fields[`${FIELD}/trigger`] === undefined || eventName === '') return undefined;
  const mfa = get('actorMfa');
  return {
    kind: 'event',
    eventName: eventName as EventTrigger['eventName'],
    eventId: get('eventId'),
    eventTime: get('eventTime'),
    actorArn: get('actorArn'),
    actorType: get('actorType'),
    actorIssuerArn: get('actorIssuerArn'),
    actorUserName: get('actorUserName'),
    actorAccountId: get('actorAccountId'),
    actorMfa: mfa === 'true' ? true : mfa === 'false' ? false : undefined,
    sourceIp: get('sourceIp'),
    userAgent: get('userAgent'),
    accessKeyId: get('accessKeyId') || undefined,
    ...(get('renamedFrom') ? { renamedFrom: get('renamedFrom') } : {}),
  };
}

/** What a compliant user's finding says, given KeyWarden's record and what IAM shows now. */
export type CompliantOutcome =
  | { readonly kind: 'plain' }
  /** Keys KeyWarden deactivated are still listed and inactive: the record is kept (or rebuilt from the intent). */
  | {
      readonly kind: 'deactivated';
      readonly keys: readonly AccessKey[];
      readonly at: Date;
      readonly recovered: boolean;
      readonly keepReason: string | undefined;
    }
  /**
   * A key KeyWarden had deactivated is active again, and the user holds one active key: compliant, the history kept.
   * Who did it is a note here; another principal's re-activation is the threat finding's to report.
   */
  | {
      readonly kind: 'reactivated';
      readonly keys: readonly AccessKey[];
      readonly by: string;
      readonly byKind: ReactivatorKind;
      readonly at: string;
      readonly deactivatedAt: string;
    };

function describeActor(trigger: EventTrigger): string {
  return `${trigger.actorArn || 'an unknown principal'} (${trigger.actorType || 'Unknown'})`;
}

const validDate = (text: string, fallback: Date): Date => {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? fallback : date;
};

/**
 * Decides what the finding of a user IAM shows compliant must say. A key KeyWarden switched off that is active
 * again is recorded (who, when), the finding staying compliant; a deactivation whose outcome was never recorded is
 * rebuilt once IAM shows the key inactive. `reactivatedBy`: how the event's caller was classified, when the event
 * re-activates a key. `now` stands in for unknown times.
 */
export function compliantOutcome(
  record: KeyWardenRecord,
  snapshot: UserSnapshot,
  trigger: Trigger,
  now: Date,
  reactivatedBy?: Exclude<ReactivatorKind, 'unknown'>,
): CompliantOutcome {
  const listed = new Map(snapshot.keys.map((key) => [key.accessKeyId, key]));
  const activeOf = (keyIds: readonly string[]): AccessKey[] =>
    keyIds.map((id) => listed.get(id)).filter((key): key is AccessKey => key !== undefined && isActive(key));

  if (record.reactivated !== undefined) {
    const still = activeOf(record.reactivated.keys);
    if (still.length > 0) {
      return {
        kind: 'reactivated',
        keys: still,
        by: record.reactivated.by,
        byKind: record.reactivated.byKind,
        at: record.reactivated.at,
        deactivatedAt: record.deactivated?.at ?? record.reactivated.deactivatedAt,
      };
    }
  }
  const own =
    record.deactivated ??
    (record.pending ? { keys: record.pending.keys, at: record.pending.since } : undefined);
  if (own === undefined) return { kind: 'plain' };
  const reactivated = activeOf(own.keys);
  if (reactivated.length > 0) {
    const seen =
      trigger.kind === 'event' &&
      trigger.eventName === 'UpdateAccessKey' &&
      reactivated.some((key) => key.accessKeyId === trigger.accessKeyId);
    return {
      kind: 'reactivated',
      keys: reactivated,
      by:
        trigger.kind === 'event' && seen
          ? describeActor(trigger)
          : 'an unknown principal (the re-activation event was not seen by KeyWarden)',
      byKind: seen && reactivatedBy !== undefined ? reactivatedBy : 'unknown',
      at: trigger.kind === 'event' && seen && trigger.eventTime ? trigger.eventTime : now.toISOString(),
      deactivatedAt: own.at,
    };
  }
  const stillOff = own.keys
    .map((id) => listed.get(id))
    .filter((key): key is AccessKey => key !== undefined && !isActive(key));
  if (stillOff.length === 0) return { kind: 'plain' };
  return {
    kind: 'deactivated',
    keys: stillOff,
    at: validDate(own.at, now),
    recovered: record.deactivated === undefined,
    keepReason: record.keepReason,
  };
}
