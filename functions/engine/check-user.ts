/**
 * The one check shared by the real-time handler, the sweep and the CLI, as a thin shell around the core's decision:
 * read the user (IAM) → plan the other reads → read them → decide → write to IAM (the intent recorded before the
 * write, the outcome proven by a read after it) → record the outcome → import the findings and notify.
 * The decisions are in core/read-plan.ts and core/decide.ts; this file only performs them.
 */

import type { IamPort } from '../adapters/iam.ts';
import type { NotifierPort } from '../adapters/notify.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import type { TagEventsPort } from '../adapters/tag-events.ts';
import type { UsageEventsPort } from '../adapters/usage-events.ts';
import {
  type ActionDone,
  type Decision,
  decide,
  type Effects,
  importsOf,
  intentFinding,
  type Reads,
  recordOutcome,
} from '../core/decide.ts';
import type { Evaluation, EvaluationPolicy } from '../core/evaluate.ts';
import { type Finding, findingIdFor, productArnFor, updateCommand } from '../core/finding.ts';
import {
  type CheckInput,
  type EvidenceRead,
  type FindingsRead,
  planReads,
  planUsage,
  type UsageRead,
} from '../core/read-plan.ts';
import { readRecord } from '../core/record.ts';
import { type ActionTaken, provenAction, rolledBack, verifyDeactivation } from '../core/remediation.ts';
import {
  type AccessKey,
  type AccountContext,
  type ExemptionEvidence,
  type Expectation,
  isActive,
  type UserSnapshot,
} from '../core/types.ts';
import { type UsageEvidence, usageUnavailable, usageWindow } from '../core/usage-evidence.ts';
import type { RemediationMode } from '../shared/constants.ts';
import { RemediationNotRecordedError } from '../shared/errors.ts';
import { readStoredFindings } from './threats.ts';

export interface EngineDeps {
  readonly iam: IamPort;
  readonly findings: FindingsPort;
  /** Absent: no notifications. */
  readonly notifier?: NotifierPort | undefined;
  /** Returns a strictly increasing time on every call (see monotonicClock). */
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Who set an exemption tag, from CloudTrail; read only when exemption approvers are configured and a user with
   * more than one active key is tagged. Absent: such an exemption cannot be proven and is not honoured.
   */
  readonly tagEvents?: TagEventsPort | undefined;
  /**
   * Where and by what a violating user's active keys are used, from CloudTrail (best effort: a failure is recorded
   * in the finding, never thrown). Absent: no usage evidence is read.
   */
  readonly usageEvents?: UsageEventsPort | undefined;
}

export interface EngineSettings extends EvaluationPolicy {
  readonly remediationMode: RemediationMode;
  readonly consistencyRetries: number;
  /** False for a read-only scan: nothing is written to Security Hub. */
  readonly importFindings: boolean;
  /**
   * The caller imports the returned finding itself (the sweep, in batches). Around an IAM write the engine still
   * imports the intent and the outcome at once, so a deactivation is never left unrecorded for a batch.
   */
  readonly deferImports?: boolean;
  /**
   * ARN patterns of the principals that hand out keys legitimately (TRUSTED_KEY_ISSUERS); a key another principal
   * creates or re-activates raises a threat finding. Default none.
   */
  readonly trustedKeyIssuers?: readonly string[] | undefined;
}

/**
 * A check to run. A rename (`renamedFrom`, default the UpdateUser event's) carries the finding under the former name
 * to this one, with KeyWarden's record, and archives it saying where it went.
 */
export interface CheckRequest extends CheckInput {
  /** A snapshot already read (by the sweep); skips the first read. `null`: that read found no such user. */
  readonly snapshot?: UserSnapshot | null | undefined;
  /** When `snapshot` was read (its read began); default now. */
  readonly readAt?: Date | undefined;
}

