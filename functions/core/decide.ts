/**
 * The decision of one check, from what was read: the verdict, the IAM writes to make, the findings to import and the
 * notifications to send. `decide` returns it; when it calls for an IAM write, `recordOutcome` builds the findings
 * from what the write's proof read showed. Pure: the engine (engine/check-user.ts) performs what these return.
 */

import type { RemediationMode } from '../shared/constants.ts';
import type { KeyOrigins } from './attribution.ts';
import { type Evaluation, evaluateUser } from './evaluate.ts';
import {
  buildArchivedFinding,
  buildFinding,
  buildRenamedFinding,
  type Finding,
  findingIdFor,
  USER_NAME_FIELD,
} from './finding.ts';
import {
  complianceNotification,
  type Notification,
  threatNotification,
  userGoneNotification,
} from './notification.ts';
import { attributionOf, type CheckInput, formerNameOf, mayResolve, type PlanSettings } from './read-plan.ts';
import {
  type CompliantOutcome,
  compliantOutcome,
  lastEventOf,
  readRecord,
  resolvedViolationOf,
} from './record.ts';
import { type ActionTaken, planRemediation } from './remediation.ts';
import {
  type Attribution,
  decideThreats,
  NO_THREATS,
  originsOf,
  type ThreatOutcome,
  threatsOfUser,
} from './threat-decision.ts';
import { THREAT_USER_NAME_FIELD } from './threat-finding.ts';
import type { AccessKey, AccountContext, ExemptionEvidence, Trigger, UserSnapshot } from './types.ts';
import type { UsageEvidence } from './usage-evidence.ts';

export interface DecisionSettings extends PlanSettings {
  readonly remediationMode: RemediationMode;
}

/** What the check read: IAM's state of the user, and what the read plan asked of Security Hub and CloudTrail. */
export interface Reads {
  /** Undefined: IAM does not know the user. */
  readonly snapshot: UserSnapshot | undefined;
  /** When the read that produced `snapshot` began. */
  readonly readAt: Date;
  /** The user's stored finding, when it was read and exists. */
  readonly compliance: Finding | undefined;
  /** The finding under the user's former name, when it was read and exists. */
  readonly former: Finding | undefined;
  /** Stored threat findings, by access key id. */
  readonly threats: ReadonlyMap<string, Finding>;
  readonly evidence: ExemptionEvidence | undefined;
  /** Where and by what a violating user's active keys are used, when the plan asked for it (best effort). */
  readonly usage?: UsageEvidence | undefined;
}

export interface DecisionInput {
  readonly account: AccountContext;
  readonly settings: DecisionSettings;
  readonly request: CheckInput;
  readonly reads: Reads;
}

/** What a check imports and sends, once any IAM write is done. */
export interface Effects {
  readonly findingId: string;
  readonly evaluation: Evaluation;
  readonly action: ActionTaken;
  /** The compliance finding, imported only when `write`. */
  readonly finding: Finding | undefined;
  readonly write: boolean;
  /** The finding under the former name, archived and pointing to `findingId`; imported with `finding`. */
  readonly formerFinding: Finding | undefined;
  /** Threat findings to import (always at once), and the one raised. */
  readonly threats: ThreatOutcome;
  readonly notifications: readonly Notification[];
  /** The usage evidence the finding and the notification carry. */
  readonly usage?: UsageEvidence | undefined;
}

/** A check of a user IAM knows, up to the action: what `recordOutcome` needs to build the findings. */
export interface CheckedState {
  readonly account: AccountContext;
  readonly findingId: string;
  readonly evaluation: Exclude<Evaluation, { verdict: 'user-gone' }>;
  /** The trigger as the finding records it (a sweep keeps the stored finding's last event). */
  readonly trigger: Trigger;
  /** The trigger as it came (the threat findings and a rename are the event's). */
  readonly requestTrigger: Trigger;
  readonly attribution: Attribution | undefined;
  readonly origins: KeyOrigins;
  readonly previous: Finding | undefined;
  /** The former name's finding, carried to this name (a rename). */
  readonly carried: Finding | undefined;
  readonly formerName: string | undefined;
  readonly outcome: CompliantOutcome | undefined;
  readonly storedThreats: ReadonlyMap<string, Finding>;
  readonly readAt: Date;
  readonly write: boolean;
  readonly usage?: UsageEvidence | undefined;
}

