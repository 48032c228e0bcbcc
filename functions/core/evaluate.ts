/** CIS AWS Foundations Benchmark v3.0.0 control 1.13: at most one active access key per IAM user. Pure. */

import { DEFAULTS, type KeepKeyStrategy } from '../shared/constants.ts';
import { firstArnLike } from './arn-like.ts';
import { type KeyOrigins, NO_KEY_ORIGINS } from './attribution.ts';
import {
  type AccessKey,
  type ExemptionEvidence,
  type ExemptionSetting,
  isActive,
  type UserSnapshot,
} from './types.ts';

export interface EvaluationPolicy {
  readonly keepKey: KeepKeyStrategy;
  readonly exemptTag: string;
  readonly rotationGraceHours: number;
  /** Days an exemption may last from when it was set (MAX_EXEMPTION_DAYS); default 90. */
  readonly maxExemptionDays?: number | undefined;
  /**
   * ARN patterns of the principals whose exemption is honoured (EXEMPTION_APPROVERS, matched as ArnLike); empty or
   * absent: anyone's is, and `true` is permanent.
   */
  readonly exemptionApprovers?: readonly string[] | undefined;
  /**
   * Hours a key's last use keeps it from being switched off (IN_USE_HOURS); absent or 0: no such protection. The
   * configuration's default is 24.
   */
  readonly inUseHours?: number | undefined;
}

/** An active key used within IN_USE_HOURS of the check. */
export interface KeyInUse {
  readonly key: AccessKey;
  /** When its window ends: from then on, if not used again, it is idle. */
  readonly idleFrom: Date;
  /**
   * False for a key another, untrusted principal made usable under KEEP_KEY=auto: its use is the intruder's, so it
   * is switched off all the same.
   */
  readonly protected: boolean;
}

/** The approver of an honoured exemption: who set it, and the EXEMPTION_APPROVERS pattern it matched. */
export interface ExemptionApproval {
  readonly setting: ExemptionSetting;
  readonly pattern: string;
}

/** Why an exemption tag that would exempt the user is refused: a HIGH finding for the first two. */
export type ExemptionRefusal =
  /** Set by a principal that matches no EXEMPTION_APPROVERS pattern. */
  | { readonly kind: 'not-approved'; readonly setting: ExemptionSetting }
  /** Approvers are configured, and who set the tag to its value could not be proven. */
  | { readonly kind: 'not-proven'; readonly reason: string }
  /** Its end lies more than MAX_EXEMPTION_DAYS after it was set. */
  | { readonly kind: 'invalid'; readonly reason: string };

export type Evaluation =
  | { readonly verdict: 'user-gone'; readonly userName: string }
  | {
      readonly verdict: 'compliant';
      readonly snapshot: UserSnapshot;
      readonly activeKeys: readonly AccessKey[];
    }
  | {
      readonly verdict: 'exempt';
      readonly snapshot: UserSnapshot;
      readonly activeKeys: readonly AccessKey[];
      readonly reason: string;
      /** End of a time-bound exemption; undefined when permanent. */
      readonly until?: Date | undefined;
      /** Set when approvers are configured: who set the exemption, proven. */
      readonly approval?: ExemptionApproval | undefined;
    }
  | {
      readonly verdict: 'violation';
      readonly snapshot: UserSnapshot;
      readonly activeKeys: readonly AccessKey[];
      readonly keyToKeep: AccessKey;
      readonly keysToDeactivate: readonly AccessKey[];
      /** Why `keyToKeep` was chosen, in words for the finding. */
      readonly keepReason: string;
      /** Set while the newest active key is younger than the rotation grace: remediation waits until then. */
      readonly graceUntil: Date | undefined;
      /** Why an exemption tag on the user does not apply (expired, or a value KeyWarden cannot read). */
      readonly exemptionIgnored?: string | undefined;
      /** Set when an exemption tag is refused for who set it, for being unproven, or for its end. */
      readonly exemptionRefused?: ExemptionRefusal | undefined;
      /** The active keys used within IN_USE_HOURS (none when the protection is off). */
      readonly inUse?: readonly KeyInUse[] | undefined;
    };

