/**
 * The account sweep shared by the scheduled Lambda and the `keywarden scan` CLI: nominate candidates cheaply
 * (credential report, or a full live listing), add the users of open findings, confirm each candidate live and
 * evaluate it with the one engine (`checkUser`), then import the findings in batches.
 */

import type { AwsSecurityFindingFilters } from '@aws-sdk/client-securityhub';
import type { IamPort } from '../adapters/iam.ts';
import type { NotifierPort } from '../adapters/notify.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import type { TagEventsPort } from '../adapters/tag-events.ts';
import { MAX_FINDINGS_PER_BATCH } from '../core/asff.ts';
import { type Finding, findingIdFor, GENERATOR_ID, productArnFor, USER_NAME_FIELD } from '../core/finding.ts';
import { readRecord } from '../core/record.ts';
import {
  isOpenThreat,
  THREAT_GENERATOR_ID,
  THREAT_KEY_FIELD,
  THREAT_USER_NAME_FIELD,
} from '../core/threat-finding.ts';
import { type AccountContext, isActive, type Trigger, type UserSnapshot } from '../core/types.ts';
import { type CheckResult, checkUser, type EngineSettings } from '../engine/check-user.ts';
import { originsOf, resolveThreats } from '../engine/threats.ts';
import type { SweepSource } from '../shared/constants.ts';
import { CredentialReportError, KeyWardenError } from '../shared/errors.ts';
import { mapBounded } from './concurrency.ts';
import {
  type CredentialReportUser,
  isReportCandidate,
  parseCredentialReport,
  withReportHints,
} from './credential-report.ts';
import type { AccountIamPort } from './iam-account.ts';

export interface SweepDeps {
  readonly iam: IamPort;
  readonly accountIam: AccountIamPort;
  readonly findings: FindingsPort;
  /** Absent: no notifications. */
  readonly notifier?: NotifierPort | undefined;
  /** Strictly increasing (see monotonicClock). */
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onProgress?: ((progress: SweepProgress) => void) | undefined;
  readonly onWarning?: ((message: string, detail?: Record<string, unknown>) => void) | undefined;
  /** Who set exemption tags, from CloudTrail (exemption approvers configured); one port per sweep. */
  readonly tagEvents?: TagEventsPort | undefined;
}

export interface SweepOptions {
  /** `importFindings` false: a read-only scan, nothing is written to Security Hub. */
  readonly settings: EngineSettings;
  readonly source: SweepSource;
  readonly origin: 'schedule' | 'cli';
  /** Read this generator's open findings so they are resolved or archived; default `settings.importFindings`. */
  readonly reconcileFindings?: boolean;
  /** Users checked at the same time; default 8. */
  readonly concurrency?: number;
  /** No new user is started after this many failures (a missing permission fails them all); default 10. */
  readonly maxFailures?: number;
}

export type SweepProgress =
  | { readonly phase: 'report' }
  | { readonly phase: 'listing'; readonly done: number; readonly total: number }
  | { readonly phase: 'findings' }
  | { readonly phase: 'checking'; readonly done: number; readonly total: number }
  | { readonly phase: 'importing'; readonly done: number; readonly total: number };

/** One candidate's evaluation. */
export interface UserOutcome {
  readonly result: CheckResult;
  /**
   * Compliance status of the finding the sweep found for this user, if any: an open one, or a PASSED one whose
   * user is gone (it is then archived).
   */
  readonly previousStatus: 'FAILED' | 'WARNING' | 'PASSED' | undefined;
  readonly imported: boolean;
}

export interface SweepFailure {
  /** `account`: the whole account could not be swept (its member role, its report or its listing failed). */
  readonly stage: 'list' | 'check' | 'import' | 'trail-health' | 'account';
  /** Absent for an import batch, the trail check and an account. */
  readonly userName: string | undefined;
  readonly error: unknown;
  /** The account of the failure, in a sweep of several accounts. */
  readonly accountId?: string;
}

export interface SweepSummary {
  /** Users in the listing that still exist, plus users known only from open findings. */
  readonly usersScanned: number;
  readonly compliant: number;
  readonly violating: number;
  readonly exempt: number;
  /** Users whose state is unknown because their check failed. */
  readonly failed: number;
  readonly candidates: number;
  readonly deactivated: number;
  /** Violations inside the rotation grace: reported, remediated by a later sweep. */
  readonly postponed: number;
  /** Open findings whose user is compliant now (re-imported as PASSED). */
  readonly resolved: number;
  /** Open findings whose user is gone (re-imported as PASSED and ARCHIVED). */
  readonly archived: number;
  readonly findingsImported: number;
}

