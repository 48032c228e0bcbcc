/**
 * The one evaluation flow shared by the real-time handler, the sweep and the CLI:
 * live read → evaluate → (optionally) remediate → finding → notification.
 */

import type { IamPort } from '../adapters/iam.ts';
import type { Notification, NotifierPort } from '../adapters/notify.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import { type Evaluation, type EvaluationPolicy, evaluateUser } from '../core/evaluate.ts';
import {
  buildArchivedFinding,
  buildFinding,
  type Finding,
  findingIdFor,
  productArnFor,
  USER_NAME_FIELD,
  updateCommand,
} from '../core/finding.ts';
import { type ActionTaken, planRemediation, unsafeToDeactivate } from '../core/remediation.ts';
import {
  type AccountContext,
  type Expectation,
  isActive,
  type Trigger,
  type UserSnapshot,
} from '../core/types.ts';
import type { RemediationMode } from '../shared/constants.ts';
import { RemediationNotRecordedError } from '../shared/errors.ts';

export interface EngineDeps {
  readonly iam: IamPort;
  readonly findings: FindingsPort;
  /** Absent: no notifications. */
  readonly notifier?: NotifierPort | undefined;
  /** Returns a strictly increasing time on every call (see monotonicClock). */
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface EngineSettings extends EvaluationPolicy {
  readonly remediationMode: RemediationMode;
  readonly consistencyRetries: number;
  /** False for a read-only scan: nothing is written to Security Hub. */
  readonly importFindings: boolean;
}

export interface CheckRequest {
  readonly userName: string;
  readonly trigger: Trigger;
  readonly expectation?: Expectation | undefined;
  /** A snapshot already read (by the sweep); skips the first read. `null`: that read found no such user. */
  readonly snapshot?: UserSnapshot | null | undefined;
  /** The stored finding, when the caller already read it (the sweep): a gone user's is then not re-read. */
  readonly previousFinding?: Finding | undefined;
}

export interface CheckResult {
  readonly userName: string;
  readonly verdict: Evaluation['verdict'];
  readonly action: ActionTaken;
  readonly findingId: string;
  /** The finding imported, or that would have been imported when imports are off. */
  readonly finding: Finding | undefined;
  readonly evaluation: Evaluation;
}

const CONSISTENCY_BACKOFF_MS = 250;

function satisfies(snapshot: UserSnapshot | undefined, expectation: Expectation): boolean {
  const key = snapshot?.keys.find((k) => k.accessKeyId === expectation.accessKeyId);
  if (expectation.state === 'absent') return snapshot === undefined || key === undefined;
  if (expectation.state === 'present') return key !== undefined;
  return key?.status === expectation.state;
}

/** Reads the user, re-reading a bounded number of times while IAM does not yet show what the event reported. */
export async function readConsistent(
  deps: Pick<EngineDeps, 'iam' | 'sleep'>,
  userName: string,
  expectation: Expectation | undefined,
  retries: number,
): Promise<UserSnapshot | undefined> {
  let snapshot = await deps.iam.readUser(userName);
  for (
    let attempt = 0;
    expectation !== undefined && attempt < retries && !satisfies(snapshot, expectation);
    attempt++
  ) {
    await deps.sleep(CONSISTENCY_BACKOFF_MS * 2 ** attempt);
    snapshot = await deps.iam.readUser(userName);
  }
  return snapshot;
}

/** Serialises checks of the same user inside one process, so concurrent events act once. */
class PerUserQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(userName: string, task: () => Promise<T>): Promise<T> {
    const key = userName.toLowerCase();
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
  return queue.run(request.userName, () => checkUserNow(deps, settings, account, request));
}

async function checkUserNow(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  request: CheckRequest,
): Promise<CheckResult> {
  const { userName, trigger } = request;
  const findingId = findingIdFor(account.accountId, userName);
  const read =
    request.snapshot !== undefined
      ? (request.snapshot ?? undefined)
      : await readConsistent(deps, userName, request.expectation, settings.consistencyRetries);
  const snapshot = read === undefined ? undefined : await withLastUsed(deps.iam, read);
  const evaluation = evaluateUser(userName, snapshot, settings, deps.clock());

  if (evaluation.verdict === 'user-gone') {
    return resolveGoneUser(deps, settings, account, request, evaluation, findingId);
  }

  const action = await remediate(deps, evaluation, settings.remediationMode);
  const finding = buildFinding({ account, evaluation, action, trigger, updatedAt: deps.clock() });
  const result = {
    userName: evaluation.snapshot.user.userName,
    verdict: evaluation.verdict,
    action,
    findingId,
    finding,
    evaluation,
  };
  let wasFailing = false;
  if (evaluation.verdict === 'compliant' && !mayResolve(request)) {
    // A new or re-activated key cannot end a violation. Only a stored finding still open (its resolving event was
    // lost) needs an update; a PASSED one is left as is, so a repeated event does not erase its remediation record
    // and a user's first key creates no finding.
    const previous = await deps.findings.getFinding(productArnFor(account), findingId);
    const status = previous?.Compliance?.Status;
    if (previous === undefined || previous.RecordState === 'ARCHIVED' || status === 'PASSED') {
      return { ...result, finding: undefined };
    }
    wasFailing = status === 'FAILED';
  } else if (deps.notifier !== undefined && evaluation.verdict === 'compliant') {
    // "Resolved" is said only when the stored finding was failing: read it before the update.
    wasFailing =
      (await deps.findings.getFinding(productArnFor(account), findingId))?.Compliance?.Status === 'FAILED';
  }
  if (settings.importFindings) {
    try {
      await deps.findings.importFindings([finding]);
    } catch (error) {
      // The key is off but Security Hub does not say so: the error carries the record to the logs and to the
      // on-failure destination, since the retry will only see a compliant user.
      if (action.kind === 'deactivated') {
        const ids = action.keys.map((key) => key.accessKeyId);
        const reactivate = ids.map((id) => updateCommand(result.userName, id, 'Active')).join(' && ');
        throw new RemediationNotRecordedError(findingId, ids, action.at, reactivate, error);
      }
      throw error;
    }
  }
  await notify(deps, account, evaluation, action, finding, wasFailing);
  return result;
}

/** Whether the trigger can have lowered the number of active keys: a sweep, a deletion or a deactivation. */
function mayResolve(request: CheckRequest): boolean {
  const { trigger, expectation } = request;
  if (trigger.kind === 'sweep') return true;
  if (trigger.eventName === 'CreateAccessKey') return false;
  return !(trigger.eventName === 'UpdateAccessKey' && expectation?.state === 'Active');
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

async function remediate(
  deps: EngineDeps,
  evaluation: Evaluation,
  mode: RemediationMode,
): Promise<ActionTaken> {
  const plan = planRemediation(evaluation, mode);
  if (plan.kind !== 'deactivate') return plan;
  if (evaluation.verdict !== 'violation') return { kind: 'none' };
  const { userName } = evaluation.snapshot.user;
  // Re-read just before writing: never leave the user without an active key, never act on stale state.
  const fresh = await deps.iam.listKeys(userName);
  const unsafe =
    fresh === undefined
      ? 'the user no longer exists'
      : unsafeToDeactivate(evaluation.keyToKeep.accessKeyId, plan.keys, fresh);
  if (unsafe !== undefined) return { kind: 'aborted', reason: unsafe };
  for (const key of plan.keys) await deps.iam.deactivate(userName, key.accessKeyId);
  return { kind: 'deactivated', keys: plan.keys, at: deps.clock() };
}

async function resolveGoneUser(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  request: CheckRequest,
  evaluation: Evaluation,
  findingId: string,
): Promise<CheckResult> {
  const base = {
    userName: request.userName,
    verdict: evaluation.verdict,
    action: { kind: 'none' } as const,
    findingId,
    evaluation,
  };
  // Only a finding that exists can be archived; a user never reported needs nothing.
  const previous =
    request.previousFinding ?? (await deps.findings.getFinding(productArnFor(account), findingId));
  if (previous === undefined || previous.RecordState === 'ARCHIVED') return { ...base, finding: undefined };
  // IAM resolves names regardless of case, an emulator may not: archive only the finding stored under this exact
  // spelling, so a differently spelt event can never archive a live user's finding (the sweep archives the rest).
  const storedName = previous.ProductFields?.[USER_NAME_FIELD];
  if (storedName !== undefined && storedName !== request.userName) return { ...base, finding: undefined };
  const finding = buildArchivedFinding(previous, request.userName, request.trigger, deps.clock());
  if (settings.importFindings) await deps.findings.importFindings([finding]);
  if (previous.Compliance?.Status === 'FAILED') {
    await deps.notifier?.notify({
      outcome: 'Violation Resolved',
      detail: { accountId: account.accountId, userName: request.userName, findingId, reason: 'user deleted' },
    });
  }
  return { ...base, finding };
}

async function notify(
  deps: EngineDeps,
  account: AccountContext,
  evaluation: Exclude<Evaluation, { verdict: 'user-gone' }>,
  action: ActionTaken,
  finding: Finding,
  wasFailing: boolean,
): Promise<void> {
  if (deps.notifier === undefined) return;
  const { user } = evaluation.snapshot;
  const base = {
    accountId: account.accountId,
    userName: user.userName,
    userArn: user.arn,
    findingId: finding.Id,
    activeAccessKeyIds: evaluation.activeKeys.map((key) => key.accessKeyId),
  };
  let notification: Notification | undefined;
  if (action.kind === 'deactivated') {
    notification = {
      outcome: 'Key Deactivated',
      detail: {
        ...base,
        deactivatedAccessKeyIds: action.keys.map((key) => key.accessKeyId),
        deactivatedAt: action.at.toISOString(),
      },
    };
  } else if (evaluation.verdict === 'violation') {
    notification = { outcome: 'Violation Detected', detail: { ...base, action: action.kind } };
  } else if (evaluation.verdict === 'compliant' && wasFailing) {
    notification = { outcome: 'Violation Resolved', detail: base };
  }
  if (notification !== undefined) await deps.notifier.notify(notification);
}