export type Violation = Extract<Evaluation, { verdict: 'violation' }>;

export type Decision =
  /** Nothing to write to IAM: import and notify `effects`. */
  | { readonly kind: 'record'; readonly effects: Effects }
  /** Deactivate `keys` (intent recorded before, proof read after), then `recordOutcome`. */
  | {
      readonly kind: 'deactivate';
      readonly keys: readonly AccessKey[];
      readonly state: CheckedState & { readonly evaluation: Violation };
    };

/** The action as the write's proof read showed it, and when IAM showed that state. */
export interface ActionDone {
  readonly action: ActionTaken;
  readonly updatedAt: Date;
}

/** Decides one check from what was read. */
export function decide(input: DecisionInput): Decision {
  const { account, settings, request, reads } = input;
  const findingId = findingIdFor(account.accountId, request.userName);
  if (reads.snapshot === undefined) return { kind: 'record', effects: userGone(input, findingId) };
  const state = checkedState(input, findingId, reads.snapshot);
  const { evaluation } = state;
  if (evaluation.verdict !== 'violation') {
    return {
      kind: 'record',
      effects: recordOutcome(state, { action: { kind: 'none' }, updatedAt: reads.readAt }),
    };
  }
  const plan = planRemediation(evaluation, settings.remediationMode, settings.inUseHours ?? 0);
  if (plan.kind === 'deactivate')
    return { kind: 'deactivate', keys: plan.keys, state: { ...state, evaluation } };
  return { kind: 'record', effects: recordOutcome(state, { action: plan, updatedAt: reads.readAt }) };
}

/** The stored finding this check continues: the caller's, else the one read; a rename carries the former one. */
function previousOf(request: CheckInput, reads: Reads): { previous?: Finding; carried?: Finding } {
  const own =
    request.previousFinding !== undefined ? (request.previousFinding ?? undefined) : reads.compliance;
  const former = request.formerFinding ?? reads.former;
  const carried = former !== undefined && former.RecordState !== 'ARCHIVED' ? former : undefined;
  // A rename carries the former finding (and KeyWarden's record in it) to this name, unless this name has its own.
  if (carried !== undefined && (own === undefined || own.RecordState === 'ARCHIVED')) {
    return { previous: carried, carried };
  }
  return { ...(own !== undefined ? { previous: own } : {}), ...(carried !== undefined ? { carried } : {}) };
}

function checkedState(input: DecisionInput, findingId: string, snapshot: UserSnapshot): CheckedState {
  const { account, settings, request, reads } = input;
  const attribution = attributionOf(account, settings, request);
  const storedThreats = threatsOfUser(reads.threats, snapshot);
  const { previous, carried } = previousOf(request, reads);
  const origins = originsOf(attribution, storedThreats, request.origins);
  const evaluation = evaluateUser(
    request.userName,
    snapshot,
    settings,
    reads.readAt,
    origins,
    reads.evidence,
  );
  if (evaluation.verdict === 'user-gone') throw new RangeError('unreachable: the user was read');
  // A sweep's re-import keeps the last real trigger of the stored finding.
  const trigger: Trigger =
    request.trigger.kind === 'sweep' && previous !== undefined
      ? { ...request.trigger, lastEvent: lastEventOf(previous) }
      : request.trigger;
  // Nothing is done now for a compliant user; the finding keeps (or rebuilds) what KeyWarden recorded earlier.
  const outcome =
    evaluation.verdict === 'compliant'
      ? compliantOutcome(
          readRecord(previous),
          evaluation.snapshot,
          trigger,
          reads.readAt,
          attribution?.minter.kind,
        )
      : undefined;
  const base = {
    account,
    findingId,
    evaluation,
    trigger,
    requestTrigger: request.trigger,
    attribution,
    origins,
  };
  return {
    ...base,
    previous,
    carried,
    formerName: formerNameOf(account.accountId, request),
    outcome,
    storedThreats,
    readAt: reads.readAt,
    write: outcome === undefined || writesCompliant(request, trigger, previous, carried, outcome),
    ...(reads.usage !== undefined ? { usage: reads.usage } : {}),
  };
}

