/** The scan's output: a plain report built from the sweep result, rendered as JSON or a table. Pure. */

import type { ActionTaken } from '../core/remediation.ts';
import type { AccessKey, AccountContext } from '../core/types.ts';
import {
  describeUsageLine,
  describeUsageSources,
  type KeyUsage,
  USAGE_SCOPE,
  type UsageEvidence,
  usageOf,
} from '../core/usage-evidence.ts';
import type { RemediationMode, SweepSource } from '../shared/constants.ts';
import type { SweepResult, SweepSummary } from '../sweep/engine.ts';
import { EXIT } from './args.ts';

export interface ReportKey {
  readonly accessKeyId: string;
  readonly createDate: string;
  /** ISO time, `null` when never used, absent when not known. */
  readonly lastUsedDate?: string | null;
  /** Where and by what the key is used (CloudTrail management events), when it was read. */
  readonly usage?: ReportUsage;
}

/** A key's usage evidence as the report gives it. */
export interface ReportUsage {
  readonly status: KeyUsage['status'];
  readonly scope: string;
  readonly regions: readonly string[];
  readonly calls: number;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly sourceIps: KeyUsage['sourceIps'];
  readonly userAgents: KeyUsage['userAgents'];
  readonly eventSources: KeyUsage['eventSources'];
  /** Why the summary is cut off or missing. */
  readonly gaps: readonly string[];
}

export interface ViolationEntry {
  readonly userName: string;
  readonly userArn: string;
  readonly path: string;
  readonly activeAccessKeyIds: string[];
  readonly activeAccessKeys: ReportKey[];
  readonly keyToKeep: string;
  readonly keysToDeactivate: string[];
  readonly action: ActionTaken['kind'];
  /** The action in words. */
  readonly actionDetail: string;
  readonly findingId: string;
}

export interface ExemptEntry {
  readonly userName: string;
  readonly userArn: string;
  readonly path: string;
  readonly activeAccessKeyIds: string[];
  readonly reason: string;
  /** End of a time-bound exemption (ISO 8601); null when the tag exempts for good. */
  readonly exemptUntil: string | null;
}

export interface ScanReport {
  readonly tool: { readonly name: 'keywarden'; readonly version: string };
  readonly control: string;
  readonly account: AccountContext;
  readonly scannedAt: string;
  readonly source: SweepSource;
  readonly reportGeneratedAt: string | null;
  readonly settings: {
    readonly remediation: RemediationMode;
    readonly keepKey: string;
    readonly exemptTag: string;
    readonly rotationGraceHours: number;
    readonly importFindings: boolean;
  };
  readonly violations: ViolationEntry[];
  readonly exempt: ExemptEntry[];
  /** Users whose open finding this scan resolved (compliant now) or archived (user deleted). */
  readonly resolvedFindings: {
    readonly userName: string;
    readonly findingId: string;
    readonly how: 'resolved' | 'archived';
  }[];
  readonly errors: { readonly stage: string; readonly userName: string | null; readonly message: string }[];
  readonly summary: SweepSummary;
}

export interface ReportContext {
  readonly account: AccountContext;
  readonly scannedAt: Date;
  readonly version: string;
  readonly settings: ScanReport['settings'];
  readonly describeError: (error: unknown) => string;
}

export const CONTROL =
  'CIS AWS Foundations Benchmark v3.0.0 1.13: at most one active access key per IAM user';

function reportUsage(usage: KeyUsage): ReportUsage {
  return {
    status: usage.status,
    scope: USAGE_SCOPE,
    regions: usage.regions,
    calls: usage.calls,
    firstSeen: usage.firstSeen?.toISOString() ?? null,
    lastSeen: usage.lastSeen?.toISOString() ?? null,
    sourceIps: usage.sourceIps,
    userAgents: usage.userAgents,
    eventSources: usage.eventSources,
    gaps: usage.gaps,
  };
}

function reportKey(key: AccessKey, evidence?: UsageEvidence): ReportKey {
  const usage = usageOf(evidence, key.accessKeyId);
  return {
    accessKeyId: key.accessKeyId,
    createDate: key.createDate.toISOString(),
    ...(key.lastUsed === undefined ? {} : { lastUsedDate: key.lastUsed.date?.toISOString() ?? null }),
    ...(usage === undefined ? {} : { usage: reportUsage(usage) }),
  };
}

function actionDetail(action: ActionTaken, keep: string): string {
  const ids = (keys: readonly AccessKey[]): string => keys.map((key) => key.accessKeyId).join(', ');
  switch (action.kind) {
    case 'none':
      return 'reported only';
    case 'dry-run':
      return `would deactivate ${ids(action.keys)}, keep ${keep}`;
    case 'deactivated':
      return `deactivated ${ids(action.keys)}, kept ${keep}`;
    case 'deactivating':
      return `deactivating ${ids(action.keys)}, outcome not recorded`;
    case 'rolled-back':
      return action.restored
        ? `deactivated ${ids(action.keys)}, then re-activated it: no key was left active`
        : `deactivated ${ids(action.keys)}, no key was left active, re-activation not confirmed`;
    case 'unconfirmed':
      return `asked IAM to deactivate ${ids(action.keys)}; IAM still lists it active`;
    case 'postponed':
      return `in rotation grace until ${action.until.toISOString()}`;
    case 'in-use':
      return `${action.dryRun ? 'would deactivate nothing' : 'not deactivated'}: ${action.scope === 'all' ? 'every active key is' : `${action.uses.map((use) => use.key.accessKeyId).join(', ')} is`} in use; looks again at ${action.lookAgainAt.toISOString()}`;
    case 'aborted':
      return `not deactivated: ${action.reason}`;
  }
}

