/**
 * The end-to-end canary: recognising KeyWarden's own canary event, and judging whether the last canary arrived.
 * Pure: the event, the stored record, KeyWarden's roles and the time are passed in.
 */

import { CANARY_TAG_KEY, CANARY_USER_NAME } from '../shared/constants.ts';
import type { CoverageProblem } from './coverage.ts';
import { isOwnCall } from './event.ts';
import type { EventTrigger } from './types.ts';

/** What the canary table holds for one account (everything optional: a new account has nothing). */
export interface CanaryRecord {
  readonly accountId: string;
  /** When the last canary was sent (the tag's value). */
  readonly sentAt?: Date | undefined;
  /** The send time of the newest canary that arrived, and when it arrived. */
  readonly receivedSentAt?: Date | undefined;
  readonly receivedAt?: Date | undefined;
  /** CloudTrail's eventTime of that canary's TagUser. */
  readonly eventTime?: Date | undefined;
  readonly delayMs?: number | undefined;
  /** The sweep's last coverage problems (the canary's aside), so the detector can rebuild the finding. */
  readonly problems?: readonly CoverageProblem[] | undefined;
  /** CreatedAt of the account's coverage finding. */
  readonly findingCreatedAt?: Date | undefined;
}

/** A canary sent less than this long ago is not judged yet (delivery usually takes seconds to minutes). */
export const CANARY_GRACE_MS = 15 * 60_000;

/**
 * Whether the event is the canary: a TagUser of {@link CANARY_USER_NAME} setting {@link CANARY_TAG_KEY}, made by one
 * of KeyWarden's own roles in that account (CloudTrail's sessionIssuer, never the user agent). Anyone else tagging
 * that user is an ordinary event. Returns the send time the tag carries, or undefined.
 */
export function canarySentAt(
  userName: string,
  trigger: EventTrigger,
  ownRoleArns: readonly string[],
): Date | undefined {
  if (trigger.eventName !== 'TagUser' || userName !== CANARY_USER_NAME) return undefined;
  if (!isOwnCall(trigger, ownRoleArns)) return undefined;
  const value = trigger.tagValues?.[CANARY_TAG_KEY];
  const sentAt = value === undefined ? undefined : new Date(value);
  return sentAt && !Number.isNaN(sentAt.getTime()) ? sentAt : undefined;
}

/** The canary's problem at `now`: the last one sent (past the grace) never arrived. */
export function canaryProblem(record: CanaryRecord | undefined, now: Date): CoverageProblem | undefined {
  const sentAt = record?.sentAt;
  if (sentAt === undefined) return undefined;
  if (record?.receivedSentAt !== undefined && record.receivedSentAt.getTime() >= sentAt.getTime())
    return undefined;
  if (now.getTime() - sentAt.getTime() < CANARY_GRACE_MS) return undefined;
  return { code: 'CANARY_LOST', sentAt: sentAt.toISOString() };
}
