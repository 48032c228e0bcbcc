/**
 * `keywarden coverage`: reads what the sweep's coverage check reads (through the same member sessions and the same
 * observe function), the caller's trails and the canary ledger, and writes nothing.
 */

import { accountFromCaller } from '../adapters/account.ts';
import { type CanaryStorePort, createCanaryStore } from '../adapters/canary-store.ts';
import { CLIENT_SETTINGS, VERSION } from '../adapters/clients.ts';
import { cloudTrailClients, createCloudTrailPort } from '../adapters/cloudtrail.ts';
import type { AccountClients } from '../adapters/member-accounts.ts';
import type { OrganizationAccount } from '../adapters/organizations.ts';
import { createFindingsPort } from '../adapters/securityhub.ts';
import type { CanaryRecord } from '../core/canary.ts';
import { memberRoleArn } from '../core/organization.ts';
import { evaluateTrailHealth, type Read, type TrailHealth } from '../core/trail-health.ts';
import type { AccountContext } from '../core/types.ts';
import { monotonicClock } from '../shared/clock.ts';
import {
  DEFAULT_MEMBER_ROLE_NAME,
  FORWARDING_RULE_NAME,
  iamEventRegionFor,
  USER_AGENT_MARKER,
} from '../shared/constants.ts';
import { mapBounded } from '../sweep/concurrency.ts';
import { memberAccessOf, observeCoverage } from '../sweep/coverage.ts';
import { ACCOUNT_SCAN_CONCURRENCY, EXIT } from './args.ts';
import type { CoverageOptions } from './coverage.ts';
import {
  type AccountCoverageInput,
  buildCoverageReport,
  type CoverageRow,
  coverageRow,
  exitCodeForCoverage,
  renderCoverageJson,
  renderCoverageTable,
} from './coverage-report.ts';
import { describeError } from './errors.ts';
import type { CliIo } from './io.ts';
import { checkProfile } from './profiles.ts';
import { plural } from './report.ts';
import {
  accountClientsFor,
  type CallerClients,
  noAccountListed,
  selectAccounts,
  targetFor,
} from './scan-accounts.ts';

/** What checking each account shares. */
interface CoverageRun {
  readonly options: CoverageOptions;
  readonly io: CliIo;
  readonly caller: AccountContext;
  readonly accountClients: AccountClients;
  readonly roleName: string;
  readonly callerTrails: Read<TrailHealth>;
  readonly canary: CanaryStorePort | undefined;
  readonly clock: () => Date;
  readonly describe: (error: unknown) => string;
}

export async function coverage(options: CoverageOptions, io: CliIo): Promise<number> {
  const profile = options.profile ?? (io.env.AWS_PROFILE || undefined);
  let caller: AccountContext | undefined;
  const describe = (error: unknown): string =>
    describeError(error, { accountId: caller?.accountId, region: caller?.region ?? options.region, profile });
  const missingProfile = await checkProfile(options.profile, io.env);
  if (missingProfile !== undefined) {
    io.stderr.write(`keywarden: ${missingProfile}\n`);
    return EXIT.error;
  }
  try {
    caller = await accountFromCaller(options.region, options.profile);
    const callerClients: CallerClients = {
      caller,
      profile: options.profile,
      userAgent: `${USER_AGENT_MARKER}-cli/${VERSION}`,
    };
    const listed = options.members
      ? await selectAccounts(options.members, callerClients, io.stderr)
      : [{ accountId: caller.accountId, name: undefined }];
    // A check of no account must not pass for a covered organization (an OU may hold none).
    if (listed.length === 0 && options.members !== undefined) {
      io.stderr.write(`keywarden: ${noAccountListed(options.members)}; nothing was checked.\n`);
      return EXIT.error;
    }
    // The own account needs no role: routing sends it to the caller's credentials.
    const roleName = options.members?.roleName ?? DEFAULT_MEMBER_ROLE_NAME;
    const run: CoverageRun = {
      options,
      io,
      caller,
      accountClients: accountClientsFor(callerClients, roleName),
      roleName,
      callerTrails: await readCallerTrails(caller, options.profile, describe),
      canary: options.canaryTable === undefined ? undefined : await canaryStore(caller, options),
      clock: monotonicClock(),
      describe,
    };
    io.stderr.write(
      `Checking ${plural(listed.length, 'account')}, up to ${ACCOUNT_SCAN_CONCURRENCY} at a time…\n`,
    );
    const settled = await mapBounded(listed, ACCOUNT_SCAN_CONCURRENCY, (account) => checkOne(run, account));
    return writeCoverageReport(
      run,
      settled.map((outcome) => {
        if (outcome?.ok) return outcome.value;
        throw outcome?.error ?? new Error('an account was not checked');
      }),
    );
  } catch (error) {
    io.stderr.write(`keywarden: ${describe(error)}\n`);
    return EXIT.error;
  }
}

