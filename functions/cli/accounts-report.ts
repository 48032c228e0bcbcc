/**
 * The output of `keywarden scan --accounts` and `--organization`: one section per account (each the single-account
 * report's content) and a total, rendered as JSON or a table. Pure.
 */

import type { AccountTarget } from '../core/organization.ts';
import type { AccountContext } from '../core/types.ts';
import type { SweepSource } from '../shared/constants.ts';
import { addSummaries } from '../sweep/accounts.ts';
import type { SweepSummary } from '../sweep/engine.ts';
import { EXIT } from './args.ts';
import type { MemberScan } from './members.ts';
import {
  CONTROL,
  describeSource,
  type ExemptEntry,
  plural,
  REMEDIATE_HINT,
  renderFindings,
  type ScanReport,
  summaryLine,
  type ViolationEntry,
} from './report.ts';

/** How one account's scan ended: its report, or why it could not be scanned at all. */
export type AccountOutcome =
  | {
      readonly kind: 'scanned';
      readonly target: AccountTarget;
      readonly name: string | undefined;
      readonly report: ScanReport;
    }
  | {
      readonly kind: 'failed';
      readonly target: AccountTarget;
      readonly name: string | undefined;
      /** The error in words (e.g. the member role could not be assumed). */
      readonly message: string;
    };

export interface AccountEntry {
  readonly accountId: string;
  /** The account's name in the organization; null with `--accounts`. */
  readonly name: string | null;
  /** `own`: the caller's account, with the caller's credentials; `member-role`: through the member role. */
  readonly via: AccountTarget['via'];
  /** `failed`: not scanned at all (the error says why); a scanned account may still have errors. */
  readonly status: 'scanned' | 'failed';
  readonly scannedAt: string | null;
  readonly source: SweepSource | null;
  readonly reportGeneratedAt: string | null;
  readonly violations: ViolationEntry[];
  readonly exempt: ExemptEntry[];
  readonly resolvedFindings: ScanReport['resolvedFindings'];
  /** A failed account has one, with stage `account`. */
  readonly errors: ScanReport['errors'];
  /** Null for an account that could not be scanned. */
  readonly summary: SweepSummary | null;
}

/** The users of every scanned account added up, and the accounts counted. */
export interface AccountsSummary extends SweepSummary {
  readonly accounts: number;
  readonly accountsScanned: number;
  /** Accounts that could not be scanned at all. */
  readonly accountsFailed: number;
  readonly accountsWithViolations: number;
}

export interface AccountsReport {
  readonly tool: ScanReport['tool'];
  readonly control: string;
  /** The caller's account; every account is scanned in its partition and region. */
  readonly caller: AccountContext;
  readonly roleName: string;
  /** `accounts`: the ids given with --accounts; `organization`: the organization's ACTIVE accounts. */
  readonly accountsFrom: MemberScan['from'];
  /** Only with `--organization --ous`: the OUs whose ACTIVE accounts (nested OUs included) were read. */
  readonly organizationalUnits?: readonly string[];
  readonly scannedAt: string;
  readonly settings: ScanReport['settings'];
  /** In the order given (--accounts) or by account id (--organization). */
  readonly accounts: AccountEntry[];
  readonly summary: AccountsSummary;
}

export interface AccountsReportContext {
  readonly caller: AccountContext;
  readonly members: MemberScan;
  readonly scannedAt: Date;
  readonly version: string;
  readonly settings: ScanReport['settings'];
}

function entryFor(outcome: AccountOutcome): AccountEntry {
  const common = {
    accountId: outcome.target.account.accountId,
    name: outcome.name ?? null,
    via: outcome.target.via,
  };
  if (outcome.kind === 'failed') {
    return {
      ...common,
      status: 'failed',
      scannedAt: null,
      source: null,
      reportGeneratedAt: null,
      violations: [],
      exempt: [],
      resolvedFindings: [],
      errors: [{ stage: 'account', userName: null, message: outcome.message }],
      summary: null,
    };
  }
  const { report } = outcome;
  return {
    ...common,
    status: 'scanned',
    scannedAt: report.scannedAt,
    source: report.source,
    reportGeneratedAt: report.reportGeneratedAt,
    violations: report.violations,
    exempt: report.exempt,
    resolvedFindings: report.resolvedFindings,
    errors: report.errors,
    summary: report.summary,
  };
}

