/**
 * Which reads a check needs beyond the user's own IAM read: the stored findings (in at most one Security Hub call)
 * and who set an exemption tag. The per-event call budget is decided here, before any call. Pure.
 */

import { iamEventRegionFor } from '../shared/constants.ts';
import type { KeyOrigins } from './attribution.ts';
import { type EvaluationPolicy, evaluateUser, exemptionOf, needsExemptionEvidence } from './evaluate.ts';
import { settingFromEvent } from './exemption-evidence.ts';
import { type Finding, findingIdFor } from './finding.ts';
import { type Attribution, attribute, threatKeysToRead } from './threat-decision.ts';
import {
  type AccountContext,
  type ExemptionEvidence,
  type Expectation,
  isActive,
  type Trigger,
  type UserSnapshot,
} from './types.ts';
import { type KeyUsageQuery, usageRegionsFor } from './usage-evidence.ts';

/** What a caller asks of a check, as the core needs it. */
export interface CheckInput {
  readonly userName: string;
  readonly trigger: Trigger;
  readonly expectation?: Expectation | undefined;
  /** The stored finding, when the caller already read it; `null`: known to hold no open finding (the sweep). */
  readonly previousFinding?: Finding | null | undefined;
  /** Who made which key usable, as the caller already knows it (the sweep, from open threat findings). */
  readonly origins?: KeyOrigins | undefined;
  /** The user's former name, when it was renamed (default: the UpdateUser event's). */
  readonly renamedFrom?: string | undefined;
  /** The finding under the former name, when the caller already read it (the sweep). */
  readonly formerFinding?: Finding | undefined;
}

export interface PlanSettings extends EvaluationPolicy {
  /** ARN patterns of the principals that hand out keys legitimately (TRUSTED_KEY_ISSUERS). */
  readonly trustedKeyIssuers?: readonly string[] | undefined;
}

/** The stored findings to read: none, the compliance finding alone (GetFinding), or one GetFindings. */
export type FindingsRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'get-finding'; readonly findingId: string }
  | {
      readonly kind: 'find-findings';
      readonly complianceId: string | undefined;
      readonly formerId: string | undefined;
      readonly threatKeys: readonly string[];
    };

/** Who set the exemption tag: not needed, proven by the event itself, or to be read from CloudTrail. */
export type EvidenceRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'known'; readonly evidence: ExemptionEvidence }
  | { readonly kind: 'cloudtrail' };

/** Where and by what the active keys of a violating user are used: nothing, or CloudTrail for these keys. */
export type UsageRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'cloudtrail'; readonly keys: readonly KeyUsageQuery[] };

export interface ReadPlan {
  readonly findings: FindingsRead;
  readonly exemption: EvidenceRead;
}

/**
 * The usage evidence to read, once the exemption's proof is known (an exemption it proves is no violation): a
 * violation's active keys, in the partition's IAM event region and each key's last-used region; anything else needs
 * none, so a compliant or exempt user costs no LookupEvents.
 */
export function planUsage(
  account: AccountContext,
  settings: PlanSettings,
  input: CheckInput,
  snapshot: UserSnapshot | undefined,
  readAt: Date,
  evidence: ExemptionEvidence | undefined,
): UsageRead {
  if (snapshot === undefined) return { kind: 'none' };
  const evaluation = evaluateUser(input.userName, snapshot, settings, readAt, input.origins, evidence);
  if (evaluation.verdict !== 'violation') return { kind: 'none' };
  const home = iamEventRegionFor(account.partition) ?? account.region;
  const keys = evaluation.activeKeys.map((key) => ({
    accessKeyId: key.accessKeyId,
    regions: usageRegionsFor(key, home),
  }));
  return { kind: 'cloudtrail', keys };
}

