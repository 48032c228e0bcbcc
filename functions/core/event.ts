/** Reads an EventBridge "AWS API Call via CloudTrail" event into a target user, or a reasoned skip. Pure. */

import {
  ACCOUNT_ID_PATTERN,
  TAG_EVENT_NAMES,
  WATCHED_EVENT_NAMES,
  type WatchedEventName,
} from '../shared/constants.ts';
import { InvalidEventError } from '../shared/errors.ts';
import type { EventTrigger, Expectation } from './types.ts';

export type SkipReason =
  | 'not-iam-api-call'
  | 'event-out-of-scope'
  | 'failed-call'
  | 'account-mismatch'
  | 'invalid-account'
  | 'root-credentials'
  | 'no-target-user'
  | 'own-remediation'
  | 'tag-out-of-scope'
  | 'not-a-rename';

export interface KeyEventTarget {
  readonly kind: 'target';
  /** The account the call was made in (where the user lives); the handler decides whether it may act there. */
  readonly accountId: string;
  readonly userName: string;
  readonly trigger: EventTrigger;
  /** What IAM should show once consistent; undefined when the event does not say. */
  readonly expectation: Expectation | undefined;
}

export interface KeyEventSkip {
  readonly kind: 'skip';
  readonly reason: SkipReason;
  readonly detail: string;
  readonly eventId: string | undefined;
}

export type ParsedKeyEvent = KeyEventTarget | KeyEventSkip;

/** IAM user names: 1-64 characters of letters, digits and +=,.@_- */
export const USER_NAME = /^[\w+=,.@-]{1,64}$/;
// Access key ids are upper-case alphanumerics; samples in the wild are shorter than real ones.
const ACCESS_KEY_ID = /^[A-Z0-9]{1,128}$/;
const MAX_FIELD = 512;
/** KeyWarden's marker in a user agent: at its start or after a space or parenthesis. */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function optionalString(parent: Json, key: string, where: string): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new InvalidEventError(`${where}.${key} must be a string, got ${typeOf(value)}`);
  return value;
}

function optionalObject(parent: Json, key: string, where: string): Json | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value))
    throw new InvalidEventError(`${where}.${key} must be an object, got ${typeOf(value)}`);
  return value;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Truncates untrusted text for logs and findings, and strips control characters. */
export function clip(text: string | undefined, max = MAX_FIELD): string {
  if (text === undefined) return '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function skip(reason: SkipReason, detail: string, eventId: string | undefined): KeyEventSkip {
  // The id is untrusted text that the handler logs: clipped like every other echoed field.
  return { kind: 'skip', reason, detail, eventId: eventId === undefined ? undefined : clip(eventId, 128) };
}

/**
 * Classifies an event and names the account it happened in.
 * Throws InvalidEventError when the input is not shaped like an EventBridge CloudTrail event;
 * returns a skip with a reason when it is well formed but not ours to act on.
 */
export function parseKeyEvent(raw: unknown): ParsedKeyEvent {
  const envelope = parseEnvelope(raw);
  if (envelope.kind === 'skip') return envelope;
  const { detail, eventId } = envelope;
  const eventName = optionalString(detail, 'eventName', 'detail');
  if (eventName === undefined) throw new InvalidEventError('detail.eventName is missing');
  if (!(WATCHED_EVENT_NAMES as readonly string[]).includes(eventName)) {
    return skip('event-out-of-scope', `eventName=${clip(eventName, 64)}`, eventId);
  }
  const errorCode = optionalString(detail, 'errorCode', 'detail');
  if (errorCode !== undefined) return skip('failed-call', `errorCode=${clip(errorCode, 128)}`, eventId);
  const identity = optionalObject(detail, 'userIdentity', 'detail');
  if (identity === undefined) throw new InvalidEventError('detail.userIdentity is missing');
  const call: KeyCall = {
    detail,
    eventId,
    eventName: eventName as WatchedEventName,
    identity,
    actorType: optionalString(identity, 'type', 'detail.userIdentity') ?? 'Unknown',
    // requestParameters is null on some records (root, AccessDenied).
    request: optionalObject(detail, 'requestParameters', 'detail') ?? {},
    createdKey:
      optionalObject(
        optionalObject(detail, 'responseElements', 'detail') ?? {},
        'accessKey',
        'detail.responseElements',
      ) ?? {},
  };
  const target = targetUser(call);
  if (target.kind === 'skip') return target;
  return {
    kind: 'target',
    accountId: envelope.accountId,
    userName: target.userName,
    ...keyCallTrigger(call, target),
  };
}

/** An IAM API call KeyWarden watches, read as far as its names. */
interface KeyCall {
  readonly detail: Json;
  readonly eventId: string | undefined;
  readonly eventName: WatchedEventName;
  readonly identity: Json;
  readonly actorType: string;
  readonly request: Json;
  /** CreateAccessKey's response: the key it made. */
  readonly createdKey: Json;
}

