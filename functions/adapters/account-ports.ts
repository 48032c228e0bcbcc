/** The engine's IAM and Security Hub ports for one account, over that account's clients (own or member role). */

import type { AccountTarget } from '../core/organization.ts';
import type { AwsClients } from './clients.ts';
import { createIamPort, type IamPort } from './iam.ts';
import { type AccountClientsOptions, createAccountClients } from './member-accounts.ts';
import { createFindingsPort, type FindingsPort } from './securityhub.ts';
import type { UsageEventsPort } from './usage-events.ts';
import { lazyUsageEventsPort } from './usage-ports.ts';

export interface AccountPorts {
  readonly iam: IamPort;
  /** Validates that every finding names the target's account: the account whose credentials send it. */
  readonly findings: FindingsPort;
  /** Where and by what a violating user's keys are used, from the account's CloudTrail (one port per call). */
  readonly usageEvents: UsageEventsPort | undefined;
}

export interface AccountPortsOptions extends AccountClientsOptions {
  readonly sleep?: (ms: number) => Promise<void>;
  /** The usage evidence's pacing clock; default the system clock. */
  readonly clock?: () => Date;
  /** Whether the ports read usage evidence (the account's CloudTrail); default true. */
  readonly usageEvidence?: boolean;
}

/** The invocation the ports serve: its remaining time bounds how long throttled Security Hub calls are retried. */
export interface InvocationTime {
  readonly remainingTimeMs?: number | undefined;
}

/** Ports for a target account; throws MemberRoleError when a member role cannot be assumed. */
export function createAccountPorts(
  options: AccountPortsOptions,
): (target: AccountTarget, invocation?: InvocationTime) => Promise<AccountPorts> {
  const accountClients = createAccountClients(options);
  // Ports are cheap but built once per set of clients, so a cached member session reuses them too.
  const iamPorts = new WeakMap<AwsClients, IamPort>();
  return async (target, invocation = {}) => {
    const clients = await accountClients.clientsFor(target);
    let iam = iamPorts.get(clients);
    if (iam === undefined) {
      iam = createIamPort(clients.iam);
      iamPorts.set(clients, iam);
    }
    return {
      iam,
      findings: createFindingsPort(clients.securityHub, {
        accountId: target.account.accountId,
        partition: target.account.partition,
        ...(options.sleep ? { sleep: options.sleep } : {}),
        ...(invocation.remainingTimeMs !== undefined ? { remainingTimeMs: invocation.remainingTimeMs } : {}),
      }),
      usageEvents:
        options.usageEvidence === false
          ? undefined
          : lazyUsageEventsPort(clients, {
              clock: options.clock ?? (() => new Date()),
              sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
            }),
    };
  };
}
