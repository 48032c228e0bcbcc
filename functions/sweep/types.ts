/**
 * What the steps of an account sweep pass each other: its ports, its options, the candidates it plans, and what
 * it returns. Apart from the engine so each step can live in its own module without importing the others.
 */

import type { IamPort } from '../adapters/iam.ts';
import type { NotifierPort } from '../adapters/notify.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import type { TagEventsPort } from '../adapters/tag-events.ts';
import type { UsageEventsPort } from '../adapters/usage-events.ts';
import type { Finding } from '../core/finding.ts';
import type { CheckResult, EngineSettings } from '../engine/check-user.ts';
import type { SweepSource } from '../shared/constants.ts';
import type { CredentialReportUser } from './credential-report.ts';
import type { AccountIamPort } from './iam-account.ts';

export interface SweepDeps {
  readonly iam: IamPort;
  readonly accountIam: AccountIamPort;
  readonly findings: FindingsPort;
  /** Absent: no notifications. */
  readonly notifier?: NotifierPort | undefined;
  /** Strictly increasing (see monotonicClock). */
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onProgress?: ((progress: SweepProgress) => void) | undefined;
  readonly onWarning?: ((message: string, detail?: Record<string, unknown>) => void) | undefined;
  /** Who set exemption tags, from CloudTrail (exemption approvers configured); one port per sweep. */
  readonly tagEvents?: TagEventsPort | undefined;
  /** Where and by what violating users' keys are used, from CloudTrail; one port per account sweep. */
  readonly usageEvents?: UsageEventsPort | undefined;
}

export interface SweepOptions {
  /** `importFindings` false: a read-only scan, nothing is written to Security Hub. */
  readonly settings: EngineSettings;
  readonly source: SweepSource;
  readonly origin: 'schedule' | 'cli';
  /** Read this generator's open findings so they are resolved or archived; default `settings.importFindings`. */
  readonly reconcileFindings?: boolean;
  /** Users checked at the same time; default 8. */
  readonly concurrency?: number;
  /** No new user is started after this many failures (a missing permission fails them all); default 10. */
  readonly maxFailures?: number;
}

export type SweepProgress =
  | { readonly phase: 'report' }
  | { readonly phase: 'listing'; readonly done: number; readonly total: number }
  | { readonly phase: 'findings' }
  | { readonly phase: 'checking'; readonly done: number; readonly total: number }
  | { readonly phase: 'importing'; readonly done: number; readonly total: number };

/** One candidate's evaluation. */
export interface UserOutcome {
  readonly result: CheckResult;
  /**
   * Compliance status of the finding the sweep found for this user, if any: an open one, or a PASSED one whose
   * user is gone (it is then archived).
   */
  readonly previousStatus: 'FAILED' | 'WARNING' | 'PASSED' | undefined;
  readonly imported: boolean;
}

export interface SweepFailure {
  /** `account`: the whole account could not be swept (its member role, its report or its listing failed). */
  readonly stage: 'list' | 'check' | 'import' | 'trail-health' | 'coverage' | 'account';
  /** Absent for an import batch, the trail check and an account. */
  readonly userName: string | undefined;
  readonly error: unknown;
  /** The account of the failure, in a sweep of several accounts. */
  readonly accountId?: string;
}

export interface SweepSummary {
  /** Users in the listing that still exist, plus users known only from open findings. */
  readonly usersScanned: number;
  readonly compliant: number;
  readonly violating: number;
  readonly exempt: number;
  /** Users whose state is unknown because their check failed. */
  readonly failed: number;
  readonly candidates: number;
  readonly deactivated: number;
  /** Violations inside the rotation grace: reported, remediated by a later sweep. */
  readonly postponed: number;
  /** Open findings whose user is compliant now (re-imported as PASSED). */
  readonly resolved: number;
  /** Open findings whose user is gone (re-imported as PASSED and ARCHIVED). */
  readonly archived: number;
  readonly findingsImported: number;
}

export interface SweepResult {
  readonly source: SweepSource;
  /** When IAM generated the credential report the candidates came from. */
  readonly reportGeneratedAt: Date | undefined;
  /** Set when the credential report could not be read and the full listing was used instead. */
  readonly fallbackReason: string | undefined;
  /** One per candidate checked, in the order of the listing. */
  readonly outcomes: readonly UserOutcome[];
  /** Threat findings resolved (key inactive) or archived (key gone) by this sweep. */
  readonly threatFindingsResolved: number;
  readonly failures: readonly SweepFailure[];
  readonly summary: SweepSummary;
}

/** A user the sweep checks live, and why. */
export interface Candidate {
  readonly userName: string;
  /** In the report or the full listing (not only known from an open finding). */
  readonly listed: boolean;
  readonly reportRow: CredentialReportUser | undefined;
  readonly previous: Finding | undefined;
  /** The user's finding under a former name, followed to this one by its keys' ids (a rename KeyWarden missed). */
  readonly renamed?: { readonly from: string; readonly finding: Finding } | undefined;
}

/** The users the report or the listing names, the candidates among them, and what could not be listed. */
export interface Listing {
  /** Lower-case names of every user in the report or the listing. */
  readonly listedNames: ReadonlySet<string>;
  readonly candidates: Candidate[];
  readonly reportGeneratedAt: Date | undefined;
  readonly fallbackReason: string | undefined;
  readonly failures: SweepFailure[];
}