/** The EventBridge envelope: an IAM API call recorded by CloudTrail, in the account both its names agree on. */
function parseEnvelope(
  raw: unknown,
): KeyEventSkip | { kind: 'call'; detail: Json; eventId: string | undefined; accountId: string } {
  if (!isObject(raw)) throw new InvalidEventError(`event must be an object, got ${typeOf(raw)}`);
  const source = optionalString(raw, 'source', 'event');
  const detailType = optionalString(raw, 'detail-type', 'event');
  const account = optionalString(raw, 'account', 'event');
  const detail = optionalObject(raw, 'detail', 'event');
  if (detail === undefined) throw new InvalidEventError('event.detail is missing');
  const eventId = optionalString(detail, 'eventID', 'detail');
  const eventSource = optionalString(detail, 'eventSource', 'detail');
  if (
    source !== 'aws.iam' ||
    detailType !== 'AWS API Call via CloudTrail' ||
    eventSource !== 'iam.amazonaws.com'
  ) {
    return skip(
      'not-iam-api-call',
      `source=${clip(source, 64)} detail-type=${clip(detailType, 64)} eventSource=${clip(eventSource, 64)}`,
      eventId,
    );
  }
  const recipient = optionalString(detail, 'recipientAccountId', 'detail');
  if (account === undefined && recipient === undefined) {
    throw new InvalidEventError('event.account and detail.recipientAccountId are both missing');
  }
  // Forwarded across accounts, an event keeps its original `account`; both names must agree.
  if (account !== undefined && recipient !== undefined && account !== recipient) {
    return skip(
      'account-mismatch',
      `event.account ${clip(account, 64)} differs from detail.recipientAccountId ${clip(recipient, 64)}`,
      eventId,
    );
  }
  const accountId = (account ?? recipient) as string;
  if (!ACCOUNT_ID_PATTERN.test(accountId)) {
    return skip(
      'invalid-account',
      `event account ${JSON.stringify(clip(accountId, 64))} is not 12 digits`,
      eventId,
    );
  }
  return { kind: 'call', detail, eventId, accountId };
}

/** The user the call acted on (as IAM now names it), and the name it had before a rename. */
function targetUser(
  call: KeyCall,
): KeyEventSkip | { kind: 'user'; userName: string; renamedFrom: string | undefined } {
  const { eventName, request, eventId, actorType } = call;
  // UpdateUser names the user (required) and, for a rename, its new name: the target is the user as IAM now calls it.
  const newUserName =
    eventName === 'UpdateUser'
      ? optionalString(request, 'newUserName', 'detail.requestParameters')
      : undefined;
  if (eventName === 'UpdateUser' && newUserName === undefined) {
    return skip('not-a-rename', 'UpdateUser without newUserName (a path change) moves no finding', eventId);
  }
  const renamedFrom =
    newUserName === undefined ? undefined : optionalString(request, 'userName', 'detail.requestParameters');
  if (newUserName !== undefined && renamedFrom === undefined) {
    return skip('no-target-user', 'UpdateUser names no user to rename', eventId);
  }
  if (renamedFrom !== undefined && !USER_NAME.test(renamedFrom)) {
    throw new InvalidEventError(
      `renamed user name ${JSON.stringify(clip(renamedFrom, 80))} is not a valid IAM user name`,
    );
  }
  // UserName is optional in the key APIs: without it IAM acts on the caller.
  const userName =
    newUserName ??
    optionalString(request, 'userName', 'detail.requestParameters') ??
    optionalString(call.createdKey, 'userName', 'detail.responseElements.accessKey') ??
    (actorType === 'IAMUser' ? optionalString(call.identity, 'userName', 'detail.userIdentity') : undefined);
  if (userName === undefined) {
    if (actorType === 'Root') {
      return skip('root-credentials', 'root acting on its own keys (CIS 1.4, not 1.13)', eventId);
    }
    return skip(
      'no-target-user',
      `no userName in the request and the caller is ${clip(actorType, 64)}`,
      eventId,
    );
  }
  if (!USER_NAME.test(userName)) {
    throw new InvalidEventError(
      `target user name ${JSON.stringify(clip(userName, 80))} is not a valid IAM user name`,
    );
  }
  return { kind: 'user', userName, renamedFrom };
}