const byName = <T extends { userName: string }>(a: T, b: T): number => a.userName.localeCompare(b.userName);

/** The report for output: violations and exemptions sorted by user name. */
export function buildScanReport(result: SweepResult, context: ReportContext): ScanReport {
  const violations: ViolationEntry[] = [];
  const exempt: ExemptEntry[] = [];
  const resolvedFindings: ScanReport['resolvedFindings'] = [];
  for (const { result: checked, previousStatus } of result.outcomes) {
    const { evaluation } = checked;
    if (evaluation.verdict === 'violation') {
      const { user } = evaluation.snapshot;
      violations.push({
        userName: user.userName,
        userArn: user.arn,
        path: user.path,
        activeAccessKeyIds: evaluation.activeKeys.map((key) => key.accessKeyId),
        activeAccessKeys: evaluation.activeKeys.map((key) => reportKey(key, checked.usage)),
        keyToKeep: evaluation.keyToKeep.accessKeyId,
        keysToDeactivate: evaluation.keysToDeactivate.map((key) => key.accessKeyId),
        action: checked.action.kind,
        actionDetail: actionDetail(checked.action, evaluation.keyToKeep.accessKeyId),
        findingId: checked.findingId,
      });
    } else if (evaluation.verdict === 'exempt') {
      exempt.push({
        userName: evaluation.snapshot.user.userName,
        userArn: evaluation.snapshot.user.arn,
        path: evaluation.snapshot.user.path,
        activeAccessKeyIds: evaluation.activeKeys.map((key) => key.accessKeyId),
        reason: evaluation.reason,
        exemptUntil: evaluation.until?.toISOString() ?? null,
      });
    } else if (previousStatus !== undefined && checked.finding !== undefined) {
      resolvedFindings.push({
        userName: checked.userName,
        findingId: checked.findingId,
        how: evaluation.verdict === 'user-gone' ? 'archived' : 'resolved',
      });
    }
  }
  return {
    tool: { name: 'keywarden', version: context.version },
    control: CONTROL,
    account: context.account,
    scannedAt: context.scannedAt.toISOString(),
    source: result.source,
    reportGeneratedAt: result.reportGeneratedAt?.toISOString() ?? null,
    settings: context.settings,
    violations: violations.sort(byName),
    exempt: exempt.sort(byName),
    resolvedFindings: resolvedFindings.sort(byName),
    errors: result.failures.map((failure) => ({
      stage: failure.stage,
      userName: failure.userName ?? null,
      message: context.describeError(failure.error),
    })),
    summary: result.summary,
  };
}

/** 1 when the scan is incomplete, else 2 when a user violates, else 0. */
export function exitCodeFor(report: ScanReport): number {
  if (report.errors.length > 0) return EXIT.error;
  return report.violations.length > 0 ? EXIT.violations : EXIT.compliant;
}