export type Verdict = Evaluation['verdict'];

const byCreateThenId = (a: AccessKey, b: AccessKey): number =>
  a.createDate.getTime() - b.createDate.getTime() || a.accessKeyId.localeCompare(b.accessKeyId);

const lastUsedTime = (key: AccessKey): number => key.lastUsed?.date?.getTime() ?? Number.NEGATIVE_INFINITY;

const HOUR_MS = 3_600_000;

/** When `key`'s in-use window ends, if it was used within `hours` of `now`; undefined when idle (or hours is 0). */
export function inUseUntil(key: AccessKey, hours: number, now: Date): Date | undefined {
  const used = key.lastUsed?.date;
  if (hours <= 0 || used === undefined) return undefined;
  const idleFrom = new Date(used.getTime() + hours * HOUR_MS);
  return idleFrom.getTime() > now.getTime() ? idleFrom : undefined;
}

/** The active keys in use at `now`; a key another principal made usable is unprotected under KEEP_KEY=auto. */
export function keysInUse(
  activeKeys: readonly AccessKey[],
  policy: Pick<EvaluationPolicy, 'inUseHours' | 'keepKey'>,
  now: Date,
  origins: KeyOrigins = NO_KEY_ORIGINS,
): KeyInUse[] {
  return activeKeys.flatMap((key) => {
    const idleFrom = inUseUntil(key, policy.inUseHours ?? 0, now);
    if (idleFrom === undefined) return [];
    const intruders =
      policy.keepKey === 'auto' && origins.get(key.accessKeyId)?.minter === 'another-principal';
    return [{ key, idleFrom, protected: !intruders }];
  });
}

/** Whether KEEP_KEY=auto finds the newest key made usable by another, untrusted principal. */
const newestFromAnother = (newest: AccessKey, origins: KeyOrigins): boolean =>
  origins.get(newest.accessKeyId)?.minter === 'another-principal';

/**
 * Picks the key to keep among two or more active keys, deterministically. `origins` says who made which key usable,
 * as far as KeyWarden saw it (only `auto` reads it).
 */
export function chooseKeyToKeep(
  activeKeys: readonly AccessKey[],
  strategy: KeepKeyStrategy,
  origins: KeyOrigins = NO_KEY_ORIGINS,
  inUse: readonly KeyInUse[] = [],
): { key: AccessKey; reason: string } {
  const ascending = [...activeKeys].sort(byCreateThenId);
  const oldest = ascending[0];
  const newest = ascending[ascending.length - 1];
  if (oldest === undefined || newest === undefined)
    throw new RangeError('chooseKeyToKeep needs at least one key');
  switch (strategy) {
    case 'newest':
      return { key: newest, reason: 'it is the newest active key (KEEP_KEY=newest)' };
    case 'oldest':
      return {
        key: oldest,
        reason:
          'it is the oldest active key, so a key created by someone else is the one switched off (KEEP_KEY=oldest)',
      };
    case 'auto': {
      const origin = origins.get(newest.accessKeyId);
      if (origin?.minter === 'another-principal' && oldest !== newest) {
        return {
          key: oldest,
          reason: `the newer key ${newest.accessKeyId} was ${origin.how} by ${origin.actorArn || 'an unknown caller'}, another principal that is not a trusted key issuer, so the older key is kept (KEEP_KEY=auto)`,
        };
      }
      // Exactly one key in use: an application runs on it, so it is the one to keep.
      const [only, ...more] = inUse;
      if (only?.protected && more.length === 0) {
        return {
          key: only.key,
          reason:
            'it is the only active key in use (used within IN_USE_HOURS), so it is kept (KEEP_KEY=auto)',
        };
      }
      return {
        key: newest,
        reason:
          'no newer key is known to come from another principal, so the newest is kept to finish a rotation (KEEP_KEY=auto)',
      };
    }
    case 'last-used': {
      // Never used counts as oldest; ties go to the newer key.
      const [key] = [...ascending].sort((a, b) => lastUsedTime(b) - lastUsedTime(a) || byCreateThenId(b, a));
      if (key === undefined) throw new RangeError('unreachable');
      return {
        key,
        reason:
          key.lastUsed?.date === undefined
            ? 'no active key was ever used, so the newest is kept (KEEP_KEY=last-used)'
            : 'it is the most recently used active key (KEEP_KEY=last-used)',
      };
    }
  }
}

