/**
 * `keywarden coverage`'s rows and verdict: what was seen of each account, judged with the sweep's own rules
 * (evaluateCoverage, evaluateTrailHealth, canaryProblem). Pure: the observations and the time are passed in.
 */

import { CANARY_GRACE_MS, type CanaryRecord, canaryProblem } from '../core/canary.ts';
import {
  type CoverageObservation,
  type CoverageProblem,
  describeProblem,
  evaluateCoverage,
} from '../core/coverage.ts';
import type { Read, TrailHealth } from '../core/trail-health.ts';
import { describeAssessment } from '../core/trail-health.ts';
import type { AccountContext } from '../core/types.ts';
import { FORWARDING_RULE_NAME, KEY_EVENT_PATTERN } from '../shared/constants.ts';
import type { MemberScan } from './members.ts';
import { plural, table } from './report.ts';

/** `failed` makes the account not covered; `not-judged` says what was not read, and why. */
export type CheckStatus = 'ok' | 'failed' | 'not-judged';

export interface Check {
  readonly status: CheckStatus;
  readonly detail: string;
}

/** What was seen of one account. */
export interface AccountCoverageInput {
  readonly accountId: string;
  readonly name: string | undefined;
  readonly via: 'own' | 'member-role';
  /** The member role and the forwarding rule, as the sweep's observeCoverage reads them. */
  readonly coverage: CoverageObservation;
  /** The caller's trails as judged in the caller's account; undefined when they were not read. */
  readonly callerTrails: Read<TrailHealth>;
  /** The canary ledger's record; undefined: the ledger was not read (no --canary-table). */
  readonly canary: Read<CanaryRecord | undefined> | undefined;
}

export interface CoverageRow {
  readonly accountId: string;
  readonly name: string | null;
  readonly via: 'own' | 'member-role';
  readonly covered: boolean;
  readonly role: Check;
  readonly forwardingRule: Check;
  readonly trail: Check;
  readonly canary: Check & {
    readonly sentAt: string | null;
    readonly receivedAt: string | null;
    readonly delayMs: number | null;
  };
}

export interface CoverageContext {
  readonly busArn: string | undefined;
  readonly now: Date;
}

function roleCheck(input: AccountCoverageInput): Check {
  const { role } = input.coverage;
  if (input.via === 'own') return { status: 'ok', detail: "own account: the caller's credentials" };
  return role.ok
    ? { status: 'ok', detail: 'assumed' }
    : { status: 'failed', detail: `could not be assumed (${role.code}: ${role.message})` };
}

/** The caller's own account is taken as the central one, which needs no rule; --bus may say it is not. */
function ownRuleCheck(accountId: string, busArn: string | undefined): Check {
  const central = busArn?.split(':')[4];
  if (central === undefined || central === accountId)
    return {
      status: 'not-judged',
      detail: "none needed: the caller's own account is taken as the central one",
    };
  return {
    status: 'not-judged',
    detail: `not read: the central bus is in account ${central}; run the command there to check this account through its member role`,
  };
}

/** The rule judged as the sweep judges it; without the bus its target is left out of the verdict. */
function ruleCheck(input: AccountCoverageInput, busArn: string | undefined): Check {
  const { coverage } = input;
  if (input.via === 'own') return ownRuleCheck(input.accountId, busArn);
  if (!coverage.role.ok)
    return { status: 'not-judged', detail: 'not read: the member role could not be assumed' };
  const expected = {
    ruleName: FORWARDING_RULE_NAME,
    eventPattern: KEY_EVENT_PATTERN,
    centralBusArn: busArn ?? '',
  };
  const problems = evaluateCoverage(coverage, expected).problems.filter(
    (problem: CoverageProblem) => busArn !== undefined || problem.code !== 'RULE_RETARGETED',
  );
  const untargeted = busArn === undefined ? '; target not judged (no --bus)' : '';
  if (problems.length > 0)
    return {
      status: 'failed',
      detail: `${problems.map((problem) => describeProblem(problem, expected)).join('; ')}${untargeted}`,
    };
  const rule = coverage.rule?.ok ? coverage.rule.value : undefined;
  const target =
    busArn === undefined ? `targets ${rule?.targetArns.join(', ') || 'nothing'}` : 'targets the central bus';
  return {
    status: 'ok',
    detail: `${rule?.state ?? 'ENABLED'}, the detector's pattern, ${target}${untargeted}`,
  };
}