export function renderJson(report: ScanReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export const plural = (count: number, one: string, many = `${one}s`): string =>
  `${count} ${count === 1 ? one : many}`;

/** The closing summary line, for the compliance record. */
export function summaryLine(summary: SweepSummary): string {
  const parts = [
    `${summary.usersScanned} users scanned`,
    `${summary.compliant} compliant`,
    `${summary.violating} violating`,
    `${summary.exempt} exempt`,
  ];
  if (summary.failed > 0) parts.push(`${summary.failed} not checked (errors)`);
  if (summary.deactivated > 0) parts.push(`${summary.deactivated} remediated`);
  if (summary.resolved + summary.archived > 0) {
    parts.push(`${summary.resolved} finding(s) resolved, ${summary.archived} archived`);
  }
  return `Summary: ${parts.join(', ')}.`;
}

/** The first line of the result: what was found, and whether every user could be checked. */
export function headline(report: Pick<ScanReport, 'violations' | 'errors' | 'summary'>): string {
  const { failed } = report.summary;
  const unknown =
    failed > 0 ? `the scan is incomplete: ${plural(failed, 'user')} could not be checked` : undefined;
  if (report.violations.length > 0) {
    const found = `${plural(report.violations.length, 'user')} with more than one active access key`;
    return unknown === undefined ? `${found}:` : `${found} (${unknown}):`;
  }
  if (unknown !== undefined) {
    return `${unknown.charAt(0).toUpperCase()}${unknown.slice(1)}; none of the others has more than one active access key.`;
  }
  if (report.errors.length > 0) {
    return 'No IAM user has more than one active access key, but the scan is incomplete (see the errors below).';
  }
  return 'No IAM user has more than one active access key.';
}

const day = (iso: string): string => iso.slice(0, 10);

/** `AKIA… (2026-11-28, used 2026-11-30)`: when the key was created and last used. */
function describeKey(key: ReportKey): string {
  const used =
    key.lastUsedDate === undefined
      ? 'last use unknown'
      : key.lastUsedDate === null
        ? 'never used'
        : `used ${day(key.lastUsedDate)}`;
  return `${key.accessKeyId} (${day(key.createDate)}, ${used})`;
}

/** Where the candidates came from, in words. */
export function describeSource(report: Pick<ScanReport, 'source' | 'reportGeneratedAt'>): string {
  return report.source === 'full'
    ? 'every user listed live'
    : `candidates from the IAM credential report of ${report.reportGeneratedAt ?? 'unknown time'}, each confirmed live`;
}

/** Where and by what each violating user's keys are used, one line per key; nothing when none was read. */
function usageLines(violations: readonly ViolationEntry[]): string[] {
  const lines = violations.flatMap((v) =>
    v.activeAccessKeys.flatMap((key) => {
      if (key.usage === undefined) return [];
      const usage = fromReport(key.accessKeyId, key.usage);
      const sources = usage.status === 'unavailable' ? '' : `; ${describeUsageSources(usage)}`;
      return [`  ${v.userName} ${key.accessKeyId}: ${describeUsageLine(usage)}${sources}`];
    }),
  );
  return lines.length === 0 ? [] : ['', `Where the keys are used (${USAGE_SCOPE}):`, ...lines];
}

/** The report's usage back as the core describes it (one wording for the finding and the table). */
function fromReport(accessKeyId: string, usage: ReportUsage): KeyUsage {
  return {
    ...usage,
    accessKeyId,
    firstSeen: usage.firstSeen === null ? undefined : new Date(usage.firstSeen),
    lastSeen: usage.lastSeen === null ? undefined : new Date(usage.lastSeen),
  };
}

/** The table's body for one account: the headline, violators, exempt users, closed findings and errors. */
export function renderFindings(
  report: Pick<ScanReport, 'violations' | 'exempt' | 'resolvedFindings' | 'errors' | 'summary' | 'settings'>,
): string[] {
  const out: string[] = [headline(report)];
  if (report.violations.length > 0) {
    out.push(
      '',
      table(
        ['USER', 'ARN', 'ACTIVE ACCESS KEYS (CREATED, LAST USED)', 'KEY TO KEEP', 'ACTION'],
        report.violations.map((v) => [
          v.userName,
          v.userArn,
          v.activeAccessKeys.map(describeKey).join(', '),
          v.keyToKeep,
          v.actionDetail,
        ]),
      ),
    );
  }
  out.push(...usageLines(report.violations));
  if (report.exempt.length > 0) {
    const tag = report.settings.exemptTag;
    const timed = report.exempt.some((e) => e.exemptUntil !== null);
    out.push(
      '',
      timed
        ? `${plural(report.exempt.length, 'exempt user')} (tagged ${tag}: reported, not changed until the exemption ends):`
        : `${plural(report.exempt.length, 'exempt user')} (tagged ${tag}=true, reported, never changed):`,
      '',
      table(
        ['USER', 'ARN', 'ACTIVE ACCESS KEYS', ...(timed ? ['EXEMPT UNTIL'] : [])],
        report.exempt.map((e) => [
          e.userName,
          e.userArn,
          e.activeAccessKeyIds.join(', '),
          ...(timed ? [e.exemptUntil ?? 'no end (tagged true)'] : []),
        ]),
      ),
    );
  }
  if (report.resolvedFindings.length > 0) {
    out.push(
      '',
      `Closed ${plural(report.resolvedFindings.length, 'open finding')}: ${report.resolvedFindings.map((r) => `${r.userName} (${r.how})`).join(', ')}`,
    );
  }
  if (report.errors.length > 0) {
    out.push('', `${plural(report.errors.length, 'error')}: the scan is incomplete.`);
    for (const error of report.errors)
      out.push(`  ${error.userName ? `${error.userName}: ` : ''}${error.message}`);
  }
  return out;
}

/** The hint to remediate, when a violation was only reported. */
export const REMEDIATE_HINT =
  'Run with --remediate to see which keys KeyWarden would deactivate, and with --remediate --yes to do it.';

export function renderTable(report: ScanReport): string {
  const { account } = report;
  const out: string[] = [
    `KeyWarden ${report.tool.version} · ${report.control}`,
    `Account ${account.accountId} (${account.partition}, ${account.region}) · ${report.scannedAt} · ${describeSource(report)}`,
    '',
    ...renderFindings(report),
  ];
  if (report.violations.some((v) => v.action === 'none')) out.push('', REMEDIATE_HINT);
  out.push('', summaryLine(report.summary));
  return `${out.join('\n')}\n`;
}