/** Who made the call, from where, on which key; untrusted text clipped. */
function keyCallTrigger(
  call: KeyCall,
  target: { readonly renamedFrom: string | undefined },
): Pick<KeyEventTarget, 'trigger' | 'expectation'> {
  const { detail, identity, request, eventName, actorType } = call;
  const { renamedFrom } = target;
  const userAgent = optionalString(detail, 'userAgent', 'detail');
  const requestedStatus = optionalString(request, 'status', 'detail.requestParameters');
  const requestKeyId = optionalString(request, 'accessKeyId', 'detail.requestParameters');
  const createdKeyId = optionalString(call.createdKey, 'accessKeyId', 'detail.responseElements.accessKey');
  const accessKeyId = eventName === 'CreateAccessKey' ? createdKeyId : requestKeyId;
  const tags = (TAG_EVENT_NAMES as readonly string[]).includes(eventName) ? tagChange(request) : undefined;
  const session = optionalObject(identity, 'sessionContext', 'detail.userIdentity') ?? {};
  const issuer = optionalObject(session, 'sessionIssuer', 'detail.userIdentity.sessionContext') ?? {};
  const attributes = optionalObject(session, 'attributes', 'detail.userIdentity.sessionContext') ?? {};
  const mfa = optionalString(attributes, 'mfaAuthenticated', 'detail.userIdentity.sessionContext.attributes');
  return {
    expectation: expectationFor(eventName, accessKeyId, requestedStatus),
    trigger: {
      kind: 'event',
      eventName,
      eventId: clip(call.eventId, 128),
      eventTime: clip(optionalString(detail, 'eventTime', 'detail'), 64),
      actorArn: clip(optionalString(identity, 'arn', 'detail.userIdentity')),
      actorType: clip(actorType, 64),
      actorIssuerArn: clip(optionalString(issuer, 'arn', 'detail.userIdentity.sessionContext.sessionIssuer')),
      actorUserName:
        actorType === 'IAMUser' ? clip(optionalString(identity, 'userName', 'detail.userIdentity'), 64) : '',
      actorAccountId: clip(optionalString(identity, 'accountId', 'detail.userIdentity'), 64),
      actorMfa: mfa === 'true' ? true : mfa === 'false' ? false : undefined,
      sourceIp: clip(optionalString(detail, 'sourceIPAddress', 'detail'), 128),
      userAgent: clip(userAgent),
      accessKeyId: accessKeyId !== undefined && ACCESS_KEY_ID.test(accessKeyId) ? accessKeyId : undefined,
      ...tags,
      ...(renamedFrom !== undefined ? { renamedFrom } : {}),
    },
  };
}

/** The tag keys (and TagUser's values) of a TagUser or UntagUser request; malformed entries are left out. */
function tagChange(request: Json): { tagKeys: string[]; tagValues: Record<string, string> } {
  const tagKeys: string[] = [];
  const tagValues: Record<string, string> = {};
  const tags = request.tags;
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      if (!isObject(tag) || typeof tag.key !== 'string') continue;
      const key = clip(tag.key, 128);
      tagKeys.push(key);
      if (typeof tag.value === 'string') tagValues[key] = clip(tag.value, 256);
    }
  }
  const removed = request.tagKeys;
  if (Array.isArray(removed)) {
    for (const key of removed) if (typeof key === 'string') tagKeys.push(clip(key, 128));
  }
  return { tagKeys, tagValues };
}

/**
 * A tag event that does not touch the exemption tag changes nothing KeyWarden evaluates: skipped before any AWS
 * call. Tag keys compare regardless of case, as IAM does.
 */
export function outOfScopeTagChange(parsed: KeyEventTarget, exemptTag: string): KeyEventSkip | undefined {
  const { trigger } = parsed;
  if (trigger.tagKeys === undefined) return undefined;
  const wanted = exemptTag.toLowerCase();
  if (trigger.tagKeys.some((key) => key.toLowerCase() === wanted)) return undefined;
  return skip(
    'tag-out-of-scope',
    `${trigger.eventName} does not change ${clip(exemptTag, 128)}`,
    trigger.eventId,
  );
}

/**
 * Whether the event is one of KeyWarden's own calls: made by a session of one of its own roles (the function's
 * execution roles, or a member role it assumes). Only the ARNs in userIdentity count; the user agent is whatever the
 * client sent and proves nothing.
 */
export function isOwnCall(trigger: EventTrigger, ownRoleArns: readonly string[]): boolean {
  return (
    trigger.actorType === 'AssumedRole' &&
    trigger.actorIssuerArn !== '' &&
    ownRoleArns.includes(trigger.actorIssuerArn)
  );
}

function expectationFor(
  eventName: WatchedEventName,
  accessKeyId: string | undefined,
  requestedStatus: string | undefined,
): Expectation | undefined {
  if (accessKeyId === undefined || !ACCESS_KEY_ID.test(accessKeyId)) return undefined;
  switch (eventName) {
    // A created key may be deactivated by the time a (duplicate) event is handled: only its absence is staleness.
    case 'CreateAccessKey':
      return { accessKeyId, state: 'present' };
    case 'DeleteAccessKey':
      return { accessKeyId, state: 'absent' };
    case 'UpdateAccessKey':
      return requestedStatus === 'Active' || requestedStatus === 'Inactive'
        ? { accessKeyId, state: requestedStatus }
        : undefined;
    default:
      return undefined;
  }
}