export interface CheckResult {
  readonly userName: string;
  readonly verdict: Evaluation['verdict'];
  readonly action: ActionTaken;
  readonly findingId: string;
  /** The finding imported, or that would have been imported when imports are off or deferred. */
  readonly finding: Finding | undefined;
  /** `deferred`: the caller is to import `finding` (deferImports). */
  readonly written: 'imported' | 'deferred' | 'none';
  readonly evaluation: Evaluation;
  /** What the event said IAM should show and IAM's re-reads never did; the result is what IAM showed. */
  readonly unconfirmed?: Expectation | undefined;
  /** Threat findings this check imported (raised or resolved); always imported at once, never deferred. */
  readonly threatFindings?: readonly Finding[] | undefined;
  /** The threat finding this check raised for the event's key, when another principal made it usable. */
  readonly threatRaised?: Finding | undefined;
  /**
   * The finding under the user's former name, archived and pointing to `findingId`; imported with `finding` (by the
   * caller when `written` is `deferred`).
   */
  readonly formerFinding?: Finding | undefined;
  /** Where and by what the active keys of a violating user are used, when it was read. */
  readonly usage?: UsageEvidence | undefined;
}

const CONSISTENCY_BACKOFF_MS = 250;

function satisfies(snapshot: UserSnapshot | undefined, expectation: Expectation): boolean {
  const key = snapshot?.keys.find((k) => k.accessKeyId === expectation.accessKeyId);
  if (expectation.state === 'absent') return snapshot === undefined || key === undefined;
  if (expectation.state === 'present') return key !== undefined;
  return key?.status === expectation.state;
}

export interface ConsistentRead {
  readonly snapshot: UserSnapshot | undefined;
  /** When the read that produced `snapshot` began: IAM showed this state at that time or later. */
  readonly readAt: Date;
  /** False when the re-reads ran out before IAM showed what the event reported. */
  readonly satisfied: boolean;
}

/** Reads the user, re-reading a bounded number of times while IAM does not yet show what the event reported. */
export async function readConsistent(
  deps: Pick<EngineDeps, 'iam' | 'sleep' | 'clock'>,
  userName: string,
  expectation: Expectation | undefined,
  retries: number,
): Promise<ConsistentRead> {
  let readAt = deps.clock();
  let snapshot = await deps.iam.readUser(userName);
  for (
    let attempt = 0;
    expectation !== undefined && attempt < retries && !satisfies(snapshot, expectation);
    attempt++
  ) {
    await deps.sleep(CONSISTENCY_BACKOFF_MS * 2 ** attempt);
    readAt = deps.clock();
    snapshot = await deps.iam.readUser(userName);
  }
  return { snapshot, readAt, satisfied: expectation === undefined || satisfies(snapshot, expectation) };
}

/** Serialises checks of the same user inside one process, so concurrent events act once. */
class PerUserQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

const queue = new PerUserQueue();

/** Evaluates one user end to end. Throws (named errors) on any AWS failure, so the caller's retries apply. */
export function checkUser(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  request: CheckRequest,
): Promise<CheckResult> {
  // IAM user names are unique regardless of case, within an account.
  const key = `${account.accountId}/${request.userName.toLowerCase()}`;
  return queue.run(key, () => checkUserNow(deps, settings, account, request));
}

/**
 * For KeyWarden's own UpdateAccessKey coming back as an event: the stored finding when it still holds the intent to
 * deactivate that key (the outcome's import failed), so the echo records it; undefined when there is nothing to do.
 */
export async function pendingIntentFor(
  findings: FindingsPort,
  account: AccountContext,
  userName: string,
  accessKeyId: string | undefined,
): Promise<Finding | undefined> {
  const stored = await findings.getFinding(productArnFor(account), findingIdFor(account.accountId, userName));
  const pending = readRecord(stored).pending;
  return accessKeyId !== undefined && pending?.keys.includes(accessKeyId) ? stored : undefined;
}

/** Read the user → plan the reads → read → decide → act (IAM write, when decided) → import and notify. */
async function checkUserNow(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  request: CheckRequest,
): Promise<CheckResult> {
  const user = await readUserState(deps, settings, request);
  const plan = planReads(account, settings, request, user.snapshot, user.readAt);
  const stored = await readFindings(deps.findings, account, plan.findings);
  const evidence = await readEvidence(deps, settings, plan.exemption, user.snapshot);
  const usagePlan = planUsage(account, settings, request, user.snapshot, user.readAt, evidence);
  const usage = await readUsage(deps, usagePlan, user.readAt);
  const reads: Reads = { snapshot: user.snapshot, readAt: user.readAt, ...stored, evidence, usage };
  const decision = decide({ account, settings, request, reads });
  const effects = decision.kind === 'record' ? decision.effects : await act(deps, settings, decision);
  const written = await importAndNotify(deps, settings, effects);
  return resultOf(settings, effects, written, user.satisfied ? undefined : request.expectation);
}

