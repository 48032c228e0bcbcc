import { describe, expect, it } from 'vitest';
import {
  invocationMs,
  millionInvocationsUsd,
  modelPath,
  PRICES,
  vcpuShare,
} from '../../scripts/lib/lambda-model.ts';

describe('vcpuShare', () => {
  it.each([
    { memoryMb: 128, expected: 128 / 1769 },
    { memoryMb: 256, expected: 256 / 1769 },
    { memoryMb: 1769, expected: 1 },
    // One JavaScript thread gains nothing from the second vCPU Lambda gives above 1,769 MB.
    { memoryMb: 3538, expected: 1 },
  ])('gives $memoryMb MB $expected of a vCPU', ({ memoryMb, expected }) => {
    expect(vcpuShare(memoryMb)).toBeCloseTo(expected, 10);
  });

  it('rejects a size Lambda does not offer', () => {
    expect(() => vcpuShare(64)).toThrow(RangeError);
  });
});

describe('invocationMs', () => {
  it.each([
    { cpuMs: 10, memoryMb: 1769, expected: 10 },
    { cpuMs: 10, memoryMb: 256, expected: 69.1 },
  ])('turns $cpuMs ms of CPU into $expected ms at $memoryMb MB', ({ cpuMs, memoryMb, expected }) => {
    expect(invocationMs(cpuMs, memoryMb)).toBeCloseTo(expected, 1);
  });
});

describe('millionInvocationsUsd', () => {
  it('bills whole milliseconds of GB-seconds at the arm64 price, plus the requests', () => {
    // 1 GB for 100 ms, a million times: 100,000 GB-s.
    expect(millionInvocationsUsd(99.2, 1024)).toBeCloseTo(100_000 * PRICES.arm64PerGbSecond + 0.2, 6);
  });

  it('costs the requests alone for an invocation of no time', () => {
    expect(millionInvocationsUsd(0, 256)).toBeCloseTo(PRICES.perMillionRequests, 10);
  });
});

describe('modelPath', () => {
  it('runs init at a full vCPU and the events at the memory share', () => {
    const cpu = { initCpuMs: 150, firstEventCpuMs: 29, warmEventCpuMs: 14.5 };

    const at256 = modelPath(cpu, 256);
    const at1769 = modelPath(cpu, 1769);

    expect(at256.coldPathMs).toBeCloseTo(150 + 29 / (256 / 1769), 6);
    expect(at256.warmEventMs).toBeCloseTo(14.5 / (256 / 1769), 6);
    expect(at1769.coldPathMs).toBeCloseTo(179, 6);
    expect(at1769.warmEventMs).toBeCloseTo(14.5, 6);
  });

  it('makes the same CPU work cost more wall time in the first event than at init', () => {
    const atInit = modelPath({ initCpuMs: 100, firstEventCpuMs: 0, warmEventCpuMs: 0 }, 256);
    const inFirstEvent = modelPath({ initCpuMs: 0, firstEventCpuMs: 100, warmEventCpuMs: 0 }, 256);

    expect(atInit.coldPathMs).toBeCloseTo(100, 6);
    expect(inFirstEvent.coldPathMs).toBeGreaterThan(6.9 * atInit.coldPathMs);
  });
});
