/** What to do about a violation under the configured mode. Pure. */

import type { RemediationMode } from '../shared/constants.ts';
import type { Evaluation, KeyInUse } from './evaluate.ts';
import type { AccessKey } from './types.ts';

/**
 * Nothing switched off because a key to switch off is in use (`key`), or every active key is (`all`): `uses` are
 * the keys in use that hold it back (`all`: every active key), `lookAgainAt` when the check next can act (`key`: when
 * the last of them idles; `all`: when the first does), `hours` the window (IN_USE_HOURS).
 */
export interface InUse {
  readonly kind: 'in-use';
  readonly scope: 'key' | 'all';
  readonly uses: readonly KeyInUse[];
  readonly lookAgainAt: Date;
  readonly hours: number;
  /** A dry run: what a deactivating check would not do. */
  readonly dryRun: boolean;
}

export type Plan =
  | { readonly kind: 'none' }
  | { readonly kind: 'postponed'; readonly until: Date }
  | InUse
  | { readonly kind: 'dry-run'; readonly keys: readonly AccessKey[] }
  | { readonly kind: 'deactivate'; readonly keys: readonly AccessKey[] };

/** The action taken, as the finding reports it. */
export type ActionTaken =
  | { readonly kind: 'none' }
  | { readonly kind: 'postponed'; readonly until: Date }
  | InUse
  | { readonly kind: 'dry-run'; readonly keys: readonly AccessKey[] }
  /** The intent, recorded in Security Hub before the write, so a lost outcome can be rebuilt. */
  | { readonly kind: 'deactivating'; readonly keys: readonly AccessKey[]; readonly since: Date }
  /** Deactivated, as a read after the write confirmed (`keysAfter` is that read). */
  | {
      readonly kind: 'deactivated';
      readonly keys: readonly AccessKey[];
      readonly at: Date;
      readonly keysAfter: readonly AccessKey[];
    }
  /** The write left the user with no active key (someone changed the keys at the same time): undone. */
  | {
      readonly kind: 'rolled-back';
      readonly keys: readonly AccessKey[];
      readonly at: Date;
      readonly keysAfter: readonly AccessKey[];
      /** False when the re-read did not show the keys active again. */
      readonly restored: boolean;
    }
  /** IAM did not confirm the deactivation (still listed active after the re-reads). */
  | {
      readonly kind: 'unconfirmed';
      readonly keys: readonly AccessKey[];
      readonly keysAfter: readonly AccessKey[];
    }
  /** The keys changed between the evaluation and the write; nothing was written. */
  | { readonly kind: 'aborted'; readonly reason: string };

const time = (date: Date): number => date.getTime();

/**
 * What a check does about a violation: nothing (detect only), wait out the rotation grace, hold back because a key
 * to switch off is in use, or switch the surplus keys off (dry run: say so). `inUseHours` is IN_USE_HOURS.
 */
export function planRemediation(evaluation: Evaluation, mode: RemediationMode, inUseHours = 0): Plan {
  if (evaluation.verdict !== 'violation' || mode === 'off') return { kind: 'none' };
  if (evaluation.graceUntil !== undefined) return { kind: 'postponed', until: evaluation.graceUntil };
  const inUse = evaluation.inUse ?? [];
  const surplus = new Set(evaluation.keysToDeactivate.map((key) => key.accessKeyId));
  const holding = inUse.filter((use) => use.protected && surplus.has(use.key.accessKeyId));
  if (holding.length > 0) {
    const all = evaluation.activeKeys.every((key) =>
      inUse.some((use) => use.key.accessKeyId === key.accessKeyId),
    );
    const uses = all ? inUse : holding;
    const ends = uses.map((use) => time(use.idleFrom));
    return {
      kind: 'in-use',
      scope: all ? 'all' : 'key',
      uses,
      lookAgainAt: new Date(all ? Math.min(...ends) : Math.max(...ends)),
      hours: inUseHours,
      dryRun: mode === 'dry-run',
    };
  }
  return mode === 'dry-run'
    ? { kind: 'dry-run', keys: evaluation.keysToDeactivate }
    : { kind: 'deactivate', keys: evaluation.keysToDeactivate };
}

/** What a read after deactivating `deactivated` (keeping `keyToKeepId`) proves. */
export type Verification =
  /** Every deactivated key is listed and inactive, and some key is active. */
  | { readonly kind: 'confirmed' }
  /** No key of the user is active: someone switched the kept key off (or deleted it) at the same time. */
  | { readonly kind: 'no-active-key' }
  /** Some deactivated key is still listed active (IAM not yet consistent, or re-activated at once). */
  | { readonly kind: 'pending'; readonly stillActive: readonly string[] }
  | { readonly kind: 'user-gone' };

/** Classifies the read that follows a deactivation. Pure. */
export function verifyDeactivation(
  deactivated: readonly AccessKey[],
  keysAfter: readonly AccessKey[] | undefined,
): Verification {
  if (keysAfter === undefined) return { kind: 'user-gone' };
  const active = new Set(keysAfter.filter((key) => key.status === 'Active').map((key) => key.accessKeyId));
  const stillActive = deactivated.map((key) => key.accessKeyId).filter((id) => active.has(id));
  if (stillActive.length > 0) return { kind: 'pending', stillActive };
  if (active.size === 0) return { kind: 'no-active-key' };
  return { kind: 'confirmed' };
}

/**
 * The action a proof read shows, when it leaves some key active (`no-active-key` calls for a rollback first): the
 * keys deactivated, still listed active (unconfirmed, never reported as deactivated), or the user gone meanwhile.
 */
export function provenAction(
  verification: Exclude<Verification, { kind: 'no-active-key' }>,
  keys: readonly AccessKey[],
  keysAfter: readonly AccessKey[] | undefined,
  at: Date,
): ActionTaken {
  switch (verification.kind) {
    case 'confirmed':
      return { kind: 'deactivated', keys, at, keysAfter: keysAfter ?? [] };
    case 'pending':
      return { kind: 'unconfirmed', keys, keysAfter: keysAfter ?? [] };
    case 'user-gone':
      return { kind: 'aborted', reason: 'the user was deleted meanwhile' };
  }
}

/** The rollback of a write that left no key active, as the read after re-activating shows it. */
export function rolledBack(
  keys: readonly AccessKey[],
  restoredKeys: readonly AccessKey[],
  at: Date,
): ActionTaken {
  const active = new Set(restoredKeys.filter((key) => key.status === 'Active').map((key) => key.accessKeyId));
  const restored = keys.every((key) => active.has(key.accessKeyId));
  return { kind: 'rolled-back', keys, at, keysAfter: restoredKeys, restored };
}