/** The user as IAM shows it (the caller's snapshot, or a consistent read), with the last use of its keys. */
async function readUserState(
  deps: EngineDeps,
  settings: EngineSettings,
  request: CheckRequest,
): Promise<ConsistentRead> {
  const read: ConsistentRead =
    request.snapshot !== undefined
      ? { snapshot: request.snapshot ?? undefined, readAt: request.readAt ?? deps.clock(), satisfied: true }
      : await readConsistent(deps, request.userName, request.expectation, settings.consistencyRetries);
  if (read.snapshot === undefined) return read;
  return { ...read, snapshot: await withLastUsed(deps.iam, read.snapshot) };
}

/** The stored findings the plan asks for, in at most one call. */
async function readFindings(
  findings: FindingsPort,
  account: AccountContext,
  plan: FindingsRead,
): Promise<Pick<Reads, 'compliance' | 'former' | 'threats'>> {
  switch (plan.kind) {
    case 'none':
      return { compliance: undefined, former: undefined, threats: new Map() };
    case 'get-finding': {
      const compliance = await findings.getFinding(productArnFor(account), plan.findingId);
      return { compliance, former: undefined, threats: new Map() };
    }
    case 'find-findings': {
      const { complianceId, threatKeys, formerId } = plan;
      const stored = await readStoredFindings(findings, account, complianceId, threatKeys, formerId);
      return { compliance: stored.compliance, former: stored.former, threats: stored.threats };
    }
  }
}

/** Who set the exemption tag, when the plan needs it proven: CloudTrail's records, unless the event proved it. */
async function readEvidence(
  deps: EngineDeps,
  settings: EngineSettings,
  plan: EvidenceRead,
  snapshot: UserSnapshot | undefined,
): Promise<ExemptionEvidence | undefined> {
  if (plan.kind === 'none' || snapshot === undefined) return undefined;
  if (plan.kind === 'known') return plan.evidence;
  if (deps.tagEvents === undefined) {
    return { kind: 'unproven', reason: 'KeyWarden was given no CloudTrail access to read who set it' };
  }
  return deps.tagEvents.exemptionEvidence(snapshot.user.userName, settings.exemptTag);
}

/**
 * Where and by what the plan's keys are used, over the window ending at the user's read. Best effort: whatever goes
 * wrong leaves the finding as it would be without it, saying why.
 */
