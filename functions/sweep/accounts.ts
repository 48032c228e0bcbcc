/**
 * The sweep of several accounts: {@link runSweep} in each, a bounded number at a time, each account through its
 * own ports (its member role's, or the function's own). One failing account never stops the others. Shared by
 * the organization sweep (in one invocation, or one account per message of its queue), the CLI and the bench.
 */

import type { AwsClients } from '../adapters/clients.ts';
import { createIamPort, type IamPort } from '../adapters/iam.ts';
import type { AccountClients } from '../adapters/member-accounts.ts';
import type { NotifierPort } from '../adapters/notify.ts';
import { createFindingsPort, type FindingsPort } from '../adapters/securityhub.ts';
import type { UsageEventsPort } from '../adapters/usage-events.ts';
import { lazyUsageEventsPort } from '../adapters/usage-ports.ts';
import type { AccountTarget } from '../core/organization.ts';
import type { AccountContext } from '../core/types.ts';
import { sweepAccountIds } from './account-message.ts';
import { mapBounded } from './concurrency.ts';
import {
  runSweep,
  SweepError,
  type SweepFailure,
  type SweepOptions,
  type SweepProgress,
  type SweepResult,
  type SweepSummary,
} from './engine.ts';
import { type AccountIamPort, createAccountIamPort } from './iam-account.ts';

/** The sweep's ports in one account. */
export interface AccountSweepPorts {
  readonly iam: IamPort;
  readonly accountIam: AccountIamPort;
  readonly findings: FindingsPort;
  /** Where and by what violating users' keys are used, from the account's CloudTrail; one port per account sweep. */
  readonly usageEvents?: UsageEventsPort | undefined;
}

export interface AccountSweepDeps {
  /** The account's ports; rejects (MemberRoleError) when its member role cannot be assumed. */
  readonly portsFor: (target: AccountTarget) => Promise<AccountSweepPorts>;
  readonly notifier?: NotifierPort | undefined;
  /** Strictly increasing (see monotonicClock). */
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Runs in the function's own account before its users are swept (the scheduled sweep's trail check); what it
   * returns is recorded as a failure of that account and stops nothing.
   */
  readonly beforeOwnAccount?: (
    target: AccountTarget,
    ports: AccountSweepPorts,
  ) => Promise<SweepFailure | undefined>;
  /**
   * Runs for each account, after its member role was assumed (`ports`) or could not be (`error`): the coverage
   * check and the canary. Its own failure is recorded for that account and stops nothing.
   */
  readonly coverage?: (
    target: AccountTarget,
    access: { readonly ports: AccountSweepPorts } | { readonly error: unknown },
  ) => Promise<CoverageOutcome>;
  readonly onAccount?: ((progress: AccountProgress) => void) | undefined;
  readonly onProgress?: ((target: AccountTarget, progress: SweepProgress) => void) | undefined;
  readonly onWarning?: ((message: string, detail?: Record<string, unknown>) => void) | undefined;
}

export type AccountProgress =
  | { readonly phase: 'started'; readonly accountId: string }
  | { readonly phase: 'swept'; readonly accountId: string; readonly failures: number }
  | { readonly phase: 'failed'; readonly accountId: string; readonly error: unknown };

export interface AccountSweepOptions extends SweepOptions {
  /** Accounts swept at the same time; default 4. Each account's IAM and Security Hub limits are its own. */
  readonly accountConcurrency?: number;
}

/** A member's coverage: `blind` when KeyWarden cannot see it; undefined when the check itself failed. */
export interface CoverageOutcome {
  readonly status: 'covered' | 'blind' | undefined;
  readonly failure?: SweepFailure | undefined;
}

/** One account's outcome; every failure in it names the account. */
export type AccountSweep =
  | {
      readonly status: 'swept';
      readonly target: AccountTarget;
      readonly result: SweepResult;
      /** The sweep's failures, and the trail check's. */
      readonly failures: readonly SweepFailure[];
      /** The member's coverage, when checked. */
      readonly coverage?: CoverageOutcome['status'];
    }
  | {
      readonly status: 'failed';
      readonly target: AccountTarget;
      /** Nothing was swept: the role, the report or the listing failed. */
      readonly error: unknown;
      readonly failures: readonly [SweepFailure, ...SweepFailure[]];
      /** The member's coverage, when checked (an unassumable member role is `blind`). */
      readonly coverage?: CoverageOutcome['status'];
    };

export const DEFAULT_ACCOUNT_CONCURRENCY = 4;

/** The function's own account through its own credentials, then each member through its member role. */
export function sweepTargets(own: AccountContext, memberAccountIds: readonly string[]): AccountTarget[] {
  return sweepAccountIds(own, memberAccountIds).map((accountId) =>
    accountId === own.accountId
      ? { account: own, via: 'own' as const }
      : { account: { ...own, accountId }, via: 'member-role' as const },
  );
}

