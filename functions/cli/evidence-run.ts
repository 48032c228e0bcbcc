/**
 * Runs `keywarden report`: reads KeyWarden's findings and the IAM credential report of each account (the caller's
 * own with its credentials, any other through the member role), builds the evidence and writes it. Read-only.
 */

import { writeFile } from 'node:fs/promises';
import type { AwsSecurityFindingFilters } from '@aws-sdk/client-securityhub';
import { callerIdentity } from '../adapters/account.ts';
import type { AwsClients } from '../adapters/clients.ts';
import { createClients, VERSION } from '../adapters/clients.ts';
import { createIamPort } from '../adapters/iam.ts';
import type { AccountClients } from '../adapters/member-accounts.ts';
import type { OrganizationAccount } from '../adapters/organizations.ts';
import { createFindingsPort } from '../adapters/securityhub.ts';
import { type Finding, GENERATOR_ID, productArnFor } from '../core/finding.ts';
import { memberRoleArn } from '../core/organization.ts';
import { THREAT_GENERATOR_ID } from '../core/threat-finding.ts';
import { TRAIL_HEALTH_GENERATOR_ID } from '../core/trail-health.ts';
import type { AccountContext } from '../core/types.ts';
import { renderCsv } from '../evidence/csv.ts';
import { renderHtml } from '../evidence/html.ts';
import {
  type AccountInput,
  type AccountRead,
  buildEvidenceReport,
  type EvidenceContext,
  type IamUserState,
  reportedFindings,
  usersFromCredentialReport,
} from '../evidence/model.ts';
import { renderOcsf } from '../evidence/ocsf.ts';
import { sleep } from '../shared/clock.ts';
import { USER_AGENT_MARKER } from '../shared/constants.ts';
import { CredentialReportError } from '../shared/errors.ts';
import { mapBounded } from '../sweep/concurrency.ts';
import { parseCredentialReport } from '../sweep/credential-report.ts';
import { createAccountIamPort } from '../sweep/iam-account.ts';
import { ACCOUNT_SCAN_CONCURRENCY, EXIT } from './args.ts';
import { describeError } from './errors.ts';
import type { ReportOptions } from './evidence.ts';
import type { CliIo } from './io.ts';
import { checkProfile } from './profiles.ts';
import { accountClientsFor, noAccountListed, selectAccounts, targetFor } from './scan-accounts.ts';

/** ListAccessKeys in flight per account when the users are listed live. */
const LISTING_CONCURRENCY = 8;
const KEYWARDEN_GENERATORS = [GENERATOR_ID, THREAT_GENERATOR_ID, TRAIL_HEALTH_GENERATOR_ID];

/** Server-side filters for KeyWarden's findings in the account; AWS applies them, emulators ignore them. */
export function evidenceFindingFilters(account: AccountContext): AwsSecurityFindingFilters {
  const equals = (value: string) => ({ Value: value, Comparison: 'EQUALS' as const });
  return {
    GeneratorId: KEYWARDEN_GENERATORS.map(equals),
    ProductArn: [equals(productArnFor(account))],
    AwsAccountId: [equals(account.accountId)],
  };
}

/** The same test, client-side, on every finding of every page. */
export function isEvidenceFinding(account: AccountContext, finding: Finding): boolean {
  return (
    KEYWARDEN_GENERATORS.includes(finding.GeneratorId ?? '') &&
    finding.ProductArn === productArnFor(account) &&
    finding.AwsAccountId === account.accountId
  );
}

/** Reads one account: its KeyWarden findings (every page) and its IAM credential report. */
export async function readAccount(
  clients: AwsClients,
  account: AccountContext,
  clock: () => Date,
): Promise<Extract<AccountRead, { kind: 'read' }>> {
  const findingsPort = createFindingsPort(clients.securityHub, {
    accountId: account.accountId,
    partition: account.partition,
  });
  const [findings, iamState] = await Promise.all([
    findingsPort.findFindings(evidenceFindingFilters(account), (f) => isEvidenceFinding(account, f)),
    readUsers(clients),
  ]);
  return { kind: 'read', findings, ...iamState, readAt: clock() };
}

