import { describe, expect, it } from 'vitest';
import { accountSweepMs, accountsWithin, organizationSweepMs } from '../../scripts/lib/org-model.ts';

describe('accountSweepMs', () => {
  it('adds the report generation, each call’s round trip and the CPU at the function’s vCPU share', () => {
    const ms = accountSweepMs(
      { calls: 20, cpuMs: 100 },
      { reportGenerationMs: 5_000, roundTripMs: 50, memoryMb: 1_769 },
    );
    expect(ms).toBe(5_000 + 1_000 + 100);
  });

  it('stretches the CPU time at less than a full vCPU', () => {
    const at512 = accountSweepMs(
      { calls: 0, cpuMs: 100 },
      { reportGenerationMs: 0, roundTripMs: 0, memoryMb: 512 },
    );
    expect(at512).toBeCloseTo((100 * 1_769) / 512, 6);
  });
});

describe('organizationSweepMs', () => {
  it.each([
    { accounts: 1_000, concurrency: 10, perAccountMs: 10_000, expected: 1_000_000 },
    { accounts: 1_001, concurrency: 10, perAccountMs: 10_000, expected: 1_010_000 },
    { accounts: 5, concurrency: 10, perAccountMs: 10_000, expected: 10_000 },
  ])(
    'sweeps $accounts accounts $concurrency at a time in waves',
    ({ accounts, concurrency, perAccountMs, expected }) => {
      expect(organizationSweepMs(accounts, concurrency, perAccountMs)).toBe(expected);
    },
  );

  it('refuses a concurrency below 1', () => {
    expect(() => organizationSweepMs(10, 0, 1)).toThrow(RangeError);
  });
});

describe('accountsWithin', () => {
  it('counts the whole waves that fit the window', () => {
    expect(accountsWithin(6 * 3_600_000, 10, 60_000)).toBe(3_600);
    expect(accountsWithin(59_999, 10, 60_000)).toBe(0);
  });
});
