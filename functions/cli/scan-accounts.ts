/**
 * `keywarden scan --accounts ID,... --role-name NAME` and `--organization --role-name NAME`: the single-account scan
 * in each account, through a session of the member role there (the caller's own account with its own credentials),
 * several accounts at a time. One account that cannot be scanned never stops the others.
 */

import { accountFromCaller } from '../adapters/account.ts';
import { CLIENT_SETTINGS, createClients, VERSION } from '../adapters/clients.ts';
import { type AccountClients, createAccountClients } from '../adapters/member-accounts.ts';
import {
  createOrganizationsPort,
  listMemberAccounts,
  type OrganizationAccount,
} from '../adapters/organizations.ts';
import { type AccountTarget, memberRoleArn, routeAccount } from '../core/organization.ts';
import type { AccountContext } from '../core/types.ts';
import { monotonicClock } from '../shared/clock.ts';
import { MEMBER_SESSION_NAMES, USER_AGENT_MARKER } from '../shared/constants.ts';
import { mapBounded } from '../sweep/concurrency.ts';
import {
  type AccountOutcome,
  buildAccountsReport,
  exitCodeForAccounts,
  renderAccountsJson,
  renderAccountsTable,
} from './accounts-report.ts';
import { ACCOUNT_SCAN_CONCURRENCY, EXIT, type ScanOptions } from './args.ts';
import { describeError } from './errors.ts';
import type { CliIo, Output } from './io.ts';
import type { MemberScan } from './members.ts';
import { checkProfile } from './profiles.ts';
import { progressReporter } from './progress.ts';
import { buildScanReport, plural, summaryLine } from './report.ts';
import { reportSettings, sweepAccount } from './sweep-account.ts';

export interface CallerClients {
  readonly caller: AccountContext;
  readonly profile: string | undefined;
  /** Set without --import-findings, for the reason given in the single-account scan. */
  readonly userAgent: string | undefined;
}

/**
 * The ACTIVE accounts of the organization, or under `ous` (nested OUs included), by the definition the sweep uses,
 * listed with the caller's credentials (management or delegated admin). The CLI has no stack to mirror: it leaves
 * out no central account, and without `ous` it takes every ACTIVE account.
 */
export async function organizationAccounts(
  callerClients: CallerClients,
  ous: readonly string[] | undefined,
): Promise<readonly OrganizationAccount[]> {
  const { OrganizationsClient } = await import('@aws-sdk/client-organizations');
  const { caller, profile, userAgent } = callerClients;
  const client = new OrganizationsClient({
    ...CLIENT_SETTINGS,
    region: caller.region,
    ...(profile !== undefined ? { profile } : {}),
    ...(userAgent !== undefined ? { customUserAgent: userAgent } : {}),
  });
  const selection = {
    ous,
    accountIds: undefined,
    centralAccountId: undefined,
    managementAccountId: undefined,
  };
  try {
    return (await listMemberAccounts(createOrganizationsPort(client), selection, true)).members;
  } finally {
    client.destroy();
  }
}

/** The caller's clients for its own account, and member-role sessions (one AssumeRole per account) for the rest. */
export function accountClientsFor(callerClients: CallerClients, roleName: string): AccountClients {
  const { caller, profile, userAgent } = callerClients;
  const agent = userAgent !== undefined ? { userAgent } : {};
  return createAccountClients({
    own: createClients({ region: caller.region, ...(profile !== undefined ? { profile } : {}), ...agent }),
    memberRoleName: roleName,
    sessionName: MEMBER_SESSION_NAMES.cli,
    sts: async () => {
      const { STSClient } = await import('@aws-sdk/client-sts');
      return new STSClient({
        ...CLIENT_SETTINGS,
        region: caller.region,
        ...(profile !== undefined ? { profile } : {}),
        ...(userAgent !== undefined ? { customUserAgent: userAgent } : {}),
      });
    },
    clientOptions: agent,
  });
}

/** Where to scan an account: the caller's own with its credentials, any other through the member role. */
export function targetFor(accountId: string, caller: AccountContext, roleName: string): AccountTarget {
  const route = routeAccount(accountId, caller, { memberRoleName: roleName, memberAccountIds: undefined });
  // With a role and no allow-list, routing acts in every account.
  if (route.kind !== 'act') throw new Error(`account ${accountId} was not routed: ${route.detail}`);
  return route.target;
}

/**
 * The accounts a multi-account command covers: the ids given with --accounts, or the organization's ACTIVE
 * accounts (under --ous when given). One place, shared by `scan` and `report`.
 */
export async function selectAccounts(
  members: MemberScan,
  callerClients: CallerClients,
  stderr: Output,
): Promise<readonly OrganizationAccount[]> {
  if (members.from === 'accounts')
    return members.accountIds.map((accountId) => ({ accountId, name: undefined }));
  stderr.write(
    members.ous === undefined
      ? 'Listing the ACTIVE accounts of the organization (organizations:ListAccounts)…\n'
      : `Listing the ACTIVE accounts under ${members.ous.join(', ')}, nested OUs included (organizations:ListAccountsForParent, ListOrganizationalUnitsForParent)…\n`,
  );
  return organizationAccounts(callerClients, members.ous);
}

/** Why a multi-account command found no account to read. */
export function noAccountListed(members: MemberScan): string {
  if (members.from === 'accounts') return 'no account was named';
  return members.ous === undefined
    ? 'organizations:ListAccounts returned no ACTIVE account'
    : `no ACTIVE account is under ${members.ous.join(', ')}`;
}

