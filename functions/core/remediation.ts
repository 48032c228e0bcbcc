/** What to do about a violation under the configured mode. Pure. */

import type { RemediationMode } from '../shared/constants.ts';
import type { Evaluation } from './evaluate.ts';
import type { AccessKey } from './types.ts';

export type Plan =
  | { readonly kind: 'none' }
  | { readonly kind: 'postponed'; readonly until: Date }
  | { readonly kind: 'dry-run'; readonly keys: readonly AccessKey[] }
  | { readonly kind: 'deactivate'; readonly keys: readonly AccessKey[] };

/** The action taken, as the finding reports it. */
export type ActionTaken =
  | { readonly kind: 'none' }
  | { readonly kind: 'postponed'; readonly until: Date }
  | { readonly kind: 'dry-run'; readonly keys: readonly AccessKey[] }
  | { readonly kind: 'deactivated'; readonly keys: readonly AccessKey[]; readonly at: Date }
  /** The keys changed between the evaluation and the write; nothing was written. */
  | { readonly kind: 'aborted'; readonly reason: string };

export function planRemediation(evaluation: Evaluation, mode: RemediationMode): Plan {
  if (evaluation.verdict !== 'violation' || mode === 'off') return { kind: 'none' };
  if (evaluation.graceUntil !== undefined) return { kind: 'postponed', until: evaluation.graceUntil };
  return mode === 'dry-run'
    ? { kind: 'dry-run', keys: evaluation.keysToDeactivate }
    : { kind: 'deactivate', keys: evaluation.keysToDeactivate };
}

/**
 * Checks a fresh read of the keys before deactivating: the key to keep and every key to switch off must still
 * be active, so the user is never left with no active key. Returns why not, or undefined when it is safe.
 */
export function unsafeToDeactivate(
  keyToKeepId: string,
  toDeactivate: readonly AccessKey[],
  freshKeys: readonly AccessKey[],
): string | undefined {
  const active = new Set(freshKeys.filter((key) => key.status === 'Active').map((key) => key.accessKeyId));
  if (!active.has(keyToKeepId)) return `the key to keep, ${keyToKeepId}, is no longer active`;
  const gone = toDeactivate.filter((key) => !active.has(key.accessKeyId)).map((key) => key.accessKeyId);
  if (gone.length > 0) return `${gone.join(', ')} is no longer active`;
  if (toDeactivate.some((key) => key.accessKeyId === keyToKeepId))
    return 'the key to keep is among those to switch off';
  return undefined;
}