/** Users listed live, with their active keys counted: a few calls per user instead of one report. */
async function listUsers(clients: AwsClients): Promise<IamUserState[]> {
  const iam = createIamPort(clients.iam);
  const listed = await createAccountIamPort(clients.iam, { sleep }).listUsers();
  const settled = await mapBounded(listed, LISTING_CONCURRENCY, async (user) => ({
    userName: user.userName,
    arn: user.arn,
    activeKeys: ((await iam.listKeys(user.userName)) ?? []).filter((key) => key.status === 'Active').length,
  }));
  return settled.map((outcome) => {
    if (!outcome?.ok) throw outcome?.error ?? new Error('listing stopped');
    return outcome.value;
  });
}

/**
 * The account's users from the credential report, as the sweep reads them; when the report cannot be parsed (a
 * user name with a comma in a report that does not quote it), from a live listing, so one name cannot hide an
 * account.
 */
async function readUsers(
  clients: AwsClients,
): Promise<
  Pick<Extract<AccountRead, { kind: 'read' }>, 'users' | 'iamSource' | 'iamGeneratedAt' | 'iamFallbackReason'>
> {
  try {
    const fetched = await createAccountIamPort(clients.iam, { sleep }).credentialReport();
    return {
      users: usersFromCredentialReport(parseCredentialReport(fetched.csv)),
      iamSource: 'credential-report',
      iamGeneratedAt: fetched.generatedAt,
    };
  } catch (error) {
    if (!(error instanceof CredentialReportError)) throw error;
    return {
      users: await listUsers(clients),
      iamSource: 'listing',
      iamGeneratedAt: undefined,
      iamFallbackReason: error.message,
    };
  }
}

/** How the report reads its accounts: who calls, through which clients, and where it says what it does. */
interface ReportReader {
  readonly options: ReportOptions;
  readonly io: CliIo;
  readonly own: AccountContext;
  readonly userAgent: string;
  readonly clock: () => Date;
  /** Undefined: the caller's account only. */
  readonly accountClients: AccountClients | undefined;
  readonly describeIn: (account: AccountContext | undefined) => (error: unknown) => string;
}

export async function report(options: ReportOptions, io: CliIo): Promise<number> {
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
    const identity = await callerIdentity(options.region, options.profile);
    caller = identity.account;
    const own = caller;
    const userAgent = `${USER_AGENT_MARKER}-cli/${VERSION}`;
    const { members } = options;
    const callerClients = { caller: own, profile: options.profile, userAgent };
    const listed: readonly OrganizationAccount[] =
      members === undefined
        ? [{ accountId: own.accountId, name: undefined }]
        : await selectAccounts(members, callerClients, io.stderr);
    if (listed.length === 0) {
      io.stderr.write(
        `keywarden: ${members === undefined ? 'no account' : noAccountListed(members)}; no report was made.\n`,
      );
      return EXIT.error;
    }
    const accountClients =
      members === undefined ? undefined : accountClientsFor(callerClients, members.roleName);
    if (members !== undefined)
      io.stderr.write(
        `Reading ${listed.length} account(s) through role ${members.roleName}, up to ${ACCOUNT_SCAN_CONCURRENCY} at a time…\n`,
      );
    const reader: ReportReader = {
      options,
      io,
      own,
      userAgent,
      clock: () => new Date(),
      accountClients,
      describeIn,
    };
    const inputs = await readAccounts(reader, listed);
    return await writeReport(options, io, inputs, reportContext(options, identity.arn, own, reader.clock()));
  } catch (error) {
    io.stderr.write(`keywarden: ${describeIn(caller)(error)}\n`);
    return EXIT.error;
  }
}

function reportContext(
  options: ReportOptions,
  generatedBy: string,
  own: AccountContext,
  now: Date,
): EvidenceContext {
  const { members } = options;
  return {
    now,
    sinceDays: options.sinceDays,
    generatedBy,
    version: VERSION,
    region: own.region,
    scope: members === undefined ? 'account' : members.from,
    roleName: members?.roleName,
  };
}