/** The report of every account, in the order of `outcomes`, with the total. */
export function buildAccountsReport(
  outcomes: readonly AccountOutcome[],
  context: AccountsReportContext,
): AccountsReport {
  const accounts = outcomes.map(entryFor);
  const users = addSummaries(accounts.flatMap((entry) => (entry.summary === null ? [] : [entry.summary])));
  return {
    tool: { name: 'keywarden', version: context.version },
    control: CONTROL,
    caller: context.caller,
    roleName: context.members.roleName,
    accountsFrom: context.members.from,
    ...(context.members.from === 'organization' && context.members.ous !== undefined
      ? { organizationalUnits: context.members.ous }
      : {}),
    scannedAt: context.scannedAt.toISOString(),
    settings: context.settings,
    accounts,
    summary: {
      accounts: accounts.length,
      accountsScanned: accounts.filter((entry) => entry.status === 'scanned').length,
      accountsFailed: accounts.filter((entry) => entry.status === 'failed').length,
      accountsWithViolations: accounts.filter((entry) => entry.violations.length > 0).length,
      ...users,
    },
  };
}

/** 1 when an account could not be scanned or is incomplete, else 2 when a user of any account violates, else 0. */
export function exitCodeForAccounts(report: AccountsReport): number {
  if (report.accounts.some((entry) => entry.errors.length > 0)) return EXIT.error;
  return report.accounts.some((entry) => entry.violations.length > 0) ? EXIT.violations : EXIT.compliant;
}

export function renderAccountsJson(report: AccountsReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function sectionTitle(entry: AccountEntry, report: AccountsReport): string {
  const name = entry.name === null ? '' : ` (${entry.name})`;
  const via = entry.via === 'own' ? "the caller's credentials" : `through role ${report.roleName}`;
  const what =
    entry.status === 'failed' || entry.source === null
      ? 'could not be scanned'
      : describeSource({ source: entry.source, reportGeneratedAt: entry.reportGeneratedAt });
  return `=== Account ${entry.accountId}${name} · ${via} · ${what}`;
}

/** The closing line of the accounts: how many were scanned, which could not be, which have violations. */
export function accountsLine(report: AccountsReport): string {
  const { summary } = report;
  const failed = report.accounts.filter((entry) => entry.status === 'failed').map((e) => e.accountId);
  const violating = report.accounts.filter((entry) => entry.violations.length > 0).map((e) => e.accountId);
  const parts = [`${summary.accountsScanned} scanned`];
  if (failed.length > 0) parts.push(`${failed.length} could not be scanned (${failed.join(', ')})`);
  parts.push(
    violating.length > 0
      ? `${violating.length} with violations (${violating.join(', ')})`
      : 'none with violations',
  );
  return `${plural(summary.accounts, 'account')}: ${parts.join(', ')}.`;
}

export function renderAccountsTable(report: AccountsReport): string {
  const { caller } = report;
  const from =
    report.accountsFrom === 'accounts'
      ? 'listed with --accounts'
      : report.organizationalUnits === undefined
        ? 'ACTIVE in the organization'
        : `ACTIVE under ${report.organizationalUnits.join(', ')}`;
  const out: string[] = [
    `KeyWarden ${report.tool.version} · ${report.control}`,
    `${plural(report.accounts.length, 'account')} ${from} · member role ${report.roleName} · caller ${caller.accountId} (${caller.partition}, ${caller.region}) · ${report.scannedAt}`,
  ];
  for (const entry of report.accounts) {
    out.push('', sectionTitle(entry, report), '');
    if (entry.summary === null) {
      out.push(...entry.errors.map((error) => error.message));
      continue;
    }
    out.push(...renderFindings({ ...entry, summary: entry.summary, settings: report.settings }));
    out.push('', summaryLine(entry.summary));
  }
  out.push('', '=== Total', '', accountsLine(report), summaryLine(report.summary));
  if (report.accounts.some((entry) => entry.violations.some((v) => v.action === 'none')))
    out.push('', REMEDIATE_HINT);
  return `${out.join('\n')}\n`;
}