export interface SweepResult {
  readonly source: SweepSource;
  /** When IAM generated the credential report the candidates came from. */
  readonly reportGeneratedAt: Date | undefined;
  /** Set when the credential report could not be read and the full listing was used instead. */
  readonly fallbackReason: string | undefined;
  /** One per candidate checked, in the order of the listing. */
  readonly outcomes: readonly UserOutcome[];
  /** Threat findings resolved (key inactive) or archived (key gone) by this sweep. */
  readonly threatFindingsResolved: number;
  readonly failures: readonly SweepFailure[];
  readonly summary: SweepSummary;
}

/**
 * Some users could not be checked, some findings not imported, or some accounts not swept; the sweep did
 * everything else first. In a sweep of several accounts the message names the accounts that failed.
 */
export class SweepError extends KeyWardenError {
  /** The accounts with a failure, in the order of the failures (none in a single-account sweep). */
  readonly failedAccountIds: readonly string[];

  constructor(
    readonly failures: readonly SweepFailure[],
    readonly summary: SweepSummary,
  ) {
    const first = failures[0]?.error;
    const accounts = [...new Set(failures.flatMap((f) => (f.accountId === undefined ? [] : [f.accountId])))];
    const where = accounts.length > 0 ? ` in account(s) ${accounts.join(', ')}` : '';
    super(
      `sweep incomplete: ${failures.length} failure(s)${where}, first: ${first instanceof Error ? first.message : String(first)}`,
      { cause: first },
    );
    this.failedAccountIds = accounts;
  }
}

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_FAILURES = 10;
const OPEN_STATUSES = ['FAILED', 'WARNING'] as const;

interface Candidate {
  readonly userName: string;
  /** In the report or the full listing (not only known from an open finding). */
  readonly listed: boolean;
  readonly reportRow: CredentialReportUser | undefined;
  readonly previous: Finding | undefined;
  /** The user's finding under a former name, followed to this one by its keys' ids (a rename KeyWarden missed). */
  readonly renamed?: { readonly from: string; readonly finding: Finding } | undefined;
}

interface Listing {
  /** Lower-case names of every user in the report or the listing. */
  readonly listedNames: ReadonlySet<string>;
  readonly candidates: Candidate[];
  readonly reportGeneratedAt: Date | undefined;
  readonly fallbackReason: string | undefined;
  readonly failures: SweepFailure[];
}

/**
 * Server-side filters for the open CIS 1.13 and threat findings (one query for both); AWS applies them, emulators
 * ignore them.
 */
export function openFindingFilters(account: AccountContext): AwsSecurityFindingFilters {
  const equals = (value: string) => ({ Value: value, Comparison: 'EQUALS' as const });
  return {
    GeneratorId: [equals(GENERATOR_ID), equals(THREAT_GENERATOR_ID)],
    ProductArn: [equals(productArnFor(account))],
    AwsAccountId: [equals(account.accountId)],
    ComplianceStatus: OPEN_STATUSES.map(equals),
    RecordState: [equals('ACTIVE')],
  };
}

/** The same test, client-side: the server-side filter is not trusted (emulators, eventual consistency). */
export function isOpenFinding(account: AccountContext, finding: Finding): boolean {
  return (
    isActiveFindingOf(account, finding) &&
    (OPEN_STATUSES as readonly string[]).includes(finding.Compliance?.Status ?? '')
  );
}

function isActiveFindingOf(account: AccountContext, finding: Finding): boolean {
  return (
    finding.GeneratorId === GENERATOR_ID &&
    finding.ProductArn === productArnFor(account) &&
    finding.AwsAccountId === account.accountId &&
    finding.RecordState === 'ACTIVE'
  );
}

/** An open threat finding of this account (key minted by another principal, key still active when last seen). */
export function isOpenThreatFinding(account: AccountContext, finding: Finding): boolean {
  return (
    isOpenThreat(finding) &&
    finding.ProductArn === productArnFor(account) &&
    finding.AwsAccountId === account.accountId &&
    (finding.ProductFields?.[THREAT_USER_NAME_FIELD] ?? '') !== ''
  );
}

/** Server-side filters for the CIS 1.13 findings resolved but still active (their user may be gone since). */
export function resolvedFindingFilters(account: AccountContext): AwsSecurityFindingFilters {
  return {
    ...openFindingFilters(account),
    GeneratorId: [{ Value: GENERATOR_ID, Comparison: 'EQUALS' }],
    ComplianceStatus: [{ Value: 'PASSED', Comparison: 'EQUALS' }],
  };
}