/** Whether a compliant user's finding is written: PASSED, and a re-activation not yet recorded is history. */
function writesCompliant(
  request: CheckInput,
  trigger: Trigger,
  previous: Finding | undefined,
  carried: Finding | undefined,
  outcome: CompliantOutcome,
): boolean {
  if (carried !== undefined) return true;
  const stored = previous !== undefined && previous.RecordState !== 'ARCHIVED';
  if (trigger.kind === 'sweep') return stored;
  const newlyReactivated = outcome.kind === 'reactivated' && readRecord(previous).reactivated === undefined;
  return mayResolve(request) || (stored && (previous?.Compliance?.Status !== 'PASSED' || newlyReactivated));
}

/** The keys as they are after the action: a write's own read, or the check's read when nothing was written. */
function keysAfterAction(action: ActionTaken, keys: readonly AccessKey[]): readonly AccessKey[] {
  return action.kind === 'deactivated' || action.kind === 'rolled-back' || action.kind === 'unconfirmed'
    ? action.keysAfter
    : keys;
}

/** Who renamed the user, from the UpdateUser event's userIdentity; undefined when no rename event was seen. */
function renamerOf(trigger: Trigger): string | undefined {
  if (trigger.kind !== 'event' || trigger.renamedFrom === undefined) return undefined;
  return `${trigger.actorArn || 'an unknown principal'} (${trigger.actorType || 'Unknown'}) at ${trigger.eventTime || 'an unknown time'}`;
}

/** The archived finding under the former name, saying where it went. */
function formerFindingOf(state: CheckedState, updatedAt: Date): Finding | undefined {
  const { carried, formerName, evaluation } = state;
  if (carried === undefined || formerName === undefined) return undefined;
  const { user } = evaluation.snapshot;
  const rename = {
    from: formerName,
    to: user.userName,
    toArn: user.arn,
    continuedAs: state.findingId,
    by: renamerOf(state.requestTrigger),
  };
  return buildRenamedFinding(carried, rename, state.requestTrigger, updatedAt);
}

/** The threat findings of a checked user; the threat findings follow the compliance finding's UpdatedAt rule. */
function threatsOf(state: CheckedState, { action, updatedAt }: ActionDone): ThreatOutcome {
  const { requestTrigger: trigger, evaluation } = state;
  if (trigger.kind !== 'event') return NO_THREATS;
  const deactivated = action.kind === 'deactivated' ? action.keys.map((key) => key.accessKeyId) : [];
  return decideThreats({
    account: state.account,
    trigger,
    attribution: state.attribution,
    stored: state.storedThreats,
    user: evaluation.snapshot.user,
    keysBefore: evaluation.snapshot.keys,
    keysAfter: keysAfterAction(action, evaluation.snapshot.keys),
    deactivatedByKeyWarden: new Set(deactivated),
    now: updatedAt,
  });
}

/** The findings and notifications of a checked user, once the action is known (UpdatedAt: when IAM showed it). */
export function recordOutcome(state: CheckedState, done: ActionDone): Effects {
  const { account, evaluation, outcome, previous, write, usage } = state;
  const { action, updatedAt } = done;
  const finding = buildFinding({
    account,
    evaluation,
    action,
    trigger: state.trigger,
    updatedAt,
    outcome,
    origins: state.origins,
    resolves: resolvedViolationOf(previous),
    usage,
  });
  const threats = threatsOf(state, done);
  const change = { account, evaluation, action, outcome, finding, previous, usage };
  const notifications = [
    write ? complianceNotification(change) : undefined,
    threats.raised === undefined ? undefined : threatNotification(account, threats.raised),
  ].filter((notification): notification is Notification => notification !== undefined);
  const formerFinding = formerFindingOf(state, updatedAt);
  return {
    findingId: state.findingId,
    evaluation,
    action,
    finding,
    write,
    formerFinding,
    threats,
    notifications,
    ...(usage !== undefined ? { usage } : {}),
  };
}

