/**
 * The account sweep shared by the scheduled Lambda and the `keywarden scan` CLI, in steps: plan the candidates
 * (credential report, or a full live listing), read the stored findings (adding their users), check each candidate
 * live with the one engine (`checkUser`) and import the findings a batch at a time, resolve the threat findings,
 * then summarise.
 */

import type { NotifierPort } from '../adapters/notify.ts';
import { MAX_FINDINGS_PER_BATCH } from '../core/asff.ts';
import { type Finding, findingIdFor } from '../core/finding.ts';
import { THREAT_KEY_FIELD } from '../core/threat-finding.ts';
import type { AccountContext, Trigger, UserSnapshot } from '../core/types.ts';
import { type CheckResult, checkUser, type EngineSettings } from '../engine/check-user.ts';
import { originsOf, resolveThreats } from '../engine/threats.ts';
import { KeyWardenError } from '../shared/errors.ts';
import { planCandidates, type SweepLimits } from './candidates.ts';
import { mapBounded } from './concurrency.ts';
import { withReportHints } from './credential-report.ts';
import { readStoredFindings, type StoredFindings, withoutStoredFindings } from './stored-findings.ts';
import type {
  Candidate,
  SweepDeps,
  SweepFailure,
  SweepOptions,
  SweepResult,
  SweepSummary,
  UserOutcome,
} from './types.ts';

export type {
  SweepDeps,
  SweepFailure,
  SweepOptions,
  SweepProgress,
  SweepResult,
  SweepSummary,
  UserOutcome,
} from './types.ts';

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
  const limits: SweepLimits = {
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    maxFailures: options.maxFailures ?? DEFAULT_MAX_FAILURES,
  };
  const trigger: Trigger = { kind: 'sweep', origin: options.origin };
  const { source, listing } = await planCandidates(deps, options.source, limits);
  const stored =
    (options.reconcileFindings ?? settings.importFindings)
      ? await readStoredFindings(deps, account, listing, limits.concurrency)
      : withoutStoredFindings(listing);
  const toCheck = [...stored.candidates.values()];
  const checked = await checkInBatches(
    { deps, account, settings, trigger, limits, threatsOf: threatsByKeyOf(stored.openThreats) },
    toCheck,
    listing.failures.length,
  );
  const threats = await resolveOpenThreats(deps, account, settings, trigger, stored);
  const failures = [...listing.failures, ...checked.failures, ...threats.failures];
  return {
    source,
    reportGeneratedAt: listing.reportGeneratedAt,
    fallbackReason: listing.fallbackReason,
    outcomes: checked.outcomes,
    threatFindingsResolved: threats.resolved,
    failures,
    summary: summarise(listing.listedNames.size, checked.outcomes, toCheck, failures),
  };
}

/** What checking one candidate needs, the same for every candidate of a sweep. */
interface SweepCheck {
  readonly deps: SweepDeps;
  readonly account: AccountContext;
  readonly settings: EngineSettings;
  readonly trigger: Trigger;
  readonly limits: SweepLimits;
  /** The open threat findings of a user's keys, by key id. */
  readonly threatsOf: (snapshot: UserSnapshot | undefined) => Map<string, Finding>;
}

/**
 * Who made a key usable, from the open threat findings: KEEP_KEY=auto keeps the older key for these users too.
 * Matched by key id, which a rename of the user does not change (the name a finding recorded may be a former one).
 */
function threatsByKeyOf(
  openThreats: readonly Finding[],
): (snapshot: UserSnapshot | undefined) => Map<string, Finding> {
  const threatsByKey = new Map(
    openThreats.map((finding) => [finding.ProductFields?.[THREAT_KEY_FIELD] ?? '', finding] as const),
  );
  return (snapshot) =>
    new Map(
      (snapshot?.keys ?? []).flatMap((key) => {
        const finding = threatsByKey.get(key.accessKeyId);
        return finding === undefined ? [] : [[key.accessKeyId, finding] as const];
      }),
    );
}

/** Reads the candidate live and checks it with the engine; its finding is left for the batch import. */
async function checkCandidate(run: SweepCheck, candidate: Candidate): Promise<CheckResult> {
  const { deps, account, settings } = run;
  const readAt = deps.clock();
  const live = await deps.iam.readUser(candidate.userName);
  // Deleted since the listing and never reported: nothing to write, and no finding to look up (the open
  // findings were all read above; a read-only scan may not even reach Security Hub).
  if (live === undefined && candidate.previous === undefined)
    return goneUnreported(account, candidate.userName);
  // Hints from a report up to 4 hours old are fine for the finding's text, not for choosing the key to keep, nor
  // for proving a key idle before switching it off (it may have been used since the report).
  const useHints =
    settings.keepKey !== 'last-used' &&
    !(settings.remediationMode !== 'off' && (settings.inUseHours ?? 0) > 0);
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
      usageEvents: deps.usageEvents,
    },
    // Findings are imported per batch of users, not one call per user; a deactivation is recorded at once.
    { ...settings, deferImports: true },
    account,
    {
      userName: candidate.userName,
      trigger: run.trigger,
      snapshot: snapshot ?? null,
      readAt,
      previousFinding: candidate.previous ?? null,
      origins: originsOf(undefined, run.threatsOf(live)),
      ...(candidate.renamed
        ? { renamedFrom: candidate.renamed.from, formerFinding: candidate.renamed.finding }
        : {}),
    },
  );
}