/** Whether the trigger can have lowered the number of active keys: a sweep, a deletion or a deactivation. */
export function mayResolve(input: Pick<CheckInput, 'trigger' | 'expectation'>): boolean {
  const { trigger, expectation } = input;
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
function needsPrevious(input: CheckInput, snapshot: UserSnapshot): boolean {
  const { trigger, expectation } = input;
  if (trigger.kind === 'sweep' || mayResolve(input)) return true;
  if (trigger.eventName === 'UpdateAccessKey' && expectation?.state === 'Active') return true;
  return snapshot.keys.some((key) => !isActive(key));
}

/** The user's former name, when the check follows a rename that changes the finding's Id. */
export function formerNameOf(accountId: string, input: CheckInput): string | undefined {
  const from = input.renamedFrom ?? (input.trigger.kind === 'event' ? input.trigger.renamedFrom : undefined);
  if (from === undefined) return undefined;
  return findingIdFor(accountId, from) === findingIdFor(accountId, input.userName) ? undefined : from;
}

/** Who made the event's key usable, from the event's userIdentity ARNs only; a sweep attributes nothing. */
export function attributionOf(
  account: AccountContext,
  settings: PlanSettings,
  input: CheckInput,
): Attribution | undefined {
  const trusted = settings.trustedKeyIssuers ?? [];
  return attribute(input.trigger, input.expectation, input.userName, account.accountId, trusted);
}

function findingsRead(
  complianceId: string | undefined,
  formerId: string | undefined,
  threatKeys: readonly string[],
): FindingsRead {
  // One GetFindings for all of them (Security Hub allows 3 per second); GetFinding when only the user's is needed.
  if (threatKeys.length > 0 || formerId !== undefined) {
    return { kind: 'find-findings', complianceId, formerId, threatKeys };
  }
  if (complianceId !== undefined) return { kind: 'get-finding', findingId: complianceId };
  return { kind: 'none' };
}

/**
 * Whether the exemption needs proof of who set the tag: the TagUser event being handled, when it set the value IAM
 * shows, else CloudTrail's records.
 */
export function exemptionRead(
  settings: EvaluationPolicy,
  trigger: Trigger,
  snapshot: UserSnapshot,
  now: Date,
): EvidenceRead {
  if (!needsExemptionEvidence(snapshot, settings, now)) return { kind: 'none' };
  const setting = trigger.kind === 'event' ? settingFromEvent(trigger, settings.exemptTag) : undefined;
  if (setting === undefined) return { kind: 'cloudtrail' };
  const evidence: ExemptionEvidence = { kind: 'proven', setting };
  const exemption = exemptionOf(snapshot, settings.exemptTag, now, { ...settings, evidence });
  return exemption.kind === 'not-proven' ? { kind: 'cloudtrail' } : { kind: 'known', evidence };
}

/**
 * The reads a check needs once IAM has shown the user (`snapshot` undefined: IAM does not know it). Only a compliant
 * user's finding can need reading (a violation's finding is written whatever it held); a rename reads the threat
 * findings of every key of the user, to make them name its new name.
 */
export function planReads(
  account: AccountContext,
  settings: PlanSettings,
  input: CheckInput,
  snapshot: UserSnapshot | undefined,
  readAt: Date,
): ReadPlan {
  const findingId = findingIdFor(account.accountId, input.userName);
  const known = input.previousFinding !== undefined;
  if (snapshot === undefined) {
    // A deletion or deactivation of a user that is gone by now: the event's key may hold a threat finding.
    const threatKeys = threatKeysToRead(input.trigger, undefined, [], settings.keepKey);
    return {
      findings: findingsRead(known ? undefined : findingId, undefined, threatKeys),
      exemption: { kind: 'none' },
    };
  }
  // Who the origins name does not change the verdict, only the key to keep: this first look decides the reads.
  const firstLook = evaluateUser(input.userName, snapshot, settings, readAt);
  const formerName = formerNameOf(account.accountId, input);
  const formerId =
    formerName !== undefined && input.formerFinding === undefined
      ? findingIdFor(account.accountId, formerName)
      : undefined;
  const readPrevious =
    !known &&
    firstLook.verdict === 'compliant' &&
    (formerName !== undefined || needsPrevious(input, snapshot));
  const threatKeys =
    formerName !== undefined && input.trigger.kind === 'event'
      ? snapshot.keys.map((key) => key.accessKeyId)
      : threatKeysToRead(
          input.trigger,
          attributionOf(account, settings, input),
          activeOf(firstLook),
          settings.keepKey,
        );
  return {
    findings: findingsRead(readPrevious ? findingId : undefined, formerId, threatKeys),
    exemption: exemptionRead(settings, input.trigger, snapshot, readAt),
  };
}

const activeOf = (evaluation: ReturnType<typeof evaluateUser>) =>
  evaluation.verdict === 'user-gone' ? [] : evaluation.activeKeys;
