/**
 * Who set a user's exemption tag, from CloudTrail: the TagUser event being handled, or the TagUser records
 * LookupEvents returns. An EventBridge `aws.iam` event or a CloudTrail record cannot be forged from customer code;
 * a finding's fields can, so they are never the proof. Identity comes from `userIdentity`, never the user agent. Pure.
 */

import { CLOUDTRAIL_LOOKUP_DAYS } from '../shared/constants.ts';
import type { EventTrigger, ExemptionEvidence, ExemptionSetting } from './types.ts';

/** One successful TagUser call as CloudTrail recorded it. */
export interface TagUserRecord {
  readonly eventId: string;
  readonly eventTime: Date;
  readonly setterArn: string;
  readonly setterIssuerArn: string;
  readonly setterType: string;
  readonly userName: string;
  /** The tags the call set, by key as written. */
  readonly tags: Readonly<Record<string, string>>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Reads a LookupEvents `CloudTrailEvent` (the record as a JSON string); undefined unless a successful TagUser. */
export function parseTagUserRecord(json: string | undefined): TagUserRecord | undefined {
  let record: unknown;
  try {
    record = JSON.parse(json ?? '');
  } catch {
    return undefined;
  }
  if (!isObject(record) || record.eventName !== 'TagUser' || record.eventSource !== 'iam.amazonaws.com') {
    return undefined;
  }
  if (record.errorCode !== undefined && record.errorCode !== null) return undefined;
  const identity = isObject(record.userIdentity) ? record.userIdentity : {};
  const session = isObject(identity.sessionContext) ? identity.sessionContext : {};
  const issuer = isObject(session.sessionIssuer) ? session.sessionIssuer : {};
  const request = isObject(record.requestParameters) ? record.requestParameters : {};
  const eventTime = new Date(text(record.eventTime));
  const userName = text(request.userName);
  if (Number.isNaN(eventTime.getTime()) || userName === '' || !Array.isArray(request.tags)) return undefined;
  const tags: Record<string, string> = {};
  for (const tag of request.tags) {
    if (isObject(tag) && typeof tag.key === 'string' && typeof tag.value === 'string')
      tags[tag.key] = tag.value;
  }
  return {
    eventId: text(record.eventID),
    eventTime,
    setterArn: text(identity.arn),
    setterIssuerArn: text(issuer.arn),
    setterType: text(identity.type) || 'Unknown',
    userName,
    tags,
  };
}

/** The value a set of tags gives the exemption tag; keys compare regardless of case, as IAM's do. */
function exemptValueOf(tags: Readonly<Record<string, string>>, exemptTag: string): string | undefined {
  const wanted = exemptTag.toLowerCase();
  return Object.entries(tags).find(([key]) => key.toLowerCase() === wanted)?.[1];
}

/** The setting a TagUser event being handled proves, when it set the exemption tag. */
export function settingFromEvent(trigger: EventTrigger, exemptTag: string): ExemptionSetting | undefined {
  if (trigger.eventName !== 'TagUser') return undefined;
  const value = exemptValueOf(trigger.tagValues ?? {}, exemptTag);
  const setAt = new Date(trigger.eventTime);
  if (value === undefined || Number.isNaN(setAt.getTime())) return undefined;
  return {
    setterArn: trigger.actorArn,
    setterIssuerArn: trigger.actorIssuerArn,
    setterType: trigger.actorType,
    setAt,
    value,
    eventId: trigger.eventId,
    source: 'event',
  };
}

/**
 * The newest TagUser record that set the exemption tag on the user (names compare regardless of case, as IAM's
 * do): it set the value IAM shows now, unless a later change is missing from CloudTrail. `complete` false: the
 * lookup stopped at its page bound, so an older record may exist that was not read.
 */
export function evidenceFromRecords(
  records: readonly TagUserRecord[],
  userName: string,
  exemptTag: string,
  complete: boolean,
): ExemptionEvidence {
  const name = userName.toLowerCase();
  const newest = records
    .filter((record) => record.userName.toLowerCase() === name)
    .filter((record) => exemptValueOf(record.tags, exemptTag) !== undefined)
    .sort((a, b) => b.eventTime.getTime() - a.eventTime.getTime())[0];
  if (newest === undefined) {
    return {
      kind: 'unproven',
      reason: complete
        ? `CloudTrail holds no TagUser of ${exemptTag} on ${userName} in the last ${CLOUDTRAIL_LOOKUP_DAYS} days (a tag set at CreateUser, or earlier, cannot be proven)`
        : `CloudTrail holds more TagUser events than KeyWarden reads, and none read sets ${exemptTag} on ${userName}`,
    };
  }
  return {
    kind: 'proven',
    setting: {
      setterArn: newest.setterArn,
      setterIssuerArn: newest.setterIssuerArn,
      setterType: newest.setterType,
      setAt: newest.eventTime,
      value: exemptValueOf(newest.tags, exemptTag) ?? '',
      eventId: newest.eventId,
      source: 'cloudtrail',
    },
  };
}