/** The caller's own trails; a member is judged only by an organization trail of the caller that covers it. */
function trailCheck(input: AccountCoverageInput): Check {
  const trails = input.callerTrails;
  if (input.via === 'member-role') {
    const organizationTrail = trails.ok
      ? trails.value.assessments.find((a) => a.verdict === 'covers' && a.trail.isOrganizationTrail)
      : undefined;
    return organizationTrail
      ? { status: 'ok', detail: `the organization trail ${organizationTrail.trail.arn} covers it` }
      : {
          status: 'not-judged',
          detail:
            'not read: the member role grants no CloudTrail read (the canary shows whether its events arrive)',
        };
  }
  if (!trails.ok)
    return { status: 'failed', detail: `could not be read (${trails.code}: ${trails.message})` };
  const { status, assessments } = trails.value;
  const said = assessments.map(describeAssessment).join('; ');
  if (status === 'covered')
    return {
      status: 'ok',
      detail: assessments
        .filter((a) => a.verdict === 'covers')
        .map(describeAssessment)
        .join('; '),
    };
  if (status === 'unverified') return { status: 'not-judged', detail: `unverified: ${said}` };
  if (status === 'unknown') return { status: 'failed', detail: `could not be read: ${said}` };
  return {
    status: 'failed',
    detail: `no trail delivers IAM's management write events${said ? `: ${said}` : ''}`,
  };
}

const iso = (date: Date | undefined): string | null => date?.toISOString() ?? null;

function canaryCheck(input: AccountCoverageInput, now: Date): CoverageRow['canary'] {
  const { canary } = input;
  const none = { sentAt: null, receivedAt: null, delayMs: null };
  if (canary === undefined) return { status: 'not-judged', detail: 'not read (no --canary-table)', ...none };
  if (!canary.ok)
    return {
      status: 'failed',
      detail: `the ledger could not be read (${canary.code}: ${canary.message})`,
      ...none,
    };
  const record = canary.value;
  const times = {
    sentAt: iso(record?.sentAt),
    receivedAt: iso(record?.receivedAt),
    delayMs: record?.delayMs ?? null,
  };
  if (record?.sentAt === undefined) return { status: 'not-judged', detail: 'none sent yet', ...times };
  const lost = canaryProblem(record, now);
  if (lost !== undefined) return { status: 'failed', detail: describeProblem(lost, EXPECTED_NONE), ...times };
  const received =
    record.receivedAt && record.delayMs !== undefined
      ? `received ${record.receivedAt.toISOString()}, ${(record.delayMs / 1000).toFixed(1)} s after it was sent`
      : undefined;
  const arrived =
    record.receivedSentAt !== undefined && record.receivedSentAt.getTime() >= record.sentAt.getTime();
  if (arrived) return { status: 'ok', detail: `sent ${record.sentAt.toISOString()}, ${received}`, ...times };
  const wait = `sent ${record.sentAt.toISOString()}, not received yet (judged ${CANARY_GRACE_MS / 60_000} min after sending)`;
  return { status: 'not-judged', detail: received ? `${wait}; the one before ${received}` : wait, ...times };
}

// The canary's words name no rule or bus.
const EXPECTED_NONE = { ruleName: FORWARDING_RULE_NAME, eventPattern: KEY_EVENT_PATTERN, centralBusArn: '' };