/** Every listed account, a bounded number at a time; an account that cannot be read is reported as such. */
async function readAccounts(
  reader: ReportReader,
  listed: readonly OrganizationAccount[],
): Promise<AccountInput[]> {
  const { own } = reader;
  const settled = await mapBounded(listed, ACCOUNT_SCAN_CONCURRENCY, (account) => readOne(reader, account));
  return settled.map((outcome, index): AccountInput => {
    if (outcome?.ok) return outcome.value;
    // readOne settles every account itself; this only guards against a bug there.
    const entry = listed[index] as OrganizationAccount;
    return {
      accountId: entry.accountId,
      name: entry.name,
      via: entry.accountId === own.accountId ? 'own' : 'member-role',
      read: { kind: 'unreadable', message: reader.describeIn(own)(outcome?.error ?? new Error('not read')) },
    };
  });
}

async function readOne(
  reader: ReportReader,
  { accountId, name }: OrganizationAccount,
): Promise<AccountInput> {
  const { options, io, own, accountClients } = reader;
  const { members } = options;
  const multi = members !== undefined;
  const target =
    members === undefined
      ? { account: own, via: 'own' as const }
      : targetFor(accountId, own, members.roleName);
  const prefix = `[${accountId}]`;
  try {
    if (multi)
      io.stderr.write(
        target.via === 'own'
          ? `${prefix} Reading findings and the IAM credential report with the caller's credentials…\n`
          : `${prefix} Assuming ${memberRoleArn(own.partition, accountId, members?.roleName ?? '')}; reading findings and the IAM credential report…\n`,
      );
    const clients =
      accountClients === undefined
        ? createClients({
            region: own.region,
            ...(options.profile !== undefined ? { profile: options.profile } : {}),
            userAgent: reader.userAgent,
          })
        : await accountClients.clientsFor(target);
    const read = await readAccount(clients, target.account, reader.clock);
    if (multi)
      io.stderr.write(`${prefix} ${read.findings.length} finding(s), ${read.users.length} user(s).\n`);
    return { accountId, name, via: target.via, read };
  } catch (error) {
    const message = reader.describeIn(target.account)(error);
    io.stderr.write(`${prefix} Could not be read: ${message}\n`);
    return { accountId, name, via: target.via, read: { kind: 'unreadable', message } };
  }
}

/** Renders the report in its format to stdout or the file; an unreadable account fails the command. */
async function writeReport(
  options: ReportOptions,
  io: CliIo,
  inputs: readonly AccountInput[],
  context: EvidenceContext,
): Promise<number> {
  const text = renderReport(options.format, inputs, context);
  if (options.output === undefined) io.stdout.write(text);
  else {
    await writeFile(options.output, text, 'utf8');
    io.stderr.write(
      `Wrote the ${options.format} report to ${options.output} (${Buffer.byteLength(text)} bytes).\n`,
    );
  }
  const unreadable = inputs.filter((input) => input.read.kind === 'unreadable');
  for (const input of unreadable)
    io.stderr.write(
      `keywarden: account ${input.accountId} could not be read: ${input.read.kind === 'unreadable' ? input.read.message : ''}\n`,
    );
  return unreadable.length > 0 ? EXIT.error : EXIT.compliant;
}

function renderReport(
  format: ReportOptions['format'],
  inputs: readonly AccountInput[],
  context: EvidenceContext,
): string {
  switch (format) {
    case 'html':
      return renderHtml(buildEvidenceReport(inputs, context));
    case 'csv':
      return renderCsv(buildEvidenceReport(inputs, context));
    case 'json':
      return `${JSON.stringify(buildEvidenceReport(inputs, context), null, 2)}\n`;
    case 'ocsf':
      return renderOcsf(reportedFindings(inputs, context), { version: VERSION, loggedAt: context.now });
  }
}
