/**
 * The organization sweep's member accounts: the one definition of core/members.ts, with the deployment's settings
 * (MEMBER_OUS, MEMBER_ACCOUNT_IDS) and Organizations read through the management account's reader role when the
 * definition needs a listing.
 */

import { type MemberAccounts, type MemberSelection, memberAccounts, memberListing } from '../core/members.ts';
import type { AccountContext } from '../core/types.ts';
import type { Config } from '../shared/config.ts';
import { arnParts, MEMBER_SESSION_NAMES } from '../shared/constants.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * What defines the members of a deployment: the StackSet's OUs, the allow-list, this (central) account, and the
 * management account, which holds the reader role (ORGANIZATION_ROLE_ARN names it) and a member stack deployed by
 * hand, since StackSets never deploy there.
 */
export function sweepSelection(config: Config, centralAccountId: string): MemberSelection {
  const readerAccount = config.organizationRoleArn && arnParts(config.organizationRoleArn)?.[4];
  return {
    ous: config.memberOus,
    accountIds: config.memberAccountIds,
    centralAccountId,
    managementAccountId: readerAccount || undefined,
  };
}

/** The member accounts' ids; the reader role is assumed only when the definition needs a listing. */
export async function sweepMemberAccountIds(
  config: Config,
  central: AccountContext,
  logger: Logger,
): Promise<readonly string[]> {
  const selection = sweepSelection(config, central.accountId);
  const { organizationRoleArn } = config;
  const listing = memberListing(selection, organizationRoleArn !== undefined);
  let result: MemberAccounts;
  if (listing.kind === 'none' || organizationRoleArn === undefined) {
    result = memberAccounts(selection, listing, undefined);
  } else {
    const { listMembersThroughReader } = await import('../adapters/organization-reader.ts');
    result = await listMembersThroughReader({
      roleArn: organizationRoleArn,
      sessionName: MEMBER_SESSION_NAMES.sweep,
      region: central.region,
      selection,
    });
  }
  logLeftOut(logger, result);
  return result.members.map((account) => account.accountId);
}

function logLeftOut(logger: Logger, { leftOut }: MemberAccounts): void {
  // An allow-listed account outside the OUs gets no member stack: a setting to correct, not an account to sweep.
  const outside = leftOut.filter((entry) => entry.reason === 'outside-member-ous');
  if (outside.length > 0) {
    logger.warn('MEMBER_ACCOUNT_IDS names accounts that are not ACTIVE under MEMBER_OUS; not swept', {
      accountIds: outside.map((entry) => entry.accountId),
    });
  }
  const others = leftOut.filter((entry) => entry.reason !== 'outside-member-ous');
  if (others.length > 0) logger.info('accounts left out of the sweep', { leftOut: others });
}
