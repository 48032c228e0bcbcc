/** Organization mode: which account an event may be handled in, and the member role's ARN there. Pure. */

import type { KeyEventSkip, KeyEventTarget, ParsedKeyEvent } from './event.ts';
import type { AccountContext } from './types.ts';

export interface OrganizationSettings {
  /** Unset: single-account mode, every other account's event is skipped. */
  readonly memberRoleName: string | undefined;
  /** Unset: any account (the central bus admits only the organization); set: only these. */
  readonly memberAccountIds: readonly string[] | undefined;
}

/** Where to act for an account: with the function's own credentials, or through the member role. */
export interface AccountTarget {
  readonly account: AccountContext;
  readonly via: 'own' | 'member-role';
}

export type AccountRoute =
  | { readonly kind: 'act'; readonly target: AccountTarget }
  | {
      readonly kind: 'skip';
      readonly reason: 'other-account' | 'account-not-listed';
      readonly detail: string;
    };

/**
 * Decides whether KeyWarden, running in `own`, acts on an event of `accountId`. A member shares the function's
 * partition and region: findings go to the member's hub in the region the central detector runs in.
 */
export function routeAccount(
  accountId: string,
  own: AccountContext,
  settings: OrganizationSettings,
): AccountRoute {
  if (accountId === own.accountId) return { kind: 'act', target: { account: own, via: 'own' } };
  if (settings.memberRoleName === undefined) {
    return {
      kind: 'skip',
      reason: 'other-account',
      detail: `event for account ${accountId}, function runs in ${own.accountId} and has no member role`,
    };
  }
  if (settings.memberAccountIds !== undefined && !settings.memberAccountIds.includes(accountId)) {
    return {
      kind: 'skip',
      reason: 'account-not-listed',
      detail: `account ${accountId} is not in MEMBER_ACCOUNT_IDS`,
    };
  }
  return { kind: 'act', target: { account: { ...own, accountId }, via: 'member-role' } };
}

/** `arn:<partition>:iam::<account>:role/<name>`: the role KeyWarden assumes in a member account. */
export function memberRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/** A parsed event with the account to act in, or a skip (the parser's or the routing's). */
export type RoutedKeyEvent =
  | KeyEventSkip
  | (Omit<KeyEventSkip, 'reason'> & { readonly reason: Extract<AccountRoute, { kind: 'skip' }>['reason'] })
  | (KeyEventTarget & { readonly target: AccountTarget });

/** Routes a parsed event: its account is the function's own, an allowed member, or a skip. */
export function routeKeyEvent(
  parsed: ParsedKeyEvent,
  own: AccountContext,
  settings: OrganizationSettings,
): RoutedKeyEvent {
  if (parsed.kind === 'skip') return parsed;
  const route = routeAccount(parsed.accountId, own, settings);
  if (route.kind === 'skip') {
    return { kind: 'skip', reason: route.reason, detail: route.detail, eventId: parsed.trigger.eventId };
  }
  return { ...parsed, target: route.target };
}