/** What the exemption tag on a user says at `now`. */
export type Exemption =
  | { readonly kind: 'none' }
  | { readonly kind: 'permanent'; readonly approval?: ExemptionApproval | undefined }
  | { readonly kind: 'until'; readonly until: Date; readonly approval?: ExemptionApproval | undefined }
  | { readonly kind: 'expired'; readonly until: Date }
  | { readonly kind: 'malformed'; readonly value: string }
  | ({ readonly value: string } & ExemptionRefusal);

/** The exemption rules of {@link exemptionOf}: the cap, the approvers and what proves who set the tag. */
export interface ExemptionRules {
  readonly maxExemptionDays?: number | undefined;
  readonly exemptionApprovers?: readonly string[] | undefined;
  /** What CloudTrail proves about who set the tag; absent: nothing was read. */
  readonly evidence?: ExemptionEvidence | undefined;
}

// An ISO 8601 UTC or offset time with at least minutes, e.g. 2026-12-08T12:00:00Z; a date alone is ambiguous.
const EXEMPT_UNTIL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DAY_MS = 86_400_000;

/** The exemption tag's entry, its key matched regardless of case: IAM refuses two keys that differ only in case. */
function exemptionTagOf(snapshot: UserSnapshot, exemptTag: string): [string, string] | undefined {
  const wanted = exemptTag.toLowerCase();
  return Object.entries(snapshot.user.tags).find(([key]) => key.toLowerCase() === wanted);
}

/** The approver pattern the setter (or, for a role session, its role) matches. */
function approverOf(approvers: readonly string[], setting: ExemptionSetting): string | undefined {
  return (
    firstArnLike(approvers, setting.setterArn) ??
    (setting.setterIssuerArn ? firstArnLike(approvers, setting.setterIssuerArn) : undefined)
  );
}

/**
 * Reads the exemption tag: `true` (any case) or an ISO 8601 time; anything else exempts nobody (fail closed). An end
 * more than `maxExemptionDays` after the tag was set is invalid: without approvers the set time is unknown, and
 * `now` bounds it (it was set at `now` or before). With approvers, the exemption counts only when `evidence` proves
 * that an approver set the tag to its current value, and `true` then ends `maxExemptionDays` after it was set.
 */
export function exemptionOf(
  snapshot: UserSnapshot,
  exemptTag: string,
  now: Date,
  rules: ExemptionRules = {},
): Exemption {
  const entry = exemptionTagOf(snapshot, exemptTag);
  if (entry === undefined) return { kind: 'none' };
  const value = entry[1].trim();
  const permanent = value.toLowerCase() === 'true';
  const end = EXEMPT_UNTIL.test(value) ? new Date(value) : undefined;
  if (!permanent && (end === undefined || Number.isNaN(end.getTime())))
    return { kind: 'malformed', value: entry[1] };
  const tag: ExemptionTag = {
    exemptTag,
    value,
    end,
    maxDays: rules.maxExemptionDays ?? DEFAULTS.maxExemptionDays,
  };
  const approvers = rules.exemptionApprovers ?? [];
  return approvers.length === 0
    ? exemptionByAnyone(tag, now)
    : exemptionByApprover(tag, approvers, rules, now);
}

/** A readable exemption tag: its value, its end (undefined: `true`) and the cap on its length. */
interface ExemptionTag {
  readonly exemptTag: string;
  readonly value: string;
  readonly end: Date | undefined;
  readonly maxDays: number;
}

const tooFar = (tag: ExemptionTag, until: Date, from: string): Exemption => ({
  kind: 'invalid',
  value: tag.value,
  reason: `the ${tag.exemptTag} tag's end ${until.toISOString()} is more than MAX_EXEMPTION_DAYS (${tag.maxDays}) days ${from}, so it exempts nobody`,
});