/** The finding that records the intent to deactivate `keys`, imported before the write. */
export function intentFinding(
  state: CheckedState & { readonly evaluation: Violation },
  keys: readonly AccessKey[],
  since: Date,
): Finding {
  return buildFinding({
    account: state.account,
    evaluation: state.evaluation,
    action: { kind: 'deactivating', keys, since },
    trigger: state.trigger,
    updatedAt: state.readAt,
    origins: state.origins,
    usage: state.usage,
  });
}

/**
 * A user IAM no longer knows: its stored finding is archived, and the event's key may hold a threat finding to
 * resolve. IAM resolves names regardless of case, an emulator may not: only the findings stored under this exact
 * spelling are archived, so a differently spelt event can never archive a live user's (the sweep archives the rest).
 */
function userGone(input: DecisionInput, findingId: string): Effects {
  const { account, request, reads } = input;
  const { userName, trigger } = request;
  const previous =
    request.previousFinding !== undefined ? (request.previousFinding ?? undefined) : reads.compliance;
  const storedName = previous?.ProductFields?.[USER_NAME_FIELD];
  const archive =
    previous !== undefined &&
    previous.RecordState !== 'ARCHIVED' &&
    (storedName === undefined || storedName === userName);
  const finding = archive ? buildArchivedFinding(previous, userName, trigger, reads.readAt) : undefined;
  const stored = new Map(
    [...reads.threats].filter(([, threat]) => threat.ProductFields?.[THREAT_USER_NAME_FIELD] === userName),
  );
  const threats =
    trigger.kind === 'event'
      ? decideThreats({
          account,
          trigger,
          attribution: undefined,
          stored,
          user: undefined,
          keysBefore: [],
          keysAfter: [],
          deactivatedByKeyWarden: new Set(),
          now: reads.readAt,
        })
      : NO_THREATS;
  const wasFailing = finding !== undefined && previous?.Compliance?.Status === 'FAILED';
  const notifications = wasFailing ? [userGoneNotification(account, userName, findingId)] : [];
  const evaluation: Evaluation = { verdict: 'user-gone', userName };
  const action: ActionTaken = { kind: 'none' };
  return {
    findingId,
    evaluation,
    action,
    finding,
    write: finding !== undefined,
    formerFinding: undefined,
    threats,
    notifications,
  };
}

/** Actions that wrote to IAM in this run: their findings are imported at once, never deferred. */
export const wroteToIam = (action: ActionTaken): boolean =>
  action.kind === 'deactivated' || action.kind === 'rolled-back' || action.kind === 'unconfirmed';

/** What to import now, and what the result says of the compliance finding. */
export interface Imports {
  readonly now: readonly Finding[];
  /** `deferred`: the caller imports the compliance finding (and the former one) itself, in batches. */
  readonly written: 'imported' | 'deferred' | 'none';
}

/**
 * The findings to import now: threat findings always at once; the compliance finding (with the former name's,
 * archived in the same call that imports its continuation, never before it) unless the caller defers it, which it
 * may not after an IAM write, so a deactivation is never left unrecorded for a batch.
 */
export function importsOf(effects: Effects, deferImports: boolean): Imports {
  const { write, finding, formerFinding } = effects;
  const deferred = write && deferImports && !wroteToIam(effects.action);
  const compliance = write && !deferred ? [finding, formerFinding] : [];
  const now = [...compliance.filter((f): f is Finding => f !== undefined), ...effects.threats.findings];
  return { now, written: deferred ? 'deferred' : write ? 'imported' : 'none' };
}