/** Ports over an account's clients (own, or a member role's session, assumed once per account and reused). */
export function sweepPortsFrom(
  accountClients: Pick<AccountClients, 'clientsFor'>,
  options: { readonly sleep: (ms: number) => Promise<void>; readonly clock?: () => Date },
): (target: AccountTarget) => Promise<AccountSweepPorts> {
  const built = new WeakMap<AwsClients, Omit<AccountSweepPorts, 'findings'>>();
  return async (target) => {
    const clients = await accountClients.clientsFor(target);
    let iamPorts = built.get(clients);
    if (iamPorts === undefined) {
      iamPorts = {
        iam: createIamPort(clients.iam),
        accountIam: createAccountIamPort(clients.iam, { sleep: options.sleep }),
      };
      built.set(clients, iamPorts);
    }
    return {
      ...iamPorts,
      findings: createFindingsPort(clients.securityHub, {
        accountId: target.account.accountId,
        partition: target.account.partition,
        sleep: options.sleep,
      }),
      usageEvents: lazyUsageEventsPort(clients, {
        clock: options.clock ?? (() => new Date()),
        sleep: options.sleep,
      }),
    };
  };
}

async function sweepOne(
  deps: AccountSweepDeps,
  target: AccountTarget,
  options: SweepOptions,
): Promise<AccountSweep> {
  const { accountId } = target.account;
  const tag = (failure: SweepFailure): SweepFailure => ({ ...failure, accountId });
  const checkCoverage = (access: Parameters<NonNullable<AccountSweepDeps['coverage']>>[1]) =>
    deps.coverage ? deps.coverage(target, access) : Promise.resolve(undefined);
  deps.onAccount?.({ phase: 'started', accountId });
  let coverage: CoverageOutcome | undefined;
  try {
    const ports = await deps.portsFor(target).catch(async (error: unknown) => {
      coverage = await checkCoverage({ error });
      throw error;
    });
    coverage = await checkCoverage({ ports });
    const before =
      target.via === 'own' && deps.beforeOwnAccount ? await deps.beforeOwnAccount(target, ports) : undefined;
    const result = await runSweep(
      {
        ...ports,
        notifier: deps.notifier,
        clock: deps.clock,
        sleep: deps.sleep,
        onProgress: deps.onProgress ? (progress) => deps.onProgress?.(target, progress) : undefined,
        onWarning: deps.onWarning
          ? (message, detail) => deps.onWarning?.(message, { ...detail, accountId })
          : undefined,
      },
      options,
      target.account,
    );
    const extra = [before, coverage?.failure].filter((f): f is SweepFailure => f !== undefined);
    const failures = [...result.failures, ...extra].map(tag);
    deps.onAccount?.({ phase: 'swept', accountId, failures: failures.length });
    return { status: 'swept', target, result, failures, ...coverageField(coverage) };
  } catch (error) {
    deps.onAccount?.({ phase: 'failed', accountId, error });
    const failures: [SweepFailure, ...SweepFailure[]] = [
      tag({ stage: 'account', userName: undefined, error }),
      ...(coverage?.failure ? [tag(coverage.failure)] : []),
    ];
    return { status: 'failed', target, error, failures, ...coverageField(coverage) };
  }
}

const coverageField = (coverage: CoverageOutcome | undefined) =>
  coverage?.status === undefined ? {} : { coverage: coverage.status };

/**
 * Sweeps every target, `accountConcurrency` at a time, and returns one outcome per target in their order. Never
 * rejects: an account whose role, report or listing fails is a `failed` outcome (see {@link sweepErrorOf}).
 */
export async function sweepAccounts(
  deps: AccountSweepDeps,
  targets: readonly AccountTarget[],
  options: AccountSweepOptions,
): Promise<AccountSweep[]> {
  const { accountConcurrency = DEFAULT_ACCOUNT_CONCURRENCY, ...sweepOptions } = options;
  const settled = await mapBounded(targets, accountConcurrency, (target) =>
    sweepOne(deps, target, sweepOptions),
  );
  // sweepOne never rejects and mapBounded is never stopped: every slot holds an outcome.
  return settled.map((outcome) => (outcome as { ok: true; value: AccountSweep }).value);
}

const EMPTY_SUMMARY: SweepSummary = {
  usersScanned: 0,
  compliant: 0,
  violating: 0,
  exempt: 0,
  failed: 0,
  candidates: 0,
  deactivated: 0,
  postponed: 0,
  resolved: 0,
  archived: 0,
  findingsImported: 0,
};

/** Summaries added up, field by field. */
export function addSummaries(summaries: readonly SweepSummary[]): SweepSummary {
  const total: Record<keyof SweepSummary, number> = { ...EMPTY_SUMMARY };
  for (const summary of summaries) {
    for (const key of Object.keys(total) as (keyof SweepSummary)[]) total[key] += summary[key];
  }
  return total;
}

/** The accounts' summaries added up (a failed account adds nothing). */
export function totalSummary(sweeps: readonly AccountSweep[]): SweepSummary {
  return addSummaries(sweeps.flatMap((sweep) => (sweep.status === 'swept' ? [sweep.result.summary] : [])));
}

/** How many members' coverage check found them blind. */
export function membersBlind(sweeps: readonly AccountSweep[]): number {
  return sweeps.filter((sweep) => sweep.target.via === 'member-role' && sweep.coverage === 'blind').length;
}

/** The SweepError of a run with any failure, naming the accounts that failed; undefined when all went well. */
export function sweepErrorOf(sweeps: readonly AccountSweep[]): SweepError | undefined {
  const failures = sweeps.flatMap((sweep) => sweep.failures);
  return failures.length > 0 ? new SweepError(failures, totalSummary(sweeps)) : undefined;
}