/** Without approvers: `true` is permanent; an end is honoured up to the cap from `now` (the tag was set by then). */
function exemptionByAnyone(tag: ExemptionTag, now: Date): Exemption {
  if (tag.end === undefined) return { kind: 'permanent' };
  const until = tag.end;
  if (until.getTime() <= now.getTime()) return { kind: 'expired', until };
  if (until.getTime() > now.getTime() + tag.maxDays * DAY_MS) return tooFar(tag, until, 'away');
  return { kind: 'until', until };
}

/** With approvers: counts only when the evidence proves an approver set the tag to its current value. */
function exemptionByApprover(
  tag: ExemptionTag,
  approvers: readonly string[],
  rules: ExemptionRules,
  now: Date,
): Exemption {
  const { end, value, exemptTag } = tag;
  // Ended or too far out whenever it was set (it was set at now or before): nothing needs proving.
  if (end !== undefined && end.getTime() <= now.getTime()) return { kind: 'expired', until: end };
  if (end !== undefined && end.getTime() > now.getTime() + tag.maxDays * DAY_MS)
    return tooFar(tag, end, 'away');
  const evidence: ExemptionEvidence = rules.evidence ?? {
    kind: 'unproven',
    reason: 'CloudTrail was not read',
  };
  const unproven = `who set ${exemptTag}=${JSON.stringify(value.slice(0, 64))} could not be proven`;
  if (evidence.kind === 'unproven')
    return { kind: 'not-proven', value, reason: `${unproven}: ${evidence.reason}` };
  const { setting } = evidence;
  if (setting.value.trim() !== value) {
    return {
      kind: 'not-proven',
      value,
      reason: `${unproven}: the newest TagUser of it (event ${setting.eventId} by ${setting.setterArn} at ${setting.setAt.toISOString()}) set ${JSON.stringify(setting.value.slice(0, 64))}`,
    };
  }
  const pattern = approverOf(approvers, setting);
  if (pattern === undefined) return { kind: 'not-approved', value, setting };
  const latest = new Date(setting.setAt.getTime() + tag.maxDays * DAY_MS);
  const until = end ?? latest;
  if (until.getTime() > latest.getTime())
    return tooFar(tag, until, `after it was set at ${setting.setAt.toISOString()}`);
  if (until.getTime() <= now.getTime()) return { kind: 'expired', until };
  return { kind: 'until', until, approval: { setting, pattern } };
}

/** Whether the exemption tag exempts the user at `now` (without approvers, with the default cap). */
export function isExempt(snapshot: UserSnapshot, exemptTag: string, now: Date): boolean {
  const exemption = exemptionOf(snapshot, exemptTag, now);
  return exemption.kind === 'permanent' || exemption.kind === 'until';
}

/**
 * Whether deciding the user's exemption needs proof of who set the tag: approvers are configured, the user has more
 * than one active key, and the tag would exempt it if an approver set it.
 */
export function needsExemptionEvidence(snapshot: UserSnapshot, policy: EvaluationPolicy, now: Date): boolean {
  if ((policy.exemptionApprovers ?? []).length === 0) return false;
  if (snapshot.keys.filter(isActive).length <= 1) return false;
  return exemptionOf(snapshot, policy.exemptTag, now, policy).kind === 'not-proven';
}

function describeRefusal(refusal: ExemptionRefusal, exemptTag: string): string {
  switch (refusal.kind) {
    case 'not-approved':
      return `the ${exemptTag} tag was set by ${refusal.setting.setterArn || 'an unknown principal'} (${refusal.setting.setterType || 'Unknown'}) at ${refusal.setting.setAt.toISOString()}, who is not an exemption approver (EXEMPTION_APPROVERS), so it exempts nobody`;
    case 'not-proven':
      return `${refusal.reason}, so it exempts nobody`;
    case 'invalid':
      return refusal.reason;
  }
}

