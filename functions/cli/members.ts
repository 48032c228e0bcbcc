/** Organization mode on the command line: which accounts a command reads, each through the member role. Pure. */

import { ACCOUNT_ID_PATTERN, ROLE_NAME_PATTERN } from '../shared/constants.ts';

/** Organization mode: which accounts to scan, each through the member role (the caller's own with its own). */
export type MemberScan =
  | { readonly from: 'accounts'; readonly accountIds: readonly string[]; readonly roleName: string }
  | { readonly from: 'organization'; readonly roleName: string };

/** `--accounts` (each value a comma list), `--organization` and `--role-name`; a string is the usage error. */
export function parseMembers(
  accounts: readonly string[] | undefined,
  organization: boolean,
  roleName: string | undefined,
): MemberScan | undefined | string {
  if (accounts !== undefined && organization)
    return '--accounts and --organization do not go together: name the accounts, or scan the organization';
  if (accounts === undefined && !organization)
    return roleName === undefined ? undefined : '--role-name goes with --accounts or --organization';
  const flag = organization ? '--organization' : '--accounts';
  if (roleName === undefined)
    return `${flag} needs --role-name NAME, the member role KeyWarden is deployed with (e.g. KeyWardenMember)`;
  if (!ROLE_NAME_PATTERN.test(roleName))
    return `--role-name ${JSON.stringify(roleName)} is not an IAM role name (1 to 64 letters, digits and +=,.@_-)`;
  if (accounts === undefined) return { from: 'organization', roleName };
  const accountIds: string[] = [];
  for (const value of accounts) {
    for (const id of value.split(',').map((part) => part.trim())) {
      if (!ACCOUNT_ID_PATTERN.test(id))
        return `--accounts ${JSON.stringify(value)}: ${JSON.stringify(id)} is not a 12-digit account id`;
      if (!accountIds.includes(id)) accountIds.push(id);
    }
  }
  return { from: 'accounts', accountIds, roleName };
}