/** One account's row: covered unless a check FAILED. */
export function coverageRow(input: AccountCoverageInput, context: CoverageContext): CoverageRow {
  const checks = {
    role: roleCheck(input),
    forwardingRule: ruleCheck(input, context.busArn),
    trail: trailCheck(input),
    canary: canaryCheck(input, context.now),
  };
  return {
    accountId: input.accountId,
    name: input.name ?? null,
    via: input.via,
    covered: Object.values(checks).every((check) => check.status !== 'failed'),
    ...checks,
  };
}

export interface CoverageReport {
  readonly version: string;
  readonly checkedAt: string;
  readonly caller: { readonly accountId: string; readonly region: string };
  readonly accountsFrom: 'caller' | 'accounts' | 'organization';
  readonly organizationalUnits: readonly string[] | null;
  readonly roleName: string | null;
  readonly busArn: string | null;
  readonly canaryTable: string | null;
  readonly accounts: readonly CoverageRow[];
  readonly summary: { readonly accounts: number; readonly covered: number; readonly notCovered: number };
}

export interface CoverageReportContext {
  readonly caller: AccountContext;
  readonly members: MemberScan | undefined;
  readonly busArn: string | undefined;
  readonly canaryTable: string | undefined;
  readonly checkedAt: Date;
  readonly version: string;
}

export function buildCoverageReport(
  rows: readonly CoverageRow[],
  context: CoverageReportContext,
): CoverageReport {
  const { members } = context;
  const covered = rows.filter((row) => row.covered).length;
  return {
    version: context.version,
    checkedAt: context.checkedAt.toISOString(),
    caller: { accountId: context.caller.accountId, region: context.caller.region },
    accountsFrom: members?.from ?? 'caller',
    organizationalUnits: (members?.from === 'organization' && members.ous) || null,
    roleName: members?.roleName ?? null,
    busArn: context.busArn ?? null,
    canaryTable: context.canaryTable ?? null,
    accounts: rows,
    summary: { accounts: rows.length, covered, notCovered: rows.length - covered },
  };
}

/** 0 when every account is covered, 1 when one is not (or could not be checked). */
export function exitCodeForCoverage(report: CoverageReport): 0 | 1 {
  return report.summary.notCovered === 0 ? 0 : 1;
}

export function renderCoverageJson(report: CoverageReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const MARK: Readonly<Record<CheckStatus, string>> = { ok: 'ok', failed: 'FAILED', 'not-judged': '-' };
const cell = (check: Check): string => `${MARK[check.status]}: ${check.detail}`;

/** One block per account (the details are long), then the verdict. */
export function renderCoverageTable(report: CoverageReport): string {
  const summary = table(
    ['Account', 'Covered', 'Role', 'Forwarding rule', 'Trail', 'Canary'],
    report.accounts.map((row) => [
      row.name ? `${row.accountId} (${row.name})` : row.accountId,
      row.covered ? 'yes' : 'NO',
      ...[row.role, row.forwardingRule, row.trail, row.canary].map((check) => MARK[check.status]),
    ]),
  );
  const details = report.accounts.map((row) =>
    [
      `=== Account ${row.accountId}${row.covered ? '' : ' · NOT COVERED'}`,
      `  role             ${cell(row.role)}`,
      `  forwarding rule  ${cell(row.forwardingRule)}`,
      `  trail            ${cell(row.trail)}`,
      `  canary           ${cell(row.canary)}`,
    ].join('\n'),
  );
  const { accounts, notCovered } = report.summary;
  const blind = report.accounts.filter((row) => !row.covered).map((row) => row.accountId);
  const verdict =
    notCovered === 0
      ? `${plural(accounts, 'account')}: every one covered.`
      : `${plural(accounts, 'account')}: ${notCovered} not covered (${blind.join(', ')}).`;
  return `${summary}\n${details.join('\n\n')}\n\n${verdict}\n`;
}
