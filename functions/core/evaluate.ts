/** CIS AWS Foundations Benchmark v3.0.0 control 1.13: at most one active access key per IAM user. Pure. */

import type { KeepKeyStrategy } from '../shared/constants.ts';
import { type KeyOrigins, NO_KEY_ORIGINS } from './attribution.ts';
import { type AccessKey, isActive, type UserSnapshot } from './types.ts';

export interface EvaluationPolicy {
  readonly keepKey: KeepKeyStrategy;
  readonly exemptTag: string;
  readonly rotationGraceHours: number;
}

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
    };

export type Verdict = Evaluation['verdict'];

const byCreateThenId = (a: AccessKey, b: AccessKey): number =>
  a.createDate.getTime() - b.createDate.getTime() || a.accessKeyId.localeCompare(b.accessKeyId);

const lastUsedTime = (key: AccessKey): number => key.lastUsed?.date?.getTime() ?? Number.NEGATIVE_INFINITY;

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
  | { readonly kind: 'permanent' }
  | { readonly kind: 'until'; readonly until: Date }
  | { readonly kind: 'expired'; readonly until: Date }
  | { readonly kind: 'malformed'; readonly value: string };

// An ISO 8601 UTC or offset time with at least minutes, e.g. 2026-12-08T12:00:00Z; a date alone is ambiguous.
const EXEMPT_UNTIL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads the exemption tag: `true` (any case) exempts for good, an ISO 8601 time exempts until then, anything else
 * exempts nobody (fail closed). The key matches regardless of case: IAM refuses two tag keys that differ only in case.
 */
export function exemptionOf(snapshot: UserSnapshot, exemptTag: string, now: Date): Exemption {
  const wanted = exemptTag.toLowerCase();
  const entry = Object.entries(snapshot.user.tags).find(([key]) => key.toLowerCase() === wanted);
  if (entry === undefined) return { kind: 'none' };
  const value = entry[1].trim();
  if (value.toLowerCase() === 'true') return { kind: 'permanent' };
  const until = EXEMPT_UNTIL.test(value) ? new Date(value) : undefined;
  if (until === undefined || Number.isNaN(until.getTime())) return { kind: 'malformed', value: entry[1] };
  return until.getTime() > now.getTime() ? { kind: 'until', until } : { kind: 'expired', until };
}

/** Whether the exemption tag exempts the user at `now`. */
export function isExempt(snapshot: UserSnapshot, exemptTag: string, now: Date): boolean {
  const exemption = exemptionOf(snapshot, exemptTag, now);
  return exemption.kind === 'permanent' || exemption.kind === 'until';
}

/** Evaluates one user's live state. `snapshot` undefined means IAM says the user does not exist. */
export function evaluateUser(
  userName: string,
  snapshot: UserSnapshot | undefined,
  policy: EvaluationPolicy,
  now: Date,
  origins: KeyOrigins = NO_KEY_ORIGINS,
): Evaluation {
  if (snapshot === undefined) return { verdict: 'user-gone', userName };
  const activeKeys = [...snapshot.keys.filter(isActive)].sort(byCreateThenId);
  if (activeKeys.length <= 1) return { verdict: 'compliant', snapshot, activeKeys };
  const exemption = exemptionOf(snapshot, policy.exemptTag, now);
  if (exemption.kind === 'permanent' || exemption.kind === 'until') {
    return {
      verdict: 'exempt',
      snapshot,
      activeKeys,
      reason:
        exemption.kind === 'permanent'
          ? `user is tagged ${policy.exemptTag}=true, so KeyWarden reports but never changes its keys`
          : `user is tagged ${policy.exemptTag}=${exemption.until.toISOString()}, so KeyWarden reports but does not change its keys until then`,
      until: exemption.kind === 'until' ? exemption.until : undefined,
    };
  }
  const { key: keyToKeep, reason: keepReason } = chooseKeyToKeep(activeKeys, policy.keepKey, origins);
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
    exemptionIgnored:
      exemption.kind === 'expired'
        ? `the exemption (${policy.exemptTag}) ended at ${exemption.until.toISOString()}`
        : exemption.kind === 'malformed'
          ? `the ${policy.exemptTag} tag's value ${JSON.stringify(exemption.value.slice(0, 64))} is neither true nor an ISO 8601 time, so it exempts nothing`
          : undefined,
  };
}
