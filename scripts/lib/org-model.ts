/**
 * How long an organization sweep takes on AWS, modeled from one account's measured sweep: the accounts go
 * through the account queue `concurrency` at a time, each in its own invocation.
 */

import { invocationMs } from './lambda-model.ts';

export interface AccountSweepCost {
  /** AWS calls one account's sweep makes (AssumeRole included). */
  readonly calls: number;
  /** CPU time of one account's sweep in the sweep process (measured), ms. */
  readonly cpuMs: number;
}

export interface AwsAssumptions {
  /** How long IAM takes to generate the credential report, ms (seconds for most accounts, more for large ones). */
  readonly reportGenerationMs: number;
  /** Round trip of one AWS call from the function, ms; every call is counted as if made one after another. */
  readonly roundTripMs: number;
  /** The sweep function's memory (its share of a vCPU scales the CPU time). */
  readonly memoryMb: number;
}

/**
 * One account's invocation on AWS: report generation + its calls one after another + its CPU at the function's
 * share of a vCPU. An upper bound for the calls (the engine reads 8 users at a time), a lower one for nothing else.
 */
export function accountSweepMs(cost: AccountSweepCost, aws: AwsAssumptions): number {
  return aws.reportGenerationMs + cost.calls * aws.roundTripMs + invocationMs(cost.cpuMs, aws.memoryMb);
}

/** The whole sweep: `accounts` invocations of `perAccountMs`, `concurrency` at once, in waves. */
export function organizationSweepMs(accounts: number, concurrency: number, perAccountMs: number): number {
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new RangeError(`concurrency ${concurrency} < 1`);
  return Math.ceil(accounts / concurrency) * perAccountMs;
}

/** The most accounts one sweep covers within `windowMs` (the schedule's period) at `concurrency`. */
export function accountsWithin(windowMs: number, concurrency: number, perAccountMs: number): number {
  return Math.floor(windowMs / perAccountMs) * concurrency;
}