/** What scanning each account of one command shares. */
interface AccountsScan {
  readonly options: ScanOptions;
  readonly members: MemberScan;
  readonly io: CliIo;
  readonly own: AccountContext;
  readonly accountClients: AccountClients;
  readonly clock: () => Date;
  readonly describeIn: (account: AccountContext | undefined) => (error: unknown) => string;
}

export async function scanAccounts(options: ScanOptions, members: MemberScan, io: CliIo): Promise<number> {
  const profile = options.profile ?? (io.env.AWS_PROFILE || undefined);
  const describeIn =
    (account: AccountContext | undefined) =>
    (error: unknown): string =>
      describeError(error, {
        accountId: account?.accountId,
        region: account?.region ?? options.region,
        profile,
      });
  const missingProfile = await checkProfile(options.profile, io.env);
  if (missingProfile !== undefined) {
    io.stderr.write(`keywarden: ${missingProfile}\n`);
    return EXIT.error;
  }
  let caller: AccountContext | undefined;
  try {
    caller = await accountFromCaller(options.region, options.profile);
    const callerClients: CallerClients = {
      caller,
      profile: options.profile,
      userAgent: options.importFindings ? undefined : `${USER_AGENT_MARKER}-cli/${VERSION}`,
    };
    const listed = await selectAccounts(members, callerClients, io.stderr);
    // A scan of no account must not pass as compliant (an OU may hold none; ListAccounts always has one).
    if (listed.length === 0) {
      io.stderr.write(`keywarden: ${noAccountListed(members)}; nothing was scanned.\n`);
      return EXIT.error;
    }
    io.stderr.write(
      `Scanning ${plural(listed.length, 'account')} through role ${members.roleName}, up to ${ACCOUNT_SCAN_CONCURRENCY} at a time…\n`,
    );
    const scan: AccountsScan = {
      options,
      members,
      io,
      own: caller,
      accountClients: accountClientsFor(callerClients, members.roleName),
      clock: monotonicClock(),
      describeIn,
    };
    const outcomes = await scanEach(scan, listed);
    return writeAccountsReport(scan, outcomes);
  } catch (error) {
    io.stderr.write(`keywarden: ${describeIn(caller)(error)}\n`);
    return EXIT.error;
  }
}

/** Every listed account, a bounded number at a time; an account that cannot be scanned is a failed outcome. */
async function scanEach(
  scan: AccountsScan,
  listed: readonly OrganizationAccount[],
): Promise<AccountOutcome[]> {
  const { own, members } = scan;
  const settled = await mapBounded(listed, ACCOUNT_SCAN_CONCURRENCY, (account) => scanOne(scan, account));
  return settled.map((outcome, index): AccountOutcome => {
    if (outcome?.ok) return outcome.value;
    // scanOne settles every account itself; this only guards against a bug there.
    const entry = listed[index] as OrganizationAccount;
    return {
      kind: 'failed',
      target: targetFor(entry.accountId, own, members.roleName),
      name: entry.name,
      message: scan.describeIn(own)(outcome?.error ?? new Error('not scanned')),
    };
  });
}

async function scanOne(
  scan: AccountsScan,
  { accountId, name }: OrganizationAccount,
): Promise<AccountOutcome> {
  const { io, own, members, options, clock } = scan;
  const target = targetFor(accountId, own, members.roleName);
  const prefix = `[${accountId}]`;
  const describe = scan.describeIn(target.account);
  try {
    io.stderr.write(
      target.via === 'own'
        ? `${prefix} Scanning with the caller's credentials (the caller's own account)…\n`
        : `${prefix} Assuming ${memberRoleArn(own.partition, accountId, members.roleName)}…\n`,
    );
    const clients = await scan.accountClients.clientsFor(target);
    const result = await sweepAccount(clients, target.account, options, {
      clock,
      onProgress: progressReporter(io.stderr, accountId),
      onWarning: (message) => io.stderr.write(`${prefix} warning: ${message}\n`),
    });
    const report = buildScanReport(result, {
      account: target.account,
      scannedAt: clock(),
      version: VERSION,
      settings: reportSettings(options),
      describeError: describe,
    });
    io.stderr.write(`${prefix} ${summaryLine(report.summary)}\n`);
    return { kind: 'scanned', target, name, report };
  } catch (error) {
    io.stderr.write(`${prefix} Could not be scanned.\n`);
    return { kind: 'failed', target, name, message: describe(error) };
  }
}

/** The report on stdout, each account's errors on stderr; the exit code says the worst. */
function writeAccountsReport(scan: AccountsScan, outcomes: readonly AccountOutcome[]): number {
  const { io, options } = scan;
  const report = buildAccountsReport(outcomes, {
    caller: scan.own,
    members: scan.members,
    scannedAt: scan.clock(),
    version: VERSION,
    settings: reportSettings(options),
  });
  io.stdout.write(options.format === 'json' ? renderAccountsJson(report) : renderAccountsTable(report));
  for (const entry of report.accounts) {
    const messages = new Set(entry.errors.map((error) => error.message));
    for (const message of messages) {
      io.stderr.write(
        entry.status === 'failed'
          ? `keywarden: account ${entry.accountId} could not be scanned: ${message}\n`
          : `keywarden: account ${entry.accountId}: ${message}\n`,
      );
    }
  }
  return exitCodeForAccounts(report);
}