interface Checked {
  readonly result: CheckResult;
  readonly candidate: Candidate;
}

/**
 * Checks the candidates and imports their findings a batch at a time, so a sweep cut short (a Lambda timeout)
 * loses at most the batch in hand, never what it already checked. No new user is started once the failures,
 * the listing's included, reach the limit.
 */
async function checkInBatches(
  run: SweepCheck,
  toCheck: readonly Candidate[],
  listingFailures: number,
): Promise<{ outcomes: UserOutcome[]; failures: SweepFailure[] }> {
  const { deps } = run;
  const outcomes: UserOutcome[] = [];
  const failures: SweepFailure[] = [];
  let done = 0;
  let failedChecks = 0;
  let importedCount = 0;
  const stop = () => listingFailures + failedChecks >= run.limits.maxFailures;
  const check = async (candidate: Candidate): Promise<CheckResult> => {
    try {
      return await checkCandidate(run, candidate);
    } catch (error) {
      failedChecks++;
      throw error;
    } finally {
      deps.onProgress?.({ phase: 'checking', done: ++done, total: toCheck.length });
    }
  };
  deps.onProgress?.({ phase: 'checking', done, total: toCheck.length });
  for (let start = 0; start < toCheck.length && !stop(); start += MAX_FINDINGS_PER_BATCH) {
    const batch = toCheck.slice(start, start + MAX_FINDINGS_PER_BATCH);
    const settled = await mapBounded(batch, run.limits.concurrency, check, stop);
    const checked: Checked[] = [];
    settled.forEach((outcome, index) => {
      const candidate = batch[index] as Candidate;
      if (outcome === undefined) return;
      if (!outcome.ok) failures.push({ stage: 'check', userName: candidate.userName, error: outcome.error });
      else checked.push({ result: outcome.value, candidate });
    });
    const imported = await importDeferred(deps, checked, importedCount);
    if (imported.failure) failures.push(imported.failure);
    importedCount += imported.count;
    for (const { result, candidate } of checked) {
      outcomes.push({
        result,
        previousStatus: candidate.previous?.Compliance?.Status as UserOutcome['previousStatus'],
        imported: result.written === 'imported' || (result.written === 'deferred' && imported.ok),
      });
    }
  }
  return { outcomes, failures };
}

/** Imports the findings a batch left for later; `count` is the users whose findings were imported. */
async function importDeferred(
  deps: SweepDeps,
  checked: readonly Checked[],
  importedBefore: number,
): Promise<{ ok: boolean; count: number; failure?: SweepFailure }> {
  const deferred = checked.filter((c) => c.result.written === 'deferred' && c.result.finding !== undefined);
  if (deferred.length === 0) return { ok: false, count: 0 };
  deps.onProgress?.({ phase: 'importing', done: importedBefore, total: importedBefore + deferred.length });
  // A renamed user's former finding is archived beside its continuation: a batch may then hold over 100.
  const toImport = deferred.flatMap((c) => [
    c.result.finding as Finding,
    ...(c.result.formerFinding ? [c.result.formerFinding] : []),
  ]);
  try {
    for (let at = 0; at < toImport.length; at += MAX_FINDINGS_PER_BATCH) {
      await deps.findings.importFindings(toImport.slice(at, at + MAX_FINDINGS_PER_BATCH));
    }
    return { ok: true, count: deferred.length };
  } catch (error) {
    return { ok: false, count: 0, failure: { stage: 'import', userName: undefined, error } };
  }
}

/**
 * Threat findings: the sweep cannot know who created a key, so it raises none; it resolves those whose key IAM
 * now shows inactive or gone, reading the keys of their users live.
 */
async function resolveOpenThreats(
  deps: SweepDeps,
  account: AccountContext,
  settings: EngineSettings,
  trigger: Trigger,
  stored: StoredFindings,
): Promise<{ resolved: number; failures: SweepFailure[] }> {
  const failures: SweepFailure[] = [];
  let resolvedCount = 0;
  if (stored.openThreats.length === 0) return { resolved: 0, failures };
  const resolved = await resolveThreats(
    deps.iam,
    account,
    stored.openThreats,
    trigger,
    deps.clock,
    stored.keyHolders,
  );
  for (const { userName, error } of resolved.failures) failures.push({ stage: 'check', userName, error });
  if (!settings.importFindings) return { resolved: 0, failures };
  for (let start = 0; start < resolved.findings.length; start += MAX_FINDINGS_PER_BATCH) {
    const chunk = resolved.findings.slice(start, start + MAX_FINDINGS_PER_BATCH);
    try {
      await deps.findings.importFindings(chunk);
      resolvedCount += chunk.length;
    } catch (error) {
      failures.push({ stage: 'import', userName: undefined, error });
    }
  }
  return { resolved: resolvedCount, failures };
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
