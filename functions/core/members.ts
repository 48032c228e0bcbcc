/**
 * Which accounts are KeyWarden's member accounts: the one definition the sweep and `keywarden scan --organization`
 * share, mirroring what the member StackSet targets (its OUs, nested OUs included, intersected with the allow-list,
 * the central account left out). Pure: the listing is read by an adapter and passed in.
 */

/** An account as Organizations lists it. */
export interface ListedAccount {
  readonly accountId: string;
  readonly name: string | undefined;
  /** `State`, else the older `Status` (ACTIVE, SUSPENDED, PENDING_CLOSURE, …). */
  readonly state: string | undefined;
}

/** A member account: its id, and its name when Organizations gave one. */
export interface MemberAccount {
  readonly accountId: string;
  readonly name: string | undefined;
}

/** What defines the members, as deployed (the central stack's settings) or as asked (`--organization --ous`). */
export interface MemberSelection {
  /** The StackSet's OUs (or the root); unset: every account of the organization (no StackSet to mirror). */
  readonly ous: readonly string[] | undefined;
  /** The allow-list (`memberAccountIds`): the StackSet deploys to these accounts of the OUs only. */
  readonly accountIds: readonly string[] | undefined;
  /** Left out: its own events reach the detector directly, and the StackSet excludes it. */
  readonly centralAccountId: string | undefined;
  /**
   * StackSets never deploy to the management account, so its member stack is deployed by hand alongside the
   * reader role: with OUs it is a member even outside them (unless the allow-list leaves it out).
   */
  readonly managementAccountId: string | undefined;
}

/** What must be read to know the members: nothing (the allow-list), the whole organization, or the OUs' trees. */
export type MemberListing =
  | { readonly kind: 'none' }
  | { readonly kind: 'organization' }
  | { readonly kind: 'organizational-units'; readonly ous: readonly string[] };

export type LeftOutReason =
  | 'central-account'
  | 'not-active'
  | 'not-in-member-account-ids'
  /** Named by the allow-list, but not an ACTIVE account of the OUs: the StackSet gives it no member stack. */
  | 'outside-member-ous';

export interface MemberAccounts {
  /** Sorted by id, each once. */
  readonly members: readonly MemberAccount[];
  /** Accounts listed or named but not members, and why (for the logs; nothing is done in them). */
  readonly leftOut: readonly { readonly accountId: string; readonly reason: LeftOutReason }[];
}

/**
 * The read that decides the members. Without a way to list (`canList` false: no reader role), the allow-list is
 * taken as given; with one, the OUs are walked when set, else the allow-list needs no listing, else the whole
 * organization is listed.
 */
export function memberListing(selection: MemberSelection, canList: boolean): MemberListing {
  if (canList && selection.ous !== undefined && selection.ous.length > 0) {
    return { kind: 'organizational-units', ous: [...new Set(selection.ous)] };
  }
  if (selection.accountIds !== undefined || !canList) return { kind: 'none' };
  return { kind: 'organization' };
}

/**
 * The member accounts, from what {@link memberListing} asked to read (`listed` undefined for `none`): the ACTIVE
 * accounts listed (under the OUs, nested included) plus, with OUs, the management account; only those of the
 * allow-list when it is set; never the central account.
 */
export function memberAccounts(
  selection: MemberSelection,
  listing: MemberListing,
  listed: readonly ListedAccount[] | undefined,
): MemberAccounts {
  const leftOut = new Map<string, LeftOutReason>();
  const leave = (accountId: string, reason: LeftOutReason) => {
    if (!leftOut.has(accountId)) leftOut.set(accountId, reason);
  };
  const central = selection.centralAccountId;
  if (central !== undefined) leave(central, 'central-account');
  const candidates = new Map<string, MemberAccount>();
  if (listing.kind === 'none' || listed === undefined) {
    for (const accountId of selection.accountIds ?? [])
      candidates.set(accountId, { accountId, name: undefined });
  } else {
    for (const { accountId, name, state } of listed) {
      if (state === 'ACTIVE') candidates.set(accountId, { accountId, name });
      else leave(accountId, 'not-active');
    }
    const management = selection.managementAccountId;
    if (listing.kind === 'organizational-units' && management !== undefined && !candidates.has(management)) {
      candidates.set(management, { accountId: management, name: undefined });
    }
    if (selection.accountIds !== undefined) restrictTo(candidates, selection.accountIds, leave);
  }
  const members = [...candidates.values()]
    .filter(({ accountId }) => !leftOut.has(accountId))
    .sort((a, b) => a.accountId.localeCompare(b.accountId));
  return {
    members,
    leftOut: [...leftOut]
      .filter(([accountId, reason]) => reason !== 'central-account' || candidates.has(accountId))
      .map(([accountId, reason]) => ({ accountId, reason })),
  };
}

/** Keeps the allow-listed candidates; an allow-listed account that is no candidate gets no member stack. */
function restrictTo(
  candidates: Map<string, MemberAccount>,
  accountIds: readonly string[],
  leave: (accountId: string, reason: LeftOutReason) => void,
): void {
  const allowed = new Set(accountIds);
  for (const accountId of [...candidates.keys()]) {
    if (!allowed.has(accountId)) {
      candidates.delete(accountId);
      leave(accountId, 'not-in-member-account-ids');
    }
  }
  for (const accountId of allowed) if (!candidates.has(accountId)) leave(accountId, 'outside-member-ous');
}
