import { describe, expect, it } from 'vitest';
import { monotonicClock } from '../../functions/shared/clock.ts';

/** A fake wall clock that returns the given readings in turn. */
const readings = (...times: number[]) => {
  let index = 0;
  return () => times[Math.min(index++, times.length - 1)] as number;
};

describe('monotonicClock', () => {
  it('follows the wall clock while it moves forward', () => {
    const clock = monotonicClock(readings(1_000, 1_005, 1_900));
    expect([clock(), clock(), clock()].map((d) => d.getTime())).toEqual([1_000, 1_005, 1_900]);
  });

  it('still increases when called several times within one millisecond', () => {
    const clock = monotonicClock(() => 1_000);
    expect([clock(), clock(), clock()].map((d) => d.getTime())).toEqual([1_000, 1_001, 1_002]);
  });

  it('still increases when the wall clock steps back', () => {
    const clock = monotonicClock(readings(5_000, 4_000, 4_500, 5_010));
    expect([clock(), clock(), clock(), clock()].map((d) => d.getTime())).toEqual([
      5_000, 5_001, 5_002, 5_010,
    ]);
  });

  it('gives ISO timestamps that sort in call order, as Security Hub compares UpdatedAt', () => {
    const clock = monotonicClock(() => Date.parse('2026-06-01T12:00:00.000Z'));
    const stamps = Array.from({ length: 50 }, () => clock().toISOString());
    expect(new Set(stamps).size).toBe(50);
    expect([...stamps].sort()).toEqual(stamps);
  });

  it('keeps separate clocks independent', () => {
    const first = monotonicClock(() => 1_000);
    const second = monotonicClock(() => 1_000);
    first();
    first();
    expect(second().getTime()).toBe(1_000);
  });
});
