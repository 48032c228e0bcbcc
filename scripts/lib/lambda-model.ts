/**
 * Lambda's CPU model for on-demand functions, and its price, applied to CPU times measured on this machine. Pure.
 *
 * Init (module loading, top-level await) runs at a full vCPU; an invocation runs at memory ÷ 1,769 MB of one
 * vCPU (256 MB: 0.145). Node runs JavaScript on one thread, so above 1,769 MB it gains nothing: the share is
 * capped at 1. Since 2025 init is billed like invocation time for managed runtimes.
 */

/** Memory at which a function has one full vCPU. */
export const FULL_VCPU_MB = 1_769;

/** us-east-1 list prices for arm64 (Graviton), first pricing tier. */
export const PRICES = {
  /** USD per GB-second of arm64 duration. */
  arm64PerGbSecond: 0.000_013_333_4,
  /** USD per million requests. */
  perMillionRequests: 0.2,
} as const;

/** The fraction of a vCPU an invocation gets at `memoryMb`. */
export function vcpuShare(memoryMb: number): number {
  if (!(Number.isFinite(memoryMb) && memoryMb >= 128))
    throw new RangeError(`memory ${memoryMb} MB is below 128`);
  return Math.min(1, memoryMb / FULL_VCPU_MB);
}

/** CPU time measured at a full core on this machine, as wall time inside an invocation at `memoryMb`. */
export function invocationMs(cpuMs: number, memoryMb: number): number {
  return cpuMs / vcpuShare(memoryMb);
}

export interface ColdPathCpu {
  /** CPU time of init: importing the handler module. */
  readonly initCpuMs: number;
  /** CPU time of the first event after init. */
  readonly firstEventCpuMs: number;
  /** CPU time of a later event. */
  readonly warmEventCpuMs: number;
}

export interface ModeledPath {
  readonly memoryMb: number;
  readonly vcpu: number;
  /** Init at a full vCPU plus the first event at the memory's share: what a cold event waits for its CPU. */
  readonly coldPathMs: number;
  /** A warm event at the memory's share. */
  readonly warmEventMs: number;
  /** USD for a million cold events (init and first event billed) and a million warm ones, requests included. */
  readonly coldMillionUsd: number;
  readonly warmMillionUsd: number;
}

/** USD for a million invocations that are each billed `ms` at `memoryMb`, plus the requests. */
export function millionInvocationsUsd(ms: number, memoryMb: number): number {
  const gbSeconds = (Math.ceil(ms) / 1000) * (memoryMb / 1024) * 1_000_000;
  return gbSeconds * PRICES.arm64PerGbSecond + PRICES.perMillionRequests;
}

/**
 * The modeled cold path and warm event at `memoryMb`. CPU time only: time spent waiting for AWS adds to the
 * duration (and the bill) at every size alike, and is not modeled.
 */
export function modelPath(cpu: ColdPathCpu, memoryMb: number): ModeledPath {
  const coldPathMs = cpu.initCpuMs + invocationMs(cpu.firstEventCpuMs, memoryMb);
  const warmEventMs = invocationMs(cpu.warmEventCpuMs, memoryMb);
  return {
    memoryMb,
    vcpu: vcpuShare(memoryMb),
    coldPathMs,
    warmEventMs,
    coldMillionUsd: millionInvocationsUsd(coldPathMs, memoryMb),
    warmMillionUsd: millionInvocationsUsd(warmEventMs, memoryMb),
  };
}
