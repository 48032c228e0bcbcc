/**
 * The one evaluation flow shared by the real-time handler, the sweep and the CLI:
 * live read → evaluate → (optionally) remediate, with the intent recorded before the write and the outcome proven by
 * a read after it → finding → notification.
 */

import type { IamPort } from '../adapters/iam.ts';
import type { Notification, NotifierPort } from '../adapters/notify.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import type { TagEventsPort } from '../adapters/tag-events.ts';
import type { KeyOrigins } from '../core/attribution.ts';
import {
  type Evaluation,
  type EvaluationPolicy,
  evaluateUser,
  exemptionOf,
  needsExemptionEvidence,
} from '../core/evaluate.ts';
import { settingFromEvent } from '../core/exemption-evidence.ts';
import {
  buildArchivedFinding,
  buildFinding,
  buildRenamedFinding,
  type Finding,
  findingIdFor,
  productArnFor,
  USER_NAME_FIELD,
  updateCommand,
} from '../core/finding.ts';
import {
  type CompliantOutcome,
  compliantOutcome,
  lastEventOf,
  readRecord,
  resolvedViolationOf,
} from '../core/record.ts';
import { type ActionTaken, planRemediation, verifyDeactivation } from '../core/remediation.ts';
import { THREAT_USER_NAME_FIELD } from '../core/threat-finding.ts';
import {
  type AccessKey,
  type AccountContext,
  type ExemptionEvidence,
  type Expectation,
  isActive,
  type Trigger,
  type UserSnapshot,
} from '../core/types.ts';
import type { RemediationMode } from '../shared/constants.ts';
import { RemediationNotRecordedError } from '../shared/errors.ts';
import {
  type Attribution,
  attribute,
  decideThreats,
  originsOf,
  readStoredFindings,
  readThreatFindings,
  type ThreatOutcome,
  threatKeysToRead,
  threatNotification,
} from './threats.ts';

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