async function readUsage(
  deps: EngineDeps,
  plan: UsageRead,
  readAt: Date,
): Promise<UsageEvidence | undefined> {
  if (plan.kind === 'none' || deps.usageEvents === undefined) return undefined;
  const window = usageWindow(readAt);
  try {
    return await deps.usageEvents.usage(plan.keys, window);
  } catch (error) {
    const reason = `CloudTrail could not be read: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    return usageUnavailable(plan.keys, window, reason);
  }
}

/** Performs the decision's IAM write and records its outcome. */
async function act(
  deps: EngineDeps,
  settings: EngineSettings,
  decision: Extract<Decision, { kind: 'deactivate' }>,
): Promise<Effects> {
  return recordOutcome(decision.state, await deactivateVerified(deps, settings, decision));
}

/**
 * Deactivates the decision's keys: records the intent in Security Hub first (so a lost outcome can be rebuilt from
 * IAM), writes, then reads the keys back. A write that leaves no key active (someone switched the kept key off
 * meanwhile) is undone at once; a key IAM still lists active after the re-reads is reported unconfirmed.
 */
async function deactivateVerified(
  deps: EngineDeps,
  settings: EngineSettings,
  { state, keys }: Extract<Decision, { kind: 'deactivate' }>,
): Promise<ActionDone> {
  const { userName } = state.evaluation.snapshot.user;
  if (settings.importFindings) await deps.findings.importFindings([intentFinding(state, keys, deps.clock())]);
  for (const key of keys) await deps.iam.deactivate(userName, key.accessKeyId);
  const proof = await proveDeactivation(deps, settings.consistencyRetries, userName, keys);
  if (proof.verification.kind !== 'no-active-key') {
    return { action: provenAction(proof.verification, keys, proof.after, proof.at), updatedAt: proof.at };
  }
  for (const key of keys) await deps.iam.reactivate(userName, key.accessKeyId);
  const checkedAt = deps.clock();
  const restoredKeys = (await deps.iam.listKeys(userName)) ?? [];
  return { action: rolledBack(keys, restoredKeys, checkedAt), updatedAt: checkedAt };
}

/** Reads the keys after a deactivation until IAM shows it, a bounded number of times. */
async function proveDeactivation(
  deps: Pick<EngineDeps, 'iam' | 'sleep' | 'clock'>,
  retries: number,
  userName: string,
  keys: readonly AccessKey[],
) {
  let at = deps.clock();
  let after = await deps.iam.listKeys(userName);
  let verification = verifyDeactivation(keys, after);
  // IAM is eventually consistent: a read right after the write may still show the key active.
  for (let attempt = 0; verification.kind === 'pending' && attempt < retries; attempt++) {
    await deps.sleep(CONSISTENCY_BACKOFF_MS * 2 ** attempt);
    at = deps.clock();
    after = await deps.iam.listKeys(userName);
    verification = verifyDeactivation(keys, after);
  }
  return { verification, after, at };
}

/** Imports what the decision calls for (unless the caller defers it), then sends its notifications. */
async function importAndNotify(
  deps: EngineDeps,
  settings: EngineSettings,
  effects: Effects,
): Promise<CheckResult['written']> {
  let written: CheckResult['written'] = 'none';
  if (settings.importFindings) {
    const imports = importsOf(effects, settings.deferImports === true);
    if (imports.now.length > 0) {
      try {
        await deps.findings.importFindings(imports.now);
      } catch (error) {
        throw notRecorded(effects, error);
      }
    }
    written = imports.written;
  }
  if (deps.notifier !== undefined)
    for (const notification of effects.notifications) await deps.notifier.notify(notification);
  return written;
}

/**
 * A failed import after a deactivation: the key is off but Security Hub does not say so yet. The recorded intent
 * lets the next event or sweep record it; the error carries the record to the logs and the on-failure destination.
 */
function notRecorded(effects: Effects, error: unknown): unknown {
  const { action } = effects;
  if (action.kind !== 'deactivated') return error;
  const ids = action.keys.map((key) => key.accessKeyId);
  const userName = userNameOf(effects.evaluation);
  const reactivate = ids.map((id) => updateCommand(userName, id, 'Active')).join(' && ');
  return new RemediationNotRecordedError(effects.findingId, ids, action.at, reactivate, error);
}

const userNameOf = (evaluation: Evaluation): string =>
  evaluation.verdict === 'user-gone' ? evaluation.userName : evaluation.snapshot.user.userName;

function resultOf(
  settings: EngineSettings,
  effects: Effects,
  written: CheckResult['written'],
  unconfirmed: Expectation | undefined,
): CheckResult {
  const { evaluation, action, write, threats, formerFinding } = effects;
  return {
    userName: userNameOf(evaluation),
    verdict: evaluation.verdict,
    action,
    findingId: effects.findingId,
    finding: write ? effects.finding : undefined,
    written: write ? written : 'none',
    evaluation,
    unconfirmed,
    // Threat findings are imported at once, never deferred.
    threatFindings: settings.importFindings ? threats.findings : [],
    threatRaised: threats.raised,
    ...(formerFinding !== undefined && write ? { formerFinding } : {}),
    ...(effects.usage !== undefined ? { usage: effects.usage } : {}),
  };
}

/** Adds last-used data to the active keys of a user with more than one: the finding and `last-used` need it. */
async function withLastUsed(iam: IamPort, snapshot: UserSnapshot): Promise<UserSnapshot> {
  if (snapshot.keys.filter(isActive).length <= 1) return snapshot;
  const keys = await Promise.all(
    snapshot.keys.map(async (key) =>
      isActive(key) && key.lastUsed === undefined
        ? { ...key, lastUsed: await iam.lastUsed(key.accessKeyId) }
        : key,
    ),
  );
  return { ...snapshot, keys };
}
