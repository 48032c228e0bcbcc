/**
 * Who minted an access key: the key's own user, a trusted key issuer, or another principal (MITRE ATT&CK
 * T1098.001, "Additional Cloud Credentials"). Identity comes from the ARNs in `userIdentity`, never from the user
 * agent, which the client writes. Pure.
 */

import { arnLike } from './arn-like.ts';
import type { Expectation, Trigger } from './types.ts';

export type EventTrigger = Extract<Trigger, { kind: 'event' }>;

/** The caller fields of an event trigger that attribution reads. */
export type Caller = Pick<
  EventTrigger,
  'actorArn' | 'actorType' | 'actorIssuerArn' | 'actorUserName' | 'actorAccountId'
>;

/** What kind of principal called, in words for findings. */
export type PrincipalKind =
  | 'IAM user'
  | 'assumed role'
  | 'federated user'
  | 'root user'
  | 'role'
  | 'AWS service'
  | 'AWS account'
  | 'unknown principal';

export type Minter =
  /** The key's own IAM user. */
  | { readonly kind: 'self'; readonly principal: 'IAM user' }
  /** A principal named in TRUSTED_KEY_ISSUERS (matched as ArnLike); `matchedArn` is the caller's or its session issuer's ARN. */
  | {
      readonly kind: 'trusted';
      readonly principal: PrincipalKind;
      readonly pattern: string;
      readonly matchedArn: string;
    }
  /** Anyone else: another IAM user, a role session, a federated user, root, a service, or an unknown caller. */
  | { readonly kind: 'another-principal'; readonly principal: PrincipalKind };

/** A key that became usable through this event: created, or switched back to Active. */
export interface KeyGrant {
  readonly accessKeyId: string;
  readonly how: 'created' | 're-activated';
}

/** Who made a key usable, as KeyWarden saw it in one event. */
export interface KeyOrigin extends KeyGrant {
  readonly minter: Minter['kind'];
  readonly actorArn: string;
  readonly actorType: string;
  readonly eventTime: string;
}

/** What is known about who made each key usable, by access key id; keys KeyWarden saw no event for are absent. */
export type KeyOrigins = ReadonlyMap<string, KeyOrigin>;
export const NO_KEY_ORIGINS: KeyOrigins = new Map();

const PRINCIPAL_KINDS: Readonly<Record<string, PrincipalKind>> = {
  IAMUser: 'IAM user',
  AssumedRole: 'assumed role',
  FederatedUser: 'federated user',
  Root: 'root user',
  Role: 'role',
  AWSService: 'AWS service',
  AWSAccount: 'AWS account',
};

export function principalKind(actorType: string): PrincipalKind {
  return PRINCIPAL_KINDS[actorType] ?? 'unknown principal';
}

/** The key the event made usable, or undefined for a deletion, a deactivation or an event without a key id. */
export function keyGrantOf(
  trigger: EventTrigger,
  expectation: Expectation | undefined,
): KeyGrant | undefined {
  const { accessKeyId } = trigger;
  if (accessKeyId === undefined) return undefined;
  if (trigger.eventName === 'CreateAccessKey') return { accessKeyId, how: 'created' };
  if (trigger.eventName === 'UpdateAccessKey' && expectation?.state === 'Active')
    return { accessKeyId, how: 're-activated' };
  return undefined;
}

// The account part of an ARN (`arn:aws:iam::123456789012:user/alice`).
const arnAccount = (arn: string): string => arn.split(':')[4] ?? '';

/**
 * Classifies the caller against the key's user `userName` in account `accountId`. Self is an IAM user of this
 * account with the same name (IAM names are unique regardless of case). A trusted issuer is matched on the caller's
 * ARN and, for a role session, on its session issuer's ARN (the role), the way IAM's ArnLike matches (see arn-like.ts).
 */
export function classifyMinter(
  caller: Caller,
  userName: string,
  accountId: string,
  trustedKeyIssuers: readonly string[],
): Minter {
  const callerAccount = caller.actorAccountId || arnAccount(caller.actorArn);
  if (
    caller.actorType === 'IAMUser' &&
    callerAccount === accountId &&
    caller.actorUserName !== '' &&
    caller.actorUserName.toLowerCase() === userName.toLowerCase()
  ) {
    return { kind: 'self', principal: 'IAM user' };
  }
  const principal = principalKind(caller.actorType);
  const candidates =
    caller.actorType === 'AssumedRole' ? [caller.actorArn, caller.actorIssuerArn] : [caller.actorArn];
  for (const pattern of trustedKeyIssuers) {
    const matchedArn = candidates.find((arn) => arnLike(pattern, arn));
    if (matchedArn !== undefined) return { kind: 'trusted', principal, pattern, matchedArn };
  }
  return { kind: 'another-principal', principal };
}

/** The origin record of a granted key. */
export function keyOrigin(trigger: EventTrigger, grant: KeyGrant, minter: Minter): KeyOrigin {
  return {
    ...grant,
    minter: minter.kind,
    actorArn: trigger.actorArn,
    actorType: trigger.actorType,
    eventTime: trigger.eventTime,
  };
}

/** One line for a finding: who made the key usable, and how KeyWarden classified that principal. */
export function describeOrigin(origin: KeyOrigin): string {
  const who = `${origin.actorArn || 'an unknown caller'} (${origin.actorType || 'Unknown'})`;
  const at = origin.eventTime ? ` at ${origin.eventTime}` : '';
  switch (origin.minter) {
    case 'self':
      return `${origin.how} by the user itself${at}`;
    case 'trusted':
      return `${origin.how} by ${who}, a trusted key issuer${at}`;
    case 'another-principal':
      return `${origin.how} by ${who}, another principal${at}`;
  }
}
