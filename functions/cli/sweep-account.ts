/** One account's sweep for `keywarden scan`: the Lambda's engine, the command line's settings, that account's clients. */

import type { AwsClients } from '../adapters/clients.ts';
import { createIamPort } from '../adapters/iam.ts';
import { createFindingsPort } from '../adapters/securityhub.ts';
import { lazyUsageEventsPort } from '../adapters/usage-ports.ts';
import type { AccountContext } from '../core/types.ts';
import { sleep } from '../shared/clock.ts';
import { DEFAULTS } from '../shared/constants.ts';
import { runSweep, type SweepProgress, type SweepResult } from '../sweep/engine.ts';
import { createAccountIamPort } from '../sweep/iam-account.ts';
import type { ScanOptions } from './args.ts';
import type { ScanReport } from './report.ts';

export interface AccountSweepHooks {
  readonly clock: () => Date;
  readonly onProgress: (progress: SweepProgress) => void;
  readonly onWarning: (message: string) => void;
}

/** Sweeps `account` with `clients`, which must act in that account (its own, or a member role's session). */
export function sweepAccount(
  clients: AwsClients,
  account: AccountContext,
  options: ScanOptions,
  hooks: AccountSweepHooks,
): Promise<SweepResult> {
  return runSweep(
    {
      iam: createIamPort(clients.iam),
      accountIam: createAccountIamPort(clients.iam, { sleep }),
      findings: createFindingsPort(clients.securityHub, {
        accountId: account.accountId,
        partition: account.partition,
      }),
      usageEvents: lazyUsageEventsPort(clients, { clock: hooks.clock, sleep }),
      clock: hooks.clock,
      sleep,
      onProgress: hooks.onProgress,
      onWarning: hooks.onWarning,
    },
    {
      settings: {
        remediationMode: options.remediationMode,
        keepKey: options.keepKey,
        exemptTag: options.exemptTag,
        rotationGraceHours: options.rotationGraceHours,
        inUseHours: options.inUseHours,
        consistencyRetries: DEFAULTS.consistencyRetries,
        importFindings: options.importFindings,
      },
      source: options.source,
      origin: 'cli',
    },
    account,
  );
}

/** The settings the report records. */
export function reportSettings(options: ScanOptions): ScanReport['settings'] {
  return {
    remediation: options.remediationMode,
    keepKey: options.keepKey,
    exemptTag: options.exemptTag,
    rotationGraceHours: options.rotationGraceHours,
    importFindings: options.importFindings,
  };
}
