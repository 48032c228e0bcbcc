/** Organization mode on the command line: which accounts a command reads, each through the member role. Pure. */

import {
  ACCOUNT_ID_PATTERN,
  ORGANIZATIONAL_UNIT_ALLOWED,
  ORGANIZATIONAL_UNIT_PATTERN,
  ROLE_NAME_PATTERN,
} from '../shared/constants.ts';

/** Organization mode: which accounts to scan, each through the member role (the caller's own with its own). */
export type MemberScan =
  | { readonly from: 'accounts'; readonly accountIds: readonly string[]; readonly roleName: string }
  | {
      readonly from: 'organization';
      readonly roleName: string;
      /** `--ous`: only the ACTIVE accounts under these OUs (nested included); unset: every ACTIVE account. */
      readonly ous?: readonly string[] | undefined;
    };

/** The flags {@link parseMembers} reads. */
export interface MemberFlags {
  /** `--accounts`, each value a comma list. */
  readonly accounts: readonly string[] | undefined;
  readonly organization: boolean;
  /** `--ous`, each value a comma list; only with --organization. */
  readonly ous: readonly string[] | undefined;
  readonly roleName: string | undefined;
}

/** The options of organization mode, as every multi-account command reads them. */
export const MEMBER_OPTIONS = {
  accounts: { type: 'string', multiple: true },
  organization: { type: 'boolean' },
  ous: { type: 'string', multiple: true },
  'role-name': { type: 'string' },
} as const;

/** {@link parseMembers} on the values parseArgs read for {@link MEMBER_OPTIONS}. */
export function membersFrom(values: {
  readonly accounts?: string[] | undefined;
  readonly organization?: boolean | undefined;
  readonly ous?: string[] | undefined;
  readonly 'role-name'?: string | undefined;
}): MemberScan | undefined | string {
  return parseMembers({
    accounts: values.accounts,
    organization: values.organization ?? false,
    ous: values.ous,
    roleName: values['role-name'],
  });
}

/** `--accounts`, `--organization [--ous]` and `--role-name`; a string is the usage error. */
export function parseMembers(flags: MemberFlags): MemberScan | undefined | string {
  const { accounts, organization, roleName } = flags;
  if (flags.ous !== undefined && !organization)
    return '--ous goes with --organization: it chooses which accounts of the organization to read';
  if (accounts !== undefined && organization)
    return '--accounts and --organization do not go together: name the accounts, or scan the organization';
  if (accounts === undefined && !organization)
    return roleName === undefined ? undefined : '--role-name goes with --accounts or --organization';
  const flag = organization ? '--organization' : '--accounts';
  if (roleName === undefined)
    return `${flag} needs --role-name NAME, the member role KeyWarden is deployed with (e.g. KeyWardenMember)`;
  if (!ROLE_NAME_PATTERN.test(roleName))
    return `--role-name ${JSON.stringify(roleName)} is not an IAM role name (1 to 64 letters, digits and +=,.@_-)`;
  if (accounts === undefined) {
    const ous =
      flags.ous && commaList('--ous', flags.ous, ORGANIZATIONAL_UNIT_PATTERN, ORGANIZATIONAL_UNIT_ALLOWED);
    return typeof ous === 'string' ? ous : { from: 'organization', roleName, ous };
  }
  const accountIds = commaList('--accounts', accounts, ACCOUNT_ID_PATTERN, 'a 12-digit account id');
  return typeof accountIds === 'string' ? accountIds : { from: 'accounts', accountIds, roleName };
}

/** Each value of a repeatable flag split at commas, each entry once; a string is the usage error. */
function commaList(
  flag: string,
  values: readonly string[],
  pattern: RegExp,
  allowed: string,
): string[] | string {
  const entries: string[] = [];
  for (const value of values) {
    for (const entry of value.split(',').map((part) => part.trim())) {
      if (!pattern.test(entry))
        return `${flag} ${JSON.stringify(value)}: ${JSON.stringify(entry)} is not ${allowed}`;
      if (!entries.includes(entry)) entries.push(entry);
    }
  }
  return entries;
}
