/** Runs async tasks with at most `limit` in flight: IAM publishes no rate limits and throttles without warning. */

export type Settled<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/**
 * Maps `items` through `task`, `limit` at a time, in order of the items. Never rejects: each item's outcome is
 * settled. Once `shouldStop()` is true no new item starts, and the items never started are `undefined`.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  shouldStop: () => boolean = () => false,
): Promise<(Settled<R> | undefined)[]> {
  const results: (Settled<R> | undefined)[] = new Array(items.length).fill(undefined);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length && !shouldStop()) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await task(items[index] as T, index) };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  }
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