export interface CheckRequest {
  readonly userName: string;
  readonly trigger: Trigger;
  readonly expectation?: Expectation | undefined;
  /** A snapshot already read (by the sweep); skips the first read. `null`: that read found no such user. */
  readonly snapshot?: UserSnapshot | null | undefined;
  /** When `snapshot` was read (its read began); default now. */
  readonly readAt?: Date | undefined;
  /** The stored finding, when the caller already read it; `null`: known to hold no open finding (the sweep). */
  readonly previousFinding?: Finding | null | undefined;
  /** Who made which key usable, as the caller already knows it (the sweep, from open threat findings). */
  readonly origins?: KeyOrigins | undefined;
  /**
   * The user's former name, when it was renamed (default: the UpdateUser event's): the finding under that name is
   * carried to this one, with KeyWarden's record, and archived saying where it went.
   */
  readonly renamedFrom?: string | undefined;
  /** The finding under the former name, when the caller already read it (the sweep). */
  readonly formerFinding?: Finding | undefined;
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

/** Whether the trigger can have lowered the number of active keys: a sweep, a deletion or a deactivation. */
function mayResolve(request: CheckRequest): boolean {
  const { trigger, expectation } = request;
  if (trigger.kind === 'sweep') return true;
  if (trigger.eventName === 'DeleteAccessKey') return true;
  return trigger.eventName === 'UpdateAccessKey' && expectation?.state !== 'Active';
}

/**
 * Whether a compliant user's stored finding must be read. A new key, a re-activation or a tag change cannot end a
 * violation, so only a finding that exists matters; one can exist only if the user has (or had) a key that is not
 * active, or the event re-activates a key KeyWarden may have switched off. Otherwise a create costs Security Hub
 * nothing (its GetFindings budget is 3 requests/s per account): a lost resolving event is the sweep's to catch.
 */
function needsPrevious(request: CheckRequest, snapshot: UserSnapshot): boolean {
  const { trigger, expectation } = request;
  if (trigger.kind === 'sweep' || mayResolve(request)) return true;
  if (trigger.eventName === 'UpdateAccessKey' && expectation?.state === 'Active') return true;
  return snapshot.keys.some((key) => !isActive(key));
}

const NO_THREATS: ThreatOutcome = { findings: [], raised: undefined };

/**
 * The stored threat findings that belong to this user: those of a key IAM lists under it (a key id names one user,
 * whatever name the finding recorded before a rename), and those that name it.
 */
function ofUser(threats: ReadonlyMap<string, Finding>, snapshot: UserSnapshot): Map<string, Finding> {
  const name = snapshot.user.userName.toLowerCase();
  const listed = new Set(snapshot.keys.map((key) => key.accessKeyId));
  return new Map(
    [...threats].filter(
      ([accessKeyId, finding]) =>
        listed.has(accessKeyId) || finding.ProductFields?.[THREAT_USER_NAME_FIELD]?.toLowerCase() === name,
    ),
  );
}

/** The user's former name, when the check follows a rename that changes the finding's Id. */
function formerNameOf(account: AccountContext, request: CheckRequest): string | undefined {
  const from =
    request.renamedFrom ?? (request.trigger.kind === 'event' ? request.trigger.renamedFrom : undefined);
  if (from === undefined) return undefined;
  return findingIdFor(account.accountId, from) === findingIdFor(account.accountId, request.userName)
    ? undefined
    : from;
}

/** Who renamed the user, from the UpdateUser event's userIdentity; undefined when no rename event was seen. */
function renamerOf(trigger: Trigger): string | undefined {
  if (trigger.kind !== 'event' || trigger.renamedFrom === undefined) return undefined;
  return `${trigger.actorArn || 'an unknown principal'} (${trigger.actorType || 'Unknown'}) at ${trigger.eventTime || 'an unknown time'}`;
}

/** The keys as they are after the action: a write's own read, or the check's read when nothing was written. */
function keysAfterAction(action: ActionTaken, keys: readonly AccessKey[]): readonly AccessKey[] {
  return action.kind === 'deactivated' || action.kind === 'rolled-back' || action.kind === 'unconfirmed'
    ? action.keysAfter
    : keys;
}

async function checkUserNow(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  request: CheckRequest,
): Promise<CheckResult> {
  const { userName } = request;
  const findingId = findingIdFor(account.accountId, userName);
  const read: ConsistentRead =
    request.snapshot !== undefined
      ? { snapshot: request.snapshot ?? undefined, readAt: request.readAt ?? deps.clock(), satisfied: true }
      : await readConsistent(deps, userName, request.expectation, settings.consistencyRetries);
  const snapshot = read.snapshot === undefined ? undefined : await withLastUsed(deps.iam, read.snapshot);
  // Who the origins name does not change the verdict, only the key to keep: this first look decides the reads.
  const firstLook = evaluateUser(userName, snapshot, settings, read.readAt);
  const unconfirmed = read.satisfied ? undefined : request.expectation;

  if (firstLook.verdict === 'user-gone') {
    return {
      ...(await resolveGoneUser(deps, settings, account, request, findingId, read.readAt)),
      unconfirmed,
    };
  }

  // Identity from the event's userIdentity ARNs only (never the user agent); a sweep attributes nothing.
  const attribution: Attribution | undefined = attribute(
    request.trigger,
    request.expectation,
    userName,
    account.accountId,
    settings.trustedKeyIssuers ?? [],
  );
  const formerName = formerNameOf(account, request);
  const formerId = formerName === undefined ? undefined : findingIdFor(account.accountId, formerName);
  const readFormer = formerId !== undefined && request.formerFinding === undefined;
  const readPrevious =
    request.previousFinding === undefined &&
    firstLook.verdict === 'compliant' &&
    (formerId !== undefined || needsPrevious(request, firstLook.snapshot));
  // A rename event reads the threat findings of every key of the user, to make them name the user's new name.
  const threatKeys =
    formerId !== undefined && request.trigger.kind === 'event'
      ? firstLook.snapshot.keys.map((key) => key.accessKeyId)
      : threatKeysToRead(request.trigger, attribution, firstLook.activeKeys, settings.keepKey);
  let previous: Finding | undefined;
  let former = request.formerFinding;
  let storedThreats = new Map<string, Finding>();
  if ((threatKeys.length > 0 || readFormer) && request.previousFinding === undefined) {
    // One GetFindings for the user's finding and the threat findings (Security Hub allows 3 per second).
    const stored = await readStoredFindings(
      deps.findings,
      account,
      readPrevious ? findingId : undefined,
      threatKeys,
      readFormer ? formerId : undefined,
    );
    previous = stored.compliance;
    former = stored.former ?? former;
    storedThreats = stored.threats;
  } else {
    if (request.previousFinding !== undefined) previous = request.previousFinding ?? undefined;
    else if (readPrevious) previous = await deps.findings.getFinding(productArnFor(account), findingId);
    if (threatKeys.length > 0 || readFormer) {
      const stored = await readStoredFindings(
        deps.findings,
        account,
        undefined,
        threatKeys,
        readFormer ? formerId : undefined,
      );
      former = stored.former ?? former;
      storedThreats = stored.threats;
    }
  }
  storedThreats = ofUser(storedThreats, firstLook.snapshot);
  // A rename carries the former finding (and KeyWarden's record in it) to this name, unless this name has its own.
  const carried = former !== undefined && former.RecordState !== 'ARCHIVED' ? former : undefined;
  if (carried !== undefined && (previous === undefined || previous.RecordState === 'ARCHIVED')) {
    previous = carried;
  }
  const origins = originsOf(attribution, storedThreats, request.origins);
  const evidence = await exemptionEvidenceFor(
    deps,
    settings,
    request.trigger,
    firstLook.snapshot,
    read.readAt,
  );
  const evaluation = evaluateUser(userName, snapshot, settings, read.readAt, origins, evidence);
  if (evaluation.verdict === 'user-gone') throw new RangeError('unreachable: the user was read');

  // A sweep's re-import keeps the last real trigger of the stored finding.
  const trigger: Trigger =
    request.trigger.kind === 'sweep' && previous !== undefined
      ? { ...request.trigger, lastEvent: lastEventOf(previous) }
      : request.trigger;

  let action: ActionTaken = { kind: 'none' };
  let updatedAt = read.readAt;
  let outcome: CompliantOutcome | undefined;
  let write: boolean;
  if (evaluation.verdict === 'compliant') {
    // Nothing is done now; the finding keeps (or rebuilds) what KeyWarden recorded earlier.
    const record = readRecord(previous);
    outcome = compliantOutcome(record, evaluation.snapshot, trigger, read.readAt, attribution?.minter.kind);
    const stored = previous !== undefined && previous.RecordState !== 'ARCHIVED';
    // A compliant user's finding is PASSED; a re-activation not yet recorded is history worth writing down.
    const newlyReactivated = outcome.kind === 'reactivated' && record.reactivated === undefined;
    write =
      carried !== undefined ||
      (trigger.kind === 'sweep'
        ? stored
        : mayResolve(request) || (stored && (previous?.Compliance?.Status !== 'PASSED' || newlyReactivated)));
  } else {
    write = true;
    if (evaluation.verdict === 'violation') {
      const plan = planRemediation(evaluation, settings.remediationMode);
      if (plan.kind === 'deactivate') {
        const done = await deactivateVerified(
          deps,
          settings,
          account,
          evaluation,
          plan.keys,
          trigger,
          read.readAt,
          origins,
        );
        action = done.action;
        updatedAt = done.verifiedAt;
      } else {
        action = plan;
      }
    }
  }

  const finding = buildFinding({
    account,
    evaluation,
    action,
    trigger,
    updatedAt,
    outcome,
    origins,
    resolves: resolvedViolationOf(previous),
  });
  const formerFinding =
    carried === undefined || formerName === undefined
      ? undefined
      : buildRenamedFinding(
          carried,
          {
            from: formerName,
            to: evaluation.snapshot.user.userName,
            toArn: evaluation.snapshot.user.arn,
            continuedAs: findingId,
            by: renamerOf(request.trigger),
          },
          request.trigger,
          updatedAt,
        );
  // The threat findings follow the compliance finding's rule: UpdatedAt is when IAM showed the state reported.
  const threats =
    request.trigger.kind === 'event'
      ? decideThreats({
          account,
          trigger: request.trigger,
          attribution,
          stored: storedThreats,
          user: evaluation.snapshot.user,
          keysBefore: evaluation.snapshot.keys,
          keysAfter: keysAfterAction(action, evaluation.snapshot.keys),
          deactivatedByKeyWarden: new Set(
            action.kind === 'deactivated' ? action.keys.map((key) => key.accessKeyId) : [],
          ),
          now: updatedAt,
        })
      : NO_THREATS;
  const result = {
    userName: evaluation.snapshot.user.userName,
    verdict: evaluation.verdict,
    action,
    findingId,
    finding,
    evaluation,
    unconfirmed,
  };
  let written: CheckResult['written'] = 'none';
  let threatsWritten = false;
  if (settings.importFindings) {
    // Deferred imports are for the compliance finding (the sweep's batches); threat findings go at once.
    const deferred = write && settings.deferImports === true && !isWrite(action);
    // The former name's finding is archived in the same call that imports its continuation, never before it.
    const carriedNow = formerFinding !== undefined && write && !deferred ? [formerFinding] : [];
    const now = [...(write && !deferred ? [finding] : []), ...carriedNow, ...threats.findings];
    if (deferred) written = 'deferred';
    if (now.length > 0) {
      try {
        await deps.findings.importFindings(now);
        if (write && !deferred) written = 'imported';
        threatsWritten = true;
      } catch (error) {
        // The key is off but Security Hub does not say so yet: the recorded intent lets the next event or sweep
        // record it; the error carries the record to the logs and to the on-failure destination meanwhile.
        if (action.kind === 'deactivated') {
          const ids = action.keys.map((key) => key.accessKeyId);
          const reactivate = ids.map((id) => updateCommand(result.userName, id, 'Active')).join(' && ');
          throw new RemediationNotRecordedError(findingId, ids, action.at, reactivate, error);
        }
        throw error;
      }
    }
  }
  const threatResult = {
    threatFindings: threatsWritten ? threats.findings : [],
    threatRaised: threats.raised,
    ...(formerFinding !== undefined && write ? { formerFinding } : {}),
  };
  if (write) await notify(deps, account, evaluation, action, outcome, finding, previous);
  if (threats.raised !== undefined) {
    const notification = threatNotification(account, threats.raised);
    if (notification !== undefined) await deps.notifier?.notify(notification);
  }
  if (!write) return { ...result, ...threatResult, finding: undefined, written: 'none' };
  return { ...result, ...threatResult, written };
}

/**
 * Who set the user's exemption tag, when approvers are configured and the tag would exempt the user: the TagUser
 * event being handled when it set the value IAM shows, else CloudTrail's records. Undefined when nothing needs proof.
 */
async function exemptionEvidenceFor(
  deps: EngineDeps,
  settings: EngineSettings,
  trigger: Trigger,
  snapshot: UserSnapshot,
  now: Date,
): Promise<ExemptionEvidence | undefined> {
  if (!needsExemptionEvidence(snapshot, settings, now)) return undefined;
  const setting = trigger.kind === 'event' ? settingFromEvent(trigger, settings.exemptTag) : undefined;
  if (setting !== undefined) {
    const fromEvent: ExemptionEvidence = { kind: 'proven', setting };
    if (
      exemptionOf(snapshot, settings.exemptTag, now, { ...settings, evidence: fromEvent }).kind !==
      'not-proven'
    )
      return fromEvent;
  }
  if (deps.tagEvents === undefined) {
    return { kind: 'unproven', reason: 'KeyWarden was given no CloudTrail access to read who set it' };
  }
  return deps.tagEvents.exemptionEvidence(snapshot.user.userName, settings.exemptTag);
}

/** Actions that wrote to IAM in this run: their findings are imported at once, never deferred. */
const isWrite = (action: ActionTaken): boolean =>
  action.kind === 'deactivated' || action.kind === 'rolled-back' || action.kind === 'unconfirmed';

/**
 * Deactivates `keys`: records the intent in Security Hub first (so a lost outcome can be rebuilt from IAM), writes,
 * then reads the keys back. A write that leaves no key active (someone switched the kept key off meanwhile) is undone
 * at once; a key IAM still lists active after the re-reads is reported unconfirmed, never as deactivated.
 */
async function deactivateVerified(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  evaluation: Extract<Evaluation, { verdict: 'violation' }>,
  keys: readonly AccessKey[],
  trigger: Trigger,
  readAt: Date,
  origins: KeyOrigins,
): Promise<{ action: ActionTaken; verifiedAt: Date }> {
  const { userName } = evaluation.snapshot.user;
  if (settings.importFindings) {
    const since = deps.clock();
    const intent = buildFinding({
      account,
      evaluation,
      action: { kind: 'deactivating', keys, since },
      trigger,
      updatedAt: readAt,
      origins,
    });
    await deps.findings.importFindings([intent]);
  }
  for (const key of keys) await deps.iam.deactivate(userName, key.accessKeyId);

  let verifiedAt = deps.clock();
  let after = await deps.iam.listKeys(userName);
  let verification = verifyDeactivation(keys, after);
  // IAM is eventually consistent: a read right after the write may still show the key active.
  for (let attempt = 0; verification.kind === 'pending' && attempt < settings.consistencyRetries; attempt++) {
    await deps.sleep(CONSISTENCY_BACKOFF_MS * 2 ** attempt);
    verifiedAt = deps.clock();
    after = await deps.iam.listKeys(userName);
    verification = verifyDeactivation(keys, after);
  }
  switch (verification.kind) {
    case 'confirmed':
      return { action: { kind: 'deactivated', keys, at: verifiedAt, keysAfter: after ?? [] }, verifiedAt };
    case 'pending':
      return { action: { kind: 'unconfirmed', keys, keysAfter: after ?? [] }, verifiedAt };
    case 'user-gone':
      return { action: { kind: 'aborted', reason: 'the user was deleted meanwhile' }, verifiedAt };
    case 'no-active-key': {
      for (const key of keys) await deps.iam.reactivate(userName, key.accessKeyId);
      const checkedAt = deps.clock();
      const restoredKeys = (await deps.iam.listKeys(userName)) ?? [];
      const active = new Set(restoredKeys.filter(isActive).map((key) => key.accessKeyId));
      return {
        action: {
          kind: 'rolled-back',
          keys,
          at: checkedAt,
          keysAfter: restoredKeys,
          restored: keys.every((key) => active.has(key.accessKeyId)),
        },
        verifiedAt: checkedAt,
      };
    }
  }
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

async function resolveGoneUser(
  deps: EngineDeps,
  settings: EngineSettings,
  account: AccountContext,
  request: CheckRequest,
  findingId: string,
  readAt: Date,
): Promise<CheckResult> {
  const base = {
    userName: request.userName,
    verdict: 'user-gone' as const,
    action: { kind: 'none' } as const,
    findingId,
    evaluation: { verdict: 'user-gone' as const, userName: request.userName },
  };
  // A deletion or deactivation of a user that is gone by now: the event's key may hold a threat finding to archive.
  const threatKeys = threatKeysToRead(request.trigger, undefined, [], settings.keepKey);
  // Only a finding that exists can be archived; a user never reported needs nothing.
  let previous: Finding | undefined;
  let storedThreats = new Map<string, Finding>();
  if (request.previousFinding !== undefined) {
    previous = request.previousFinding ?? undefined;
    if (threatKeys.length > 0) storedThreats = await readThreatFindings(deps.findings, account, threatKeys);
  } else if (threatKeys.length > 0) {
    const stored = await readStoredFindings(deps.findings, account, findingId, threatKeys);
    previous = stored.compliance;
    storedThreats = stored.threats;
  } else {
    previous = await deps.findings.getFinding(productArnFor(account), findingId);
  }
  // IAM resolves names regardless of case, an emulator may not: archive only the findings stored under this exact
  // spelling, so a differently spelt event can never archive a live user's finding (the sweep archives the rest).
  const storedName = previous?.ProductFields?.[USER_NAME_FIELD];
  const archive =
    previous !== undefined &&
    previous.RecordState !== 'ARCHIVED' &&
    (storedName === undefined || storedName === request.userName);
  const threats =
    request.trigger.kind === 'event'
      ? decideThreats({
          account,
          trigger: request.trigger,
          attribution: undefined,
          stored: new Map(
            [...storedThreats].filter(
              ([, finding]) => finding.ProductFields?.[THREAT_USER_NAME_FIELD] === request.userName,
            ),
          ),
          user: undefined,
          keysBefore: [],
          keysAfter: [],
          deactivatedByKeyWarden: new Set(),
          now: readAt,
        })
      : NO_THREATS;
  const finding =
    archive && previous !== undefined
      ? buildArchivedFinding(previous, request.userName, request.trigger, readAt)
      : undefined;
  let written: CheckResult['written'] = 'none';
  if (settings.importFindings) {
    const deferred = finding !== undefined && settings.deferImports === true;
    const now = [...(finding !== undefined && !deferred ? [finding] : []), ...threats.findings];
    if (deferred) written = 'deferred';
    if (now.length > 0) {
      await deps.findings.importFindings(now);
      if (finding !== undefined && !deferred) written = 'imported';
    }
  }
  const threatFindings = settings.importFindings ? threats.findings : [];
  if (finding === undefined) return { ...base, finding: undefined, written: 'none', threatFindings };
  if (previous?.Compliance?.Status === 'FAILED') {
    await deps.notifier?.notify({
      outcome: 'Violation Resolved',
      detail: { accountId: account.accountId, userName: request.userName, findingId, reason: 'user deleted' },
    });
  }
  return { ...base, finding, written, threatFindings };
}

async function notify(
  deps: EngineDeps,
  account: AccountContext,
  evaluation: Exclude<Evaluation, { verdict: 'user-gone' }>,
  action: ActionTaken,
  outcome: CompliantOutcome | undefined,
  finding: Finding,
  previous: Finding | undefined,
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
  const ids = (keys: readonly AccessKey[]): string[] => keys.map((key) => key.accessKeyId);
  const wasFailing = previous?.Compliance?.Status === 'FAILED';
  let notification: Notification | undefined;
  if (action.kind === 'deactivated') {
    notification = {
      outcome: 'Key Deactivated',
      detail: { ...base, deactivatedAccessKeyIds: ids(action.keys), deactivatedAt: action.at.toISOString() },
    };
  } else if (action.kind === 'rolled-back') {
    notification = {
      outcome: 'Deactivation Rolled Back',
      detail: { ...base, reactivatedAccessKeyIds: ids(action.keys), restored: action.restored },
    };
  } else if (outcome?.kind === 'reactivated') {
    // Said once: a finding that already records the re-activation is not news.
    if (readRecord(previous).reactivated === undefined) {
      notification = {
        outcome: 'Deactivated Key Reactivated',
        detail: { ...base, reactivatedAccessKeyIds: ids(outcome.keys), reactivatedBy: outcome.by },
      };
    }
  } else if (evaluation.verdict === 'violation') {
    notification = { outcome: 'Violation Detected', detail: { ...base, action: action.kind } };
  } else if (evaluation.verdict === 'compliant' && wasFailing) {
    notification = { outcome: 'Violation Resolved', detail: base };
  }
  if (notification !== undefined) await deps.notifier.notify(notification);
}