/** Evaluates one user's live state. `snapshot` undefined means IAM says the user does not exist. */
export function evaluateUser(
  userName: string,
  snapshot: UserSnapshot | undefined,
  policy: EvaluationPolicy,
  now: Date,
  origins: KeyOrigins = NO_KEY_ORIGINS,
  evidence?: ExemptionEvidence,
): Evaluation {
  if (snapshot === undefined) return { verdict: 'user-gone', userName };
  const activeKeys = [...snapshot.keys.filter(isActive)].sort(byCreateThenId);
  if (activeKeys.length <= 1) return { verdict: 'compliant', snapshot, activeKeys };
  const exemption = exemptionOf(snapshot, policy.exemptTag, now, { ...policy, evidence });
  if (exemption.kind === 'permanent' || exemption.kind === 'until') {
    return {
      verdict: 'exempt',
      snapshot,
      activeKeys,
      reason:
        exemption.kind === 'permanent'
          ? `user is tagged ${policy.exemptTag}=true, so KeyWarden reports but never changes its keys`
          : exemption.approval !== undefined &&
              exemption.approval.setting.value.trim().toLowerCase() === 'true'
            ? `user is tagged ${policy.exemptTag}=true, set at ${exemption.approval.setting.setAt.toISOString()}; with exemption approvers true lasts MAX_EXEMPTION_DAYS, so KeyWarden reports but does not change its keys until then (${exemption.until.toISOString()})`
            : `user is tagged ${policy.exemptTag}=${exemption.until.toISOString()}, so KeyWarden reports but does not change its keys until then`,
      until: exemption.kind === 'until' ? exemption.until : undefined,
      ...(exemption.approval ? { approval: exemption.approval } : {}),
    };
  }
  const inUse = keysInUse(activeKeys, policy, now, origins);
  const { key: keyToKeep, reason: keepReason } = chooseKeyToKeep(activeKeys, policy.keepKey, origins, inUse);
  const newest = activeKeys[activeKeys.length - 1] as AccessKey;
  // The grace is for rotations; a key another principal minted is no rotation.
  const rotation = !(policy.keepKey === 'auto' && newestFromAnother(newest, origins));
  const graceEnds = new Date(newest.createDate.getTime() + policy.rotationGraceHours * 3_600_000);
  return {
    verdict: 'violation',
    snapshot,
    activeKeys,
    keyToKeep,
    keysToDeactivate: activeKeys.filter((key) => key.accessKeyId !== keyToKeep.accessKeyId),
    keepReason,
    // No grace configured means none: a key dated slightly ahead of this clock (skew) must not postpone.
    graceUntil:
      rotation && policy.rotationGraceHours > 0 && graceEnds.getTime() > now.getTime()
        ? graceEnds
        : undefined,
    exemptionIgnored: whyNotExempt(exemption, policy.exemptTag),
    ...(exemption.kind === 'not-approved' || exemption.kind === 'not-proven' || exemption.kind === 'invalid'
      ? { exemptionRefused: refusalOf(exemption) }
      : {}),
    ...(inUse.length > 0 ? { inUse } : {}),
  };
}

/** Why a tag that is there exempts nobody, for the finding; undefined when no exemption tag counts. */
function whyNotExempt(exemption: ReturnType<typeof exemptionOf>, tag: string): string | undefined {
  if (exemption.kind === 'expired') return `the exemption (${tag}) ended at ${exemption.until.toISOString()}`;
  if (exemption.kind === 'malformed')
    return `the ${tag} tag's value ${JSON.stringify(exemption.value.slice(0, 64))} is neither true nor an ISO 8601 time, so it exempts nothing`;
  if (exemption.kind === 'not-approved' || exemption.kind === 'not-proven' || exemption.kind === 'invalid')
    return describeRefusal(exemption, tag);
  return undefined;
}

function refusalOf(exemption: ExemptionRefusal): ExemptionRefusal {
  switch (exemption.kind) {
    case 'not-approved':
      return { kind: 'not-approved', setting: exemption.setting };
    case 'not-proven':
      return { kind: 'not-proven', reason: exemption.reason };
    case 'invalid':
      return { kind: 'invalid', reason: exemption.reason };
  }
}