/** The caller's trails, judged as the sweep's trail check judges them (nothing is imported). */
async function readCallerTrails(
  caller: AccountContext,
  profile: string | undefined,
  describe: (error: unknown) => string,
): Promise<Read<TrailHealth>> {
  const iamEventRegion = iamEventRegionFor(caller.partition);
  const port = createCloudTrailPort(cloudTrailClients(profile !== undefined ? { profile } : {}));
  try {
    const trails = await port.observeTrails(iamEventRegion ?? caller.region);
    return { ok: true, value: evaluateTrailHealth(trails, caller.accountId, iamEventRegion) };
  } catch (error) {
    return { ok: false, code: errorCodeOf(error), message: describe(error) };
  }
}

const errorCodeOf = (error: unknown): string => (error as { code?: string })?.code ?? 'Error';

async function canaryStore(caller: AccountContext, options: CoverageOptions): Promise<CanaryStorePort> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    ...CLIENT_SETTINGS,
    region: caller.region,
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
  });
  return createCanaryStore(client, options.canaryTable as string);
}

/** One account: the member session (or the caller's own clients), the rule through it, the ledger's record. */
async function checkOne(run: CoverageRun, { accountId, name }: OrganizationAccount): Promise<CoverageRow> {
  const { io, caller, accountClients } = run;
  const target = targetFor(accountId, caller, run.roleName);
  io.stderr.write(
    target.via === 'own'
      ? `[${accountId}] The caller's own account…\n`
      : `[${accountId}] Assuming ${memberRoleArn(caller.partition, accountId, run.roleName)}…\n`,
  );
  const session = await accountClients.clientsFor(target).then(
    (clients) => ({
      ports: { findings: createFindingsPort(clients.securityHub, target.account) },
    }),
    (error: unknown) => ({ error }),
  );
  const access = await memberAccessOf(accountClients, target, session);
  const input: AccountCoverageInput = {
    accountId,
    name,
    via: target.via === 'own' ? 'own' : 'member-role',
    coverage: await observeCoverage(access, FORWARDING_RULE_NAME),
    callerTrails: run.callerTrails,
    canary: run.canary && (await readCanary(run.canary, accountId, run.describe)),
  };
  return coverageRow(input, { busArn: run.options.busArn, now: run.clock() });
}

async function readCanary(
  store: CanaryStorePort,
  accountId: string,
  describe: (error: unknown) => string,
): Promise<Read<CanaryRecord | undefined>> {
  return store.read(accountId).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, code: errorCodeOf(error), message: describe(error) }),
  );
}

/** The report on stdout, each account not covered named on stderr; the exit code says whether any is blind. */
function writeCoverageReport(run: CoverageRun, rows: readonly CoverageRow[]): number {
  const { io, options, caller } = run;
  const report = buildCoverageReport(rows, {
    caller,
    members: options.members,
    busArn: options.busArn,
    canaryTable: options.canaryTable,
    checkedAt: run.clock(),
    version: VERSION,
  });
  io.stdout.write(options.format === 'json' ? renderCoverageJson(report) : renderCoverageTable(report));
  for (const row of report.accounts.filter((entry) => !entry.covered)) {
    const failed = [row.role, row.forwardingRule, row.trail, row.canary].filter((c) => c.status === 'failed');
    io.stderr.write(
      `keywarden: account ${row.accountId} is not covered: ${failed.map((c) => c.detail).join('; ')}\n`,
    );
  }
  return exitCodeForCoverage(report);
}
