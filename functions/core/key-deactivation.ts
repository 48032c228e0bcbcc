/**
 * What `keywarden restore` proves before it re-activates a key: that KeyWarden switched it off. A finding's record
 * is no proof (anyone with securityhub:BatchImportFindings can write one); IAM and CloudTrail are. Pure.
 */

import type { AccessKey } from './types.ts';

/** A successful or failed `UpdateAccessKey` as CloudTrail logged it, read from one record. */
export interface KeyStatusChange {
  readonly eventId: string;
  readonly eventTime: string;
  readonly accessKeyId: string;
  readonly status: string;
  /** `requestParameters.userName`; absent when the caller acted on itself. */
  readonly userName: string | undefined;
  /** `userIdentity.arn`: the session for a role, the user for a user. */
  readonly actorArn: string;
  /** The role of an assumed-role session (`sessionContext.sessionIssuer.arn`), else the actor's own ARN. */
  readonly principalArn: string;
  /** Set when the call failed. */
  readonly errorCode: string | undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const object = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/**
 * The key status change a CloudTrail record shows for `accessKeyId`, or undefined when the record is not an
 * `UpdateAccessKey` of that key. The caller is read from `userIdentity` ARNs, never from the user agent.
 */
export function keyStatusChangeOf(record: unknown, accessKeyId: string): KeyStatusChange | undefined {
  const fields = object(record);
  if (fields.eventName !== 'UpdateAccessKey' || fields.eventSource !== 'iam.amazonaws.com') return undefined;
  const parameters = object(fields.requestParameters);
  if (parameters.accessKeyId !== accessKeyId) return undefined;
  const identity = object(fields.userIdentity);
  const actorArn = text(identity.arn) ?? '';
  const issuerArn = text(object(object(identity.sessionContext).sessionIssuer).arn);
  return {
    eventId: text(fields.eventID) ?? '',
    eventTime: text(fields.eventTime) ?? '',
    accessKeyId,
    status: text(parameters.status) ?? '',
    userName: text(parameters.userName),
    actorArn,
    principalArn: identity.type === 'AssumedRole' && issuerArn ? issuerArn : actorArn,
    errorCode: text(fields.errorCode),
  };
}

/** Where the proof was looked for, for the message. */
export interface TrailSearch {
  readonly region: string;
  /** False when the search stopped at its page bound before reaching the oldest event it could read. */
  readonly complete: boolean;
  readonly eventsRead: number;
}

/** Who switched a key off, as CloudTrail shows it. */
export interface Deactivation {
  readonly by: string;
  readonly at: string;
}

export type DeactivationProof =
  | { readonly kind: 'proven'; readonly deactivation: Deactivation }
  | {
      readonly kind: 'unproven';
      /** What could not be proven, one clause. */
      readonly reason: string;
      /** The last deactivation CloudTrail shows, when it shows one. */
      readonly deactivation: Deactivation | undefined;
    };

/**
 * Whether IAM and CloudTrail prove that one of `keywardenRoles` switched `key` off and nobody switched it on since:
 * IAM lists the key (of the user) as Inactive, and the newest successful `UpdateAccessKey` of that key id in
 * `changes` (newest first) set it Inactive, made by one of those roles (matched exactly by ARN).
 */
export function proveDeactivation(input: {
  readonly key: AccessKey;
  readonly changes: readonly KeyStatusChange[];
  readonly search: TrailSearch;
  readonly keywardenRoles: readonly string[];
}): DeactivationProof {
  const { key, search } = input;
  const latest = input.changes.find(
    (change) => change.accessKeyId === key.accessKeyId && change.errorCode === undefined,
  );
  const latestOff = input.changes.find(
    (change) =>
      change.accessKeyId === key.accessKeyId &&
      change.errorCode === undefined &&
      change.status === 'Inactive',
  );
  const deactivation = latestOff && { by: who(latestOff), at: latestOff.eventTime };
  const unproven = (reason: string): DeactivationProof => ({ kind: 'unproven', reason, deactivation });
  if (key.status !== 'Inactive')
    return unproven(`IAM lists ${key.accessKeyId} as ${key.status}, not Inactive`);
  if (latest === undefined) {
    const scope = search.complete
      ? `in the last 90 days (LookupEvents in ${search.region})`
      : `in the ${search.eventsRead} newest UpdateAccessKey events (LookupEvents in ${search.region}; the search stops there)`;
    return unproven(
      `CloudTrail shows no UpdateAccessKey of ${key.accessKeyId} ${scope}; a call of the last minutes may not be there yet`,
    );
  }
  if (latest.status !== 'Inactive')
    return unproven(
      `CloudTrail shows ${key.accessKeyId} last set ${latest.status} by ${who(latest)} at ${latest.eventTime}`,
    );
  if (input.keywardenRoles.length === 0)
    return unproven(
      `KeyWarden's roles are not known to compare with ${who(latest)}, who switched it off at ${latest.eventTime}; name them with --keywarden-roles or KEYWARDEN_ROLE_ARNS`,
    );
  if (!input.keywardenRoles.includes(latest.principalArn))
    return unproven(
      `it was switched off by ${who(latest)} at ${latest.eventTime}, which is not one of KeyWarden's roles (${input.keywardenRoles.join(', ')})`,
    );
  return { kind: 'proven', deactivation: { by: who(latest), at: latest.eventTime } };
}

/** The principal, and the session when it was a role's: `arn:…:role/R (session S)`. */
function who(change: KeyStatusChange): string {
  if (change.principalArn === change.actorArn) return change.actorArn;
  const session = change.actorArn.split('/').pop();
  return `${change.principalArn} (session ${session})`;
}
