/**
 * The sweep's first step: which users to check. The credential report nominates them in one call (a user with
 * two active keys, or with a key rotated since the report); when it cannot be read, or on request, every user's
 * keys are listed instead.
 */

import { isActive } from '../core/types.ts';
import type { SweepSource } from '../shared/constants.ts';
import { CredentialReportError } from '../shared/errors.ts';
import { mapBounded } from './concurrency.ts';
import { isReportCandidate, parseCredentialReport } from './credential-report.ts';
import type { Candidate, Listing, SweepDeps, SweepFailure } from './types.ts';

/** How many users a step reads at the same time, and after how many failures it starts no new one. */
export interface SweepLimits {
  readonly concurrency: number;
  readonly maxFailures: number;
}

/**
 * The candidates from the credential report, else (report unreadable, or `full` requested) from a listing of
 * every user's keys. The source returned is the one used.
 */
export async function planCandidates(
  deps: SweepDeps,
  requested: SweepSource,
  limits: SweepLimits,
): Promise<{ readonly source: SweepSource; readonly listing: Listing }> {
  if (requested === 'full') return { source: 'full', listing: await listFully(deps, limits) };
  const fromReport = await listFromReport(deps);
  if ('candidates' in fromReport) return { source: requested, listing: fromReport };
  deps.onWarning?.('the credential report could not be read; listing every user instead', {
    reason: fromReport.fallbackReason,
  });
  return {
    source: 'full',
    listing: { ...(await listFully(deps, limits)), fallbackReason: fromReport.fallbackReason },
  };
}

async function listFromReport(deps: SweepDeps): Promise<Listing | { fallbackReason: string }> {
  deps.onProgress?.({ phase: 'report' });
  const fetched = await deps.accountIam.credentialReport();
  let report: ReturnType<typeof parseCredentialReport>;
  try {
    report = parseCredentialReport(fetched.csv);
  } catch (error) {
    if (error instanceof CredentialReportError) return { fallbackReason: error.message };
    throw error;
  }
  for (const row of report.unreadable) {
    deps.onWarning?.('a credential report row could not be read; checking that user live', {
      userName: row.userName,
      reason: row.reason,
    });
  }
  return {
    listedNames: new Set(report.users.map((row) => row.userName.toLowerCase())),
    candidates: report.users
      .filter(isReportCandidate)
      .map((row) => ({ userName: row.userName, listed: true, reportRow: row, previous: undefined })),
    reportGeneratedAt: fetched.generatedAt,
    fallbackReason: undefined,
    failures: [],
  };
}

async function listFully(deps: SweepDeps, { concurrency, maxFailures }: SweepLimits): Promise<Listing> {
  const users = await deps.accountIam.listUsers();
  let done = 0;
  let failed = 0;
  deps.onProgress?.({ phase: 'listing', done, total: users.length });
  const keys = await mapBounded(
    users,
    concurrency,
    async (user) => {
      try {
        return await deps.iam.listKeys(user.userName);
      } catch (error) {
        failed++;
        throw error;
      } finally {
        deps.onProgress?.({ phase: 'listing', done: ++done, total: users.length });
      }
    },
    () => failed >= maxFailures,
  );
  const candidates: Candidate[] = [];
  const failures: SweepFailure[] = [];
  const listedNames = new Set<string>();
  users.forEach((user, index) => {
    const settled = keys[index];
    if (settled === undefined) return;
    if (!settled.ok) {
      failures.push({ stage: 'list', userName: user.userName, error: settled.error });
      listedNames.add(user.userName.toLowerCase());
      return;
    }
    // Deleted between ListUsers and ListAccessKeys.
    if (settled.value === undefined) return;
    listedNames.add(user.userName.toLowerCase());
    if (settled.value.filter(isActive).length >= 2) {
      candidates.push({ userName: user.userName, listed: true, reportRow: undefined, previous: undefined });
    }
  });
  return { listedNames, candidates, reportGeneratedAt: undefined, fallbackReason: undefined, failures };
}
