/**
 * A clock whose readings strictly increase, by at least one millisecond, even when called twice within one:
 * Security Hub silently ignores an update whose UpdatedAt is not later than the stored one.
 */
export function monotonicClock(now: () => number = Date.now): () => Date {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    last = Math.max(now(), last + 1);
    return new Date(last);
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