/** The same test, client-side (see isOpenFinding). */
export function isResolvedFinding(account: AccountContext, finding: Finding): boolean {
  return isActiveFindingOf(account, finding) && finding.Compliance?.Status === 'PASSED';
}

/** The IAM user a finding is about, from its product fields, else its AwsIamUser resource. */
export function userNameOf(finding: Finding): string | undefined {
  const fromField = finding.ProductFields?.[USER_NAME_FIELD];
  if (fromField) return fromField;
  const resource = finding.Resources?.find((r) => r.Type === 'AwsIamUser');
  return resource?.Details?.AwsIamUser?.UserName || resource?.Id?.split('/').pop() || undefined;
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

async function listFully(deps: SweepDeps, concurrency: number, maxFailures: number): Promise<Listing> {
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

/**
 * Adds the users of this generator's PASSED, ACTIVE findings that no longer exist to the candidates, so their
 * findings are archived as those of open findings are. Only users absent from the listing are read live (one
 * ListAccessKeys each): a user created after the credential report is absent too, and is left alone. A user that
 * cannot be read keeps its finding until the next sweep: a resolved finding claims nothing that needs fixing.
 */
async function addGoneUsersOfResolvedFindings(
  deps: SweepDeps,
  account: AccountContext,
  listedNames: ReadonlySet<string>,
  candidates: Map<string, Candidate>,
  concurrency: number,
): Promise<void> {
  const resolved = await deps.findings.findFindings(resolvedFindingFilters(account), (f) =>
    isResolvedFinding(account, f),
  );
  const unlisted = resolved.flatMap((finding) => {
    const userName = userNameOf(finding);
    if (userName === undefined || findingIdFor(account.accountId, userName) !== finding.Id) return [];
    const key = userName.toLowerCase();
    return listedNames.has(key) || candidates.has(key) ? [] : [{ userName, finding }];
  });
  const settled = await mapBounded(unlisted, concurrency, ({ userName }) => deps.iam.listKeys(userName));
  settled.forEach((outcome, index) => {
    const { userName, finding } = unlisted[index] as (typeof unlisted)[number];
    if (outcome?.ok === false) {
      deps.onWarning?.('could not check whether the user of a resolved finding still exists; left as it is', {
        findingId: finding.Id,
        error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
      });
    } else if (outcome?.ok && outcome.value === undefined) {
      candidates.set(userName.toLowerCase(), {
        userName,
        listed: false,
        reportRow: undefined,
        previous: finding,
      });
    }
  });
}

/** The access key ids a compliance finding recorded (its key fields, else its key resources). */
function recordedKeyIds(finding: Finding): string[] {
  const fields = finding.ProductFields ?? {};
  const fromFields = Object.entries(fields)
    .filter(([name]) => /^keywarden\/detector\/key\d+\/accessKeyId$/.test(name))
    .map(([, id]) => id);
  if (fromFields.length > 0) return fromFields;
  return (finding.Resources ?? []).flatMap((resource) => {
    const id =
      resource.Type === 'AwsIamAccessKey' ? resource.Details?.AwsIamAccessKey?.AccessKeyId : undefined;
    return id ? [id] : [];
  });
}

/**
 * Follows, by key id, the users that open findings name but the listing does not: GetAccessKeyLastUsed names the
 * user holding a key now, so a user renamed without KeyWarden seeing the event keeps its findings. Asked only for
 * keys that matter, never for every gone user (a deleted user's plain finding is archived as before): the keys of
 * open threat findings whose user is missing, and the recorded keys of a missing user whose finding holds
 * KeyWarden's record (a deactivation, an intent, a re-activation). Such a candidate is replaced by the user holding
 * its keys, which carries the finding (archived under the old name, saying where it went). Returns each key's
 * holder (undefined: IAM does not know the key), for the threat findings' resolution.
 */
async function followRenames(
  deps: SweepDeps,
  listedNames: ReadonlySet<string>,
  candidates: Map<string, Candidate>,
  openThreats: readonly Finding[],
): Promise<Map<string, string | undefined>> {
  const holders = new Map<string, string | undefined>();
  const holderOf = async (accessKeyId: string): Promise<string | undefined> => {
    if (!holders.has(accessKeyId)) holders.set(accessKeyId, await deps.iam.keyOwner(accessKeyId));
    return holders.get(accessKeyId);
  };
  const missing = (userName: string): boolean => !listedNames.has(userName.toLowerCase());
  const warn = (findingId: string | undefined, error: unknown): void =>
    // Not knowing where a key went is no reason to stop: the finding is then handled by its recorded name.
    deps.onWarning?.('could not follow the keys of a user missing from the listing', {
      findingId,
      error: error instanceof Error ? error.message : String(error),
    });

  for (const threat of openThreats) {
    const userName = threat.ProductFields?.[THREAT_USER_NAME_FIELD] ?? '';
    const accessKeyId = threat.ProductFields?.[THREAT_KEY_FIELD] ?? '';
    if (userName === '' || accessKeyId === '' || !missing(userName)) continue;
    try {
      await holderOf(accessKeyId);
    } catch (error) {
      warn(threat.Id, error);
    }
  }

  const unlisted = [...candidates.values()].filter(
    (candidate) => candidate.previous !== undefined && missing(candidate.userName),
  );
  for (const candidate of unlisted) {
    const finding = candidate.previous as Finding;
    const keyIds = recordedKeyIds(finding);
    const record = readRecord(finding);
    const holdsRecord =
      record.deactivated !== undefined || record.pending !== undefined || record.reactivated !== undefined;
    let holder: string | undefined;
    try {
      for (const accessKeyId of keyIds) {
        const owner = holders.has(accessKeyId) || holdsRecord ? await holderOf(accessKeyId) : undefined;
        if (owner !== undefined && owner.toLowerCase() !== candidate.userName.toLowerCase()) {
          holder = owner;
          break;
        }
      }
    } catch (error) {
      warn(finding.Id, error);
      continue;
    }
    if (holder === undefined) continue;
    const key = holder.toLowerCase();
    const known = candidates.get(key);
    // Never carry onto a user with an open finding of its own: that one holds its record.
    if (known?.previous !== undefined) continue;
    candidates.delete(candidate.userName.toLowerCase());
    candidates.set(key, {
      userName: known?.userName ?? holder,
      listed: listedNames.has(key),
      reportRow: known?.reportRow,
      previous: undefined,
      renamed: { from: candidate.userName, finding },
    });
  }
  return holders;
}

function goneUnreported(account: AccountContext, userName: string): CheckResult {
  return {
    userName,
    verdict: 'user-gone',
    action: { kind: 'none' },
    findingId: findingIdFor(account.accountId, userName),
    finding: undefined,
    written: 'none',
    evaluation: { verdict: 'user-gone', userName },
  };
}

/** Drops "Violation Detected" for a user whose violation is already reported: a sweep notifies news only. */
function notifierFor(
  notifier: NotifierPort | undefined,
  previous: Finding | undefined,
): NotifierPort | undefined {
  if (notifier === undefined || previous?.Compliance?.Status !== 'FAILED') return notifier;
  return {
    notify: (notification) =>
      notification.outcome === 'Violation Detected' ? Promise.resolve() : notifier.notify(notification),
  };
}

function summarise(
  listedUsers: number,
  outcomes: readonly UserOutcome[],
  candidates: readonly Candidate[],
  failures: readonly SweepFailure[],
): SweepSummary {
  const listedByName = new Map(candidates.map((c) => [c.userName.toLowerCase(), c.listed]));
  let violating = 0;
  let exempt = 0;
  let deactivated = 0;
  let postponed = 0;
  let resolved = 0;
  let archived = 0;
  let goneListed = 0;
  let unlisted = 0;
  for (const { result, previousStatus } of outcomes) {
    const listed = listedByName.get(result.userName.toLowerCase()) ?? true;
    if (result.verdict === 'user-gone') {
      if (listed) goneListed++;
      if (result.finding !== undefined) archived++;
      continue;
    }
    if (!listed) unlisted++;
    if (result.verdict === 'violation') violating++;
    if (result.verdict === 'exempt') exempt++;
    if (result.verdict === 'compliant' && previousStatus !== undefined) resolved++;
    if (result.action.kind === 'deactivated') deactivated++;
    if (result.action.kind === 'postponed') postponed++;
  }
  const failedUsers = failures.filter((f) => f.stage !== 'import');
  const failedUnlisted = failedUsers.filter(
    (f) => f.userName !== undefined && listedByName.get(f.userName.toLowerCase()) === false,
  ).length;
  const usersScanned = listedUsers - goneListed + unlisted + failedUnlisted;
  return {
    usersScanned,
    compliant: usersScanned - violating - exempt - failedUsers.length,
    violating,
    exempt,
    failed: failedUsers.length,
    candidates: candidates.length,
    deactivated,
    postponed,
    resolved,
    archived,
    findingsImported: outcomes.filter((o) => o.imported).length,
  };
}

/**
 * Sweeps the account. Throws on what stops the whole sweep (report, listing, finding read); a user whose check
 * fails, or a batch that does not import, is returned in `failures` after everything else is done.
 */
export async function runSweep(
  deps: SweepDeps,
  options: SweepOptions,
  account: AccountContext,
): Promise<SweepResult> {
  const { settings } = options;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const maxFailures = options.maxFailures ?? DEFAULT_MAX_FAILURES;
  const reconcile = options.reconcileFindings ?? settings.importFindings;
  const trigger: Trigger = { kind: 'sweep', origin: options.origin };

  let source = options.source;
  let listing: Listing;
  if (source === 'credential-report') {
    const fromReport = await listFromReport(deps);
    if ('candidates' in fromReport) {
      listing = fromReport;
    } else {
      deps.onWarning?.('the credential report could not be read; listing every user instead', {
        reason: fromReport.fallbackReason,
      });
      source = 'full';
      listing = {
        ...(await listFully(deps, concurrency, maxFailures)),
        fallbackReason: fromReport.fallbackReason,
      };
    }
  } else {
    listing = await listFully(deps, concurrency, maxFailures);
  }

  const candidates = new Map(listing.candidates.map((c) => [c.userName.toLowerCase(), c]));
  let openThreats: Finding[] = [];
  if (reconcile) {
    deps.onProgress?.({ phase: 'findings' });
    const found = await deps.findings.findFindings(
      openFindingFilters(account),
      (f) => isOpenFinding(account, f) || isOpenThreatFinding(account, f),
    );
    openThreats = found.filter((f) => isOpenThreatFinding(account, f));
    const open = found.filter((f) => isOpenFinding(account, f));
    for (const finding of open) {
      const userName = userNameOf(finding);
      if (userName === undefined || findingIdFor(account.accountId, userName) !== finding.Id) {
        deps.onWarning?.('open finding names no user KeyWarden can check; left as it is', {
          findingId: finding.Id,
        });
        continue;
      }
      const known = candidates.get(userName.toLowerCase());
      candidates.set(userName.toLowerCase(), {
        userName: known?.userName ?? userName,
        listed: listing.listedNames.has(userName.toLowerCase()),
        reportRow: known?.reportRow,
        previous: finding,
      });
    }
  }

  if (reconcile) {
    await addGoneUsersOfResolvedFindings(deps, account, listing.listedNames, candidates, concurrency);
  }

  const keyHolders = reconcile
    ? await followRenames(deps, listing.listedNames, candidates, openThreats)
    : new Map<string, string | undefined>();

  // Who made a key usable, from the open threat findings: KEEP_KEY=auto keeps the older key for these users too.
  // Matched by key id, which a rename of the user does not change (the name a finding recorded may be a former one).
  const threatsByKey = new Map(
    openThreats.map((finding) => [finding.ProductFields?.[THREAT_KEY_FIELD] ?? '', finding] as const),
  );
  const threatsOf = (snapshot: UserSnapshot | undefined): Map<string, Finding> =>
    new Map(
      (snapshot?.keys ?? []).flatMap((key) => {
        const finding = threatsByKey.get(key.accessKeyId);
        return finding === undefined ? [] : [[key.accessKeyId, finding] as const];
      }),
    );

  const toCheck = [...candidates.values()];
  // Hints from a report up to 4 hours old are fine for the finding's text, not for choosing the key to keep, nor
  // for proving a key idle before switching it off (it may have been used since the report).
  const useHints =
    settings.keepKey !== 'last-used' &&
    !(settings.remediationMode !== 'off' && (settings.inUseHours ?? 0) > 0);
  const failures = [...listing.failures];
  let done = 0;
  let failedChecks = 0;
  const stop = () => listing.failures.length + failedChecks >= maxFailures;
  const check = async (candidate: Candidate): Promise<CheckResult> => {
    try {
      const readAt = deps.clock();
      const live = await deps.iam.readUser(candidate.userName);
      // Deleted since the listing and never reported: nothing to write, and no finding to look up (the open
      // findings were all read above; a read-only scan may not even reach Security Hub).
      if (live === undefined && candidate.previous === undefined)
        return goneUnreported(account, candidate.userName);
      const snapshot: UserSnapshot | undefined =
        live !== undefined && candidate.reportRow !== undefined && useHints
          ? withReportHints(live, candidate.reportRow)
          : live;
      return await checkUser(
        {
          iam: deps.iam,
          findings: deps.findings,
          notifier: notifierFor(deps.notifier, candidate.previous),
          clock: deps.clock,
          sleep: deps.sleep,
          tagEvents: deps.tagEvents,
        },
        // Findings are imported per batch of users, not one call per user; a deactivation is recorded at once.
        { ...settings, deferImports: true },
        account,
        {
          userName: candidate.userName,
          trigger,
          snapshot: snapshot ?? null,
          readAt,
          previousFinding: candidate.previous ?? null,
          origins: originsOf(undefined, threatsOf(live)),
          ...(candidate.renamed
            ? { renamedFrom: candidate.renamed.from, formerFinding: candidate.renamed.finding }
            : {}),
        },
      );
    } catch (error) {
      failedChecks++;
      throw error;
    } finally {
      deps.onProgress?.({ phase: 'checking', done: ++done, total: toCheck.length });
    }
  };

  // Users are checked and their findings imported a batch at a time, so a sweep cut short (a Lambda timeout)
  // loses at most the batch in hand, never what it already checked.
  const outcomes: UserOutcome[] = [];
  let importedCount = 0;
  deps.onProgress?.({ phase: 'checking', done, total: toCheck.length });
  for (let start = 0; start < toCheck.length && !stop(); start += MAX_FINDINGS_PER_BATCH) {
    const batch = toCheck.slice(start, start + MAX_FINDINGS_PER_BATCH);
    const settled = await mapBounded(batch, concurrency, check, stop);
    const checked: { result: CheckResult; candidate: Candidate }[] = [];
    settled.forEach((outcome, index) => {
      const candidate = batch[index] as Candidate;
      if (outcome === undefined) return;
      if (!outcome.ok) failures.push({ stage: 'check', userName: candidate.userName, error: outcome.error });
      else checked.push({ result: outcome.value, candidate });
    });
    const deferred = checked.filter((c) => c.result.written === 'deferred' && c.result.finding !== undefined);
    let batchImported = false;
    if (deferred.length > 0) {
      deps.onProgress?.({ phase: 'importing', done: importedCount, total: importedCount + deferred.length });
      // A renamed user's former finding is archived beside its continuation: a batch may then hold over 100.
      const toImport = deferred.flatMap((c) => [
        c.result.finding as Finding,
        ...(c.result.formerFinding ? [c.result.formerFinding] : []),
      ]);
      try {
        for (let at = 0; at < toImport.length; at += MAX_FINDINGS_PER_BATCH) {
          await deps.findings.importFindings(toImport.slice(at, at + MAX_FINDINGS_PER_BATCH));
        }
        batchImported = true;
        importedCount += deferred.length;
      } catch (error) {
        failures.push({ stage: 'import', userName: undefined, error });
      }
    }
    for (const { result, candidate } of checked) {
      outcomes.push({
        result,
        previousStatus: candidate.previous?.Compliance?.Status as UserOutcome['previousStatus'],
        imported: result.written === 'imported' || (result.written === 'deferred' && batchImported),
      });
    }
  }
  // Threat findings: the sweep cannot know who created a key, so it raises none; it resolves those whose key IAM
  // now shows inactive or gone, reading the keys of their users live.
  let threatFindingsResolved = 0;
  if (openThreats.length > 0) {
    const resolved = await resolveThreats(deps.iam, account, openThreats, trigger, deps.clock, keyHolders);
    for (const { userName, error } of resolved.failures) failures.push({ stage: 'check', userName, error });
    if (settings.importFindings) {
      for (let start = 0; start < resolved.findings.length; start += MAX_FINDINGS_PER_BATCH) {
        const chunk = resolved.findings.slice(start, start + MAX_FINDINGS_PER_BATCH);
        try {
          await deps.findings.importFindings(chunk);
          threatFindingsResolved += chunk.length;
        } catch (error) {
          failures.push({ stage: 'import', userName: undefined, error });
        }
      }
    }
  }

  return {
    source,
    reportGeneratedAt: listing.reportGeneratedAt,
    fallbackReason: listing.fallbackReason,
    outcomes,
    threatFindingsResolved,
    failures,
    summary: summarise(listing.listedNames.size, outcomes, toCheck, failures),
  };
}
