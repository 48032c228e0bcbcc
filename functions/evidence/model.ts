/**
 * The evidence report of `keywarden report`: from KeyWarden's own findings (CIS 1.13 compliance, T1098.001 threat,
 * CloudTrail health) and a read of IAM, per account and in total. Pure: the caller passes what was read and `now`.
 *
 * Every string that comes from a finding or from IAM is data another principal may have written (a user name, a
 * tag, a finding field): the model carries it as text, and each renderer escapes it for its format.
 */

import { type Finding, GENERATOR_ID, RELATED_REQUIREMENTS } from '../core/finding.ts';
import { FIELD, RECORD_FIELDS } from '../core/record.ts';
import { THREAT_GENERATOR_ID, threatRecordOf } from '../core/threat-finding.ts';
import { TRAIL_HEALTH_GENERATOR_ID } from '../core/trail-health.ts';
import type { CredentialReport } from '../sweep/credential-report.ts';

export const EVIDENCE_FORMAT_VERSION = 1;
export const DEFAULT_SINCE_DAYS = 30;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The benchmark versions and control numbers the evidence maps to (the finding's RelatedRequirements). */
export const CIS_MAPPINGS: readonly { readonly version: string; readonly control: string }[] =
  RELATED_REQUIREMENTS.map((requirement) => {
    const [, version = '', control = ''] = /(v[\d.]+)\/([\d.]+)$/.exec(requirement) ?? [];
    return { version, control };
  });
export const CONTROL_TITLE = 'Ensure there is only one active access key for any single IAM user';

/** One user as IAM's credential report lists it. */
export interface IamUserState {
  readonly userName: string;
  readonly arn: string;
  /** Keys the report says are active; a slot it cannot read counts as active, so it is never hidden. */
  readonly activeKeys: number;
}

/** The users of a credential report; a key slot whose state the report does not say counts as active. */
export function usersFromCredentialReport(report: CredentialReport): IamUserState[] {
  return report.users.map((user) => ({
    userName: user.userName,
    arn: user.arn,
    activeKeys: user.keys.filter((slot) => slot.active !== false).length,
  }));
}

/** What was read from one account, or why it could not be read. */
export type AccountRead =
  | {
      readonly kind: 'read';
      readonly findings: readonly Finding[];
      readonly users: readonly IamUserState[];
      /**
       * Where the users come from: the credential report (up to 4 hours old, generated at `iamGeneratedAt`), or
       * ListUsers and ListAccessKeys when the report could not be parsed (`iamFallbackReason` says why).
       */
      readonly iamSource: 'credential-report' | 'listing';
      readonly iamGeneratedAt: Date | undefined;
      readonly iamFallbackReason?: string | undefined;
      readonly readAt: Date;
    }
  | { readonly kind: 'unreadable'; readonly message: string };

export interface AccountInput {
  readonly accountId: string;
  /** The account's name in the organization, when listed from it. */
  readonly name: string | undefined;
  /** `own`: the caller's credentials; `member-role`: a session of the member role. */
  readonly via: 'own' | 'member-role';
  readonly read: AccountRead;
}

export interface EvidenceContext {
  readonly now: Date;
  readonly sinceDays: number;
  /** The caller's ARN (sts:GetCallerIdentity). */
  readonly generatedBy: string;
  readonly version: string;
  readonly region: string;
  /** `--accounts`, `--organization`, or the caller's account alone. */
  readonly scope: 'account' | 'accounts' | 'organization';
  readonly roleName: string | undefined;
}

export interface KeyEvidence {
  readonly accessKeyId: string;
  readonly status: string;
  readonly createdAt: string | null;
  /** ISO time, `never`, or null when the finding did not record it. */
  readonly lastUsedAt: string | null;
  readonly lastUsedService: string | null;
  readonly lastUsedRegion: string | null;
  /** Who made the key usable, when KeyWarden saw it. */
  readonly madeUsableBy: string | null;
}

export type UserState = 'compliant' | 'violating' | 'exempt';

export interface UserRow {
  readonly userName: string;
  readonly userArn: string;
  readonly activeKeys: number;
  readonly state: UserState;
  /** The user's CIS 1.13 finding, if any. */
  readonly findingId: string | null;
  readonly findingStatus: string | null;
  /** A violation IAM shows that no open finding reports (the event was missed and no sweep ran since). */
  readonly unreported: boolean;
  readonly exemptUntil: string | null;
}

export interface OpenViolation {
  readonly accountId: string;
  readonly userName: string;
  readonly userArn: string;
  readonly findingId: string;
  readonly detectedAt: string | null;
  readonly lastConfirmedAt: string | null;
  readonly reasonCode: string | null;
  /** What KeyWarden did about it (detect-only, dry run, postponed, ...). */
  readonly action: string | null;
  readonly keyToKeep: string | null;
  readonly workflow: string | null;
  readonly keys: readonly KeyEvidence[];
}

export interface Exemption {
  readonly accountId: string;
  readonly userName: string;
  readonly userArn: string;
  readonly findingId: string;
  readonly reason: string | null;
  readonly since: string | null;
  readonly until: string | null;
  /** Who set the exemption tag (caller and time), when KeyWarden saw the TagUser event. */
  readonly setBy: string | null;
  readonly keys: readonly KeyEvidence[];
}

export type Resolution =
  | 'deactivated-by-keywarden'
  | 'deactivated'
  | 'key-deleted'
  | 'user-deleted'
  | 'resolved';

export interface ResolvedViolation {
  readonly accountId: string;
  readonly userName: string;
  readonly userArn: string;
  readonly findingId: string;
  /** Null when the finding predates the record of detection times. */
  readonly detectedAt: string | null;
  readonly resolvedAt: string;
  readonly how: Resolution;
  /** The principal that resolved it, as the finding names it (KeyWarden itself, a caller ARN, the sweep). */
  readonly by: string | null;
  readonly hoursToResolve: number | null;
}

export interface ThreatEvidence {
  readonly accountId: string;
  readonly findingId: string;
  readonly accessKeyId: string;
  readonly userName: string;
  readonly how: string;
  readonly actorArn: string;
  readonly eventTime: string | null;
  readonly sourceIp: string | null;
  readonly state: 'open' | 'resolved';
  readonly keyState: string;
  readonly resolvedAt: string | null;
  readonly resolvedBy: string | null;
}

export type Coverage = 'covered' | 'blind' | 'unverified' | 'not-checked' | 'unreadable';

export interface ResolveTimes {
  readonly count: number;
  readonly medianHours: number;
  readonly worstHours: number;
}

export interface UsersSummary {
  readonly users: number;
  readonly compliant: number;
  readonly violating: number;
  readonly exempt: number;
  /** compliant / users, null without users (no share of nobody). */
  readonly compliantShare: number | null;
}

export interface AccountEvidence {
  readonly accountId: string;
  readonly name: string | null;
  readonly via: AccountInput['via'];
  readonly status: 'read' | 'unreadable';
  readonly error: string | null;
  readonly readAt: string | null;
  readonly iamSource: 'credential-report' | 'listing' | null;
  readonly iamGeneratedAt: string | null;
  readonly iamFallbackReason: string | null;
  readonly findingsRead: number;
  readonly coverage: Coverage;
  /** The health finding's title, or why there is none. */
  readonly coverageDetail: string;
  readonly coverageCheckedAt: string | null;
  readonly summary: UsersSummary | null;
  readonly users: readonly UserRow[];
  readonly openViolations: readonly OpenViolation[];
  readonly exemptions: readonly Exemption[];
  readonly resolved: readonly ResolvedViolation[];
  readonly threats: readonly ThreatEvidence[];
}

export interface DayCount {
  /** YYYY-MM-DD (UTC). */
  readonly day: string;
  readonly open: number;
}

export interface EvidenceReport {
  readonly format: 'keywarden-evidence';
  readonly formatVersion: number;
  readonly tool: { readonly name: 'keywarden'; readonly version: string };
  readonly generatedAt: string;
  readonly generatedBy: string;
  readonly period: { readonly from: string; readonly to: string; readonly days: number };
  readonly control: {
    readonly title: string;
    readonly benchmark: 'CIS AWS Foundations Benchmark';
    readonly mappings: readonly { readonly version: string; readonly control: string }[];
  };
  readonly scope: EvidenceContext['scope'];
  readonly roleName: string | null;
  readonly region: string;
  /** Where every figure comes from, in words. */
  readonly sources: readonly string[];
  readonly accounts: readonly AccountEvidence[];
  readonly total: UsersSummary & {
    readonly accounts: number;
    readonly accountsRead: number;
    readonly accountsUnreadable: number;
    readonly accountsNotCovered: number;
    readonly openViolations: number;
    readonly exemptions: number;
    readonly resolved: number;
    readonly resolveTimes: ResolveTimes | null;
    readonly threatsOpen: number;
    readonly threatsResolved: number;
  };
  /** Violations open at the end of each day of the period (the last day: at `generatedAt`). */
  readonly openPerDay: readonly DayCount[];
}

const fieldOf = (finding: Finding, name: string): string | null => finding.ProductFields?.[name] || null;
const statusOf = (finding: Finding): string => finding.Compliance?.Status ?? '';
const reasonOf = (finding: Finding): string | null =>
  finding.Compliance?.StatusReasons?.[0]?.ReasonCode ?? null;
const time = (text: string | null | undefined): number => (text ? Date.parse(text) : Number.NaN);

/** The user a compliance finding is about (the field holds IAM's spelling) and its ARN. */
function userOf(finding: Finding): { userName: string; userArn: string } {
  const resource = finding.Resources?.find((r) => r.Type === 'AwsIamUser');
  const userName =
    fieldOf(finding, `${FIELD}/userName`) ??
    resource?.Details?.AwsIamUser?.UserName ??
    resource?.Id?.split('/').pop() ??
    '';
  return { userName, userArn: resource?.Id ?? '' };
}

/** The keys a compliance finding lists, with the usage evidence it recorded (GetAccessKeyLastUsed). */
export function keysOf(finding: Finding): KeyEvidence[] {
  const keys: KeyEvidence[] = [];
  for (let index = 1; index <= 2; index++) {
    const get = (name: string): string | null => fieldOf(finding, `${FIELD}/key${index}/${name}`);
    const accessKeyId = get('accessKeyId');
    if (accessKeyId === null) continue;
    keys.push({
      accessKeyId,
      status: get('status') ?? 'unknown',
      createdAt: get('createDate'),
      lastUsedAt: get('lastUsedDate'),
      lastUsedService: get('lastUsedService'),
      lastUsedRegion: get('lastUsedRegion'),
      madeUsableBy: get('madeUsableBy'),
    });
  }
  return keys;
}

/** How a resolved compliance finding was resolved, and by whom, from what it records. */
export function resolutionOf(finding: Finding): { how: Resolution; by: string | null } {
  if (finding.RecordState === 'ARCHIVED' || reasonOf(finding) === 'USER_DELETED')
    return { how: 'user-deleted', by: null };
  if (reasonOf(finding) === 'SURPLUS_KEY_DEACTIVATED')
    return { how: 'deactivated-by-keywarden', by: 'KeyWarden' };
  const eventName = fieldOf(finding, `${FIELD}/trigger/eventName`);
  const actor = fieldOf(finding, `${FIELD}/trigger/actorArn`);
  if (eventName === 'DeleteAccessKey') return { how: 'key-deleted', by: actor };
  if (eventName === 'UpdateAccessKey') return { how: 'deactivated', by: actor };
  // Found by a sweep without the event: the keys it lists tell a deactivation from a deletion.
  const sweep = fieldOf(finding, `${FIELD}/trigger`)?.startsWith('sweep') ? 'the KeyWarden sweep' : null;
  const keys = keysOf(finding);
  if (keys.some((key) => key.status !== 'Active')) return { how: 'deactivated', by: sweep };
  if (keys.length <= 1) return { how: 'key-deleted', by: sweep };
  return { how: 'resolved', by: sweep };
}

/** The resolved violation a compliance finding records, or undefined when it records none. */
export function resolvedViolationFrom(accountId: string, finding: Finding): ResolvedViolation | undefined {
  const detected = fieldOf(finding, RECORD_FIELDS.violationDetectedAt);
  const archivedViolation =
    finding.RecordState === 'ARCHIVED' && fieldOf(finding, `${FIELD}/keysToDeactivate`) !== null;
  const deactivated = reasonOf(finding) === 'SURPLUS_KEY_DEACTIVATED';
  if (detected === null && !archivedViolation && !deactivated) return undefined;
  if (statusOf(finding) !== 'PASSED') return undefined;
  const resolvedAt =
    fieldOf(finding, RECORD_FIELDS.violationResolvedAt) ??
    fieldOf(finding, RECORD_FIELDS.deactivatedAt) ??
    finding.UpdatedAt ??
    '';
  // An archived violation's CreatedAt is the open finding's: when the violation was detected.
  const detectedAt = detected ?? (archivedViolation ? (finding.CreatedAt ?? null) : null);
  const span = time(resolvedAt) - time(detectedAt);
  return {
    accountId,
    ...userOf(finding),
    findingId: finding.Id ?? '',
    detectedAt,
    resolvedAt,
    ...resolutionOf(finding),
    hoursToResolve: Number.isFinite(span) && span >= 0 ? Math.round((span / HOUR_MS) * 100) / 100 : null,
  };
}

function threatFrom(accountId: string, finding: Finding): ThreatEvidence | undefined {
  const record = threatRecordOf(finding);
  if (record === undefined) return undefined;
  const open = finding.RecordState === 'ACTIVE' && statusOf(finding) === 'FAILED';
  return {
    accountId,
    findingId: finding.Id ?? '',
    accessKeyId: record.accessKeyId,
    userName: record.userName,
    how: record.how,
    actorArn: record.actorArn,
    eventTime: record.eventTime || null,
    sourceIp: record.sourceIp || null,
    state: open ? 'open' : 'resolved',
    keyState: fieldOf(finding, 'keywarden/threat/keyState') ?? (open ? 'active' : 'unknown'),
    resolvedAt: open ? null : (fieldOf(finding, 'keywarden/threat/resolvedAt') ?? finding.UpdatedAt ?? null),
    resolvedBy: open ? null : fieldOf(finding, 'keywarden/threat/resolvedBy'),
  };
}

const COVERAGE: Readonly<Record<string, Coverage>> = {
  PASSED: 'covered',
  FAILED: 'blind',
  WARNING: 'unverified',
};

/** Median (mean of the middle two for an even count) and worst of the known times to resolve. */
export function resolveTimes(resolved: readonly ResolvedViolation[]): ResolveTimes | null {
  const hours = resolved
    .map((r) => r.hoursToResolve)
    .filter((h): h is number => h !== null)
    .sort((a, b) => a - b);
  if (hours.length === 0) return null;
  const middle = Math.floor(hours.length / 2);
  const median =
    hours.length % 2 === 1
      ? (hours[middle] as number)
      : ((hours[middle - 1] as number) + (hours[middle] as number)) / 2;
  return {
    count: hours.length,
    medianHours: Math.round(median * 100) / 100,
    worstHours: hours[hours.length - 1] as number,
  };
}

function summarize(users: readonly UserRow[]): UsersSummary {
  const count = (state: UserState) => users.filter((user) => user.state === state).length;
  const compliant = count('compliant');
  return {
    users: users.length,
    compliant,
    violating: count('violating'),
    exempt: count('exempt'),
    compliantShare: users.length === 0 ? null : compliant / users.length,
  };
}

function isOwnFinding(accountId: string, finding: Finding, generatorId: string): boolean {
  return finding.GeneratorId === generatorId && finding.AwsAccountId === accountId;
}

function accountEvidence(input: AccountInput, from: number): AccountEvidence {
  const base = { accountId: input.accountId, name: input.name ?? null, via: input.via };
  if (input.read.kind === 'unreadable') return unreadableAccount(base, input.read.message);
  const { findings, users, iamGeneratedAt, readAt, iamSource } = input.read;
  const { accountId } = input;
  // The filters were applied server-side; they are checked again here (emulators ignore them).
  const compliance = findings.filter((f) => isOwnFinding(accountId, f, GENERATOR_ID));
  const threatFindings = findings.filter((f) => isOwnFinding(accountId, f, THREAT_GENERATOR_ID));
  const health = findings
    .filter((f) => isOwnFinding(accountId, f, TRAIL_HEALTH_GENERATOR_ID) && f.RecordState !== 'ARCHIVED')
    .sort((a, b) => time(b.UpdatedAt) - time(a.UpdatedAt))[0];
  const active = compliance.filter((f) => f.RecordState === 'ACTIVE');
  const rows = userRows(users, active);
  const coverage: Coverage =
    health === undefined ? 'not-checked' : (COVERAGE[statusOf(health)] ?? 'not-checked');
  return {
    ...base,
    status: 'read',
    error: null,
    readAt: readAt.toISOString(),
    iamSource,
    iamGeneratedAt: iamGeneratedAt?.toISOString() ?? null,
    iamFallbackReason: input.read.iamFallbackReason ?? null,
    findingsRead: compliance.length + threatFindings.length + (health === undefined ? 0 : 1),
    coverage,
    coverageDetail:
      health?.Title ??
      'No CloudTrail health finding: the scheduled sweep, which checks the trails, has not run in this account and region.',
    coverageCheckedAt: health?.UpdatedAt ?? null,
    summary: summarize(rows),
    users: rows,
    openViolations: openViolationsOf(accountId, active),
    exemptions: exemptionsOf(accountId, active),
    resolved: compliance
      .map((f) => resolvedViolationFrom(accountId, f))
      .filter((r): r is ResolvedViolation => r !== undefined && time(r.resolvedAt) >= from),
    threats: threatFindings
      .map((f) => threatFrom(accountId, f))
      .filter(
        (t): t is ThreatEvidence =>
          t !== undefined && (t.state === 'open' || time(t.resolvedAt) >= from || !t.resolvedAt),
      ),
  };
}

function unreadableAccount(
  base: Pick<AccountEvidence, 'accountId' | 'name' | 'via'>,
  message: string,
): AccountEvidence {
  return {
    ...base,
    status: 'unreadable',
    error: message,
    readAt: null,
    iamSource: null,
    iamGeneratedAt: null,
    iamFallbackReason: null,
    findingsRead: 0,
    coverage: 'unreadable',
    coverageDetail: `The account could not be read: ${message}`,
    coverageCheckedAt: null,
    summary: null,
    users: [],
    openViolations: [],
    exemptions: [],
    resolved: [],
    threats: [],
  };
}

function openViolationsOf(accountId: string, active: readonly Finding[]): OpenViolation[] {
  return active
    .filter((f) => statusOf(f) === 'FAILED')
    .map((f) => ({
      accountId,
      ...userOf(f),
      findingId: f.Id ?? '',
      detectedAt: f.CreatedAt ?? null,
      lastConfirmedAt: f.UpdatedAt ?? null,
      reasonCode: reasonOf(f),
      action: fieldOf(f, `${FIELD}/action`),
      keyToKeep: fieldOf(f, `${FIELD}/keyToKeep`),
      workflow: f.Workflow?.Status ?? null,
      keys: keysOf(f),
    }));
}

function exemptionsOf(accountId: string, active: readonly Finding[]): Exemption[] {
  return active
    .filter((f) => statusOf(f) === 'WARNING')
    .map((f) => ({
      accountId,
      ...userOf(f),
      findingId: f.Id ?? '',
      reason: fieldOf(f, `${FIELD}/exemption`),
      since: f.CreatedAt ?? null,
      until: fieldOf(f, `${FIELD}/exemptUntil`),
      setBy: fieldOf(f, `${FIELD}/exemptionSetBy`),
      keys: keysOf(f),
    }));
}

/** Each user IAM lists, with its state and whether its violation is reported (a FAILED finding). */
function userRows(users: readonly IamUserState[], active: readonly Finding[]): UserRow[] {
  const byUser = new Map(active.map((f) => [userOf(f).userName.toLowerCase(), f]));
  return users.map((user) => {
    const finding = byUser.get(user.userName.toLowerCase());
    const exempt = finding !== undefined && statusOf(finding) === 'WARNING';
    const state: UserState = user.activeKeys <= 1 ? 'compliant' : exempt ? 'exempt' : 'violating';
    return {
      userName: user.userName,
      userArn: user.arn,
      activeKeys: user.activeKeys,
      state,
      findingId: finding?.Id ?? null,
      findingStatus: finding === undefined ? null : statusOf(finding),
      unreported: state === 'violating' && (finding === undefined || statusOf(finding) !== 'FAILED'),
      exemptUntil: exempt ? fieldOf(finding, `${FIELD}/exemptUntil`) : null,
    };
  });
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Violations open at the end of each UTC day from `from` to `now` (the last day counted at `now`). */
export function openPerDay(
  open: readonly { readonly detectedAt: string | null }[],
  resolved: readonly ResolvedViolation[],
  from: number,
  now: number,
): DayCount[] {
  const spans = [
    ...open.map((v) => ({ start: time(v.detectedAt), end: Number.POSITIVE_INFINITY })),
    ...resolved.map((r) => ({ start: time(r.detectedAt), end: time(r.resolvedAt) })),
  ].filter((span) => Number.isFinite(span.start));
  const days: DayCount[] = [];
  const firstDay = Date.UTC(
    new Date(from).getUTCFullYear(),
    new Date(from).getUTCMonth(),
    new Date(from).getUTCDate(),
  );
  for (let start = firstDay; start <= now; start += DAY_MS) {
    const at = Math.min(start + DAY_MS - 1, now);
    days.push({ day: dayOf(start), open: spans.filter((s) => s.start <= at && s.end > at).length });
  }
  return days;
}

/** The evidence report of every account, in the order given, with the total. */
export function buildEvidenceReport(
  inputs: readonly AccountInput[],
  context: EvidenceContext,
): EvidenceReport {
  const now = context.now.getTime();
  const from = now - context.sinceDays * DAY_MS;
  const accounts = inputs.map((input) => accountEvidence(input, from));
  const rows = accounts.flatMap((account) => account.users);
  const all = <T>(pick: (account: AccountEvidence) => readonly T[]): T[] => accounts.flatMap(pick);
  const resolved = all((a) => a.resolved);
  const threats = all((a) => a.threats);
  const read = accounts.filter((a) => a.status === 'read');
  const sources = [
    `KeyWarden's findings in Security Hub CSPM (${context.region}), read with securityhub:GetFindings (generators ${GENERATOR_ID}, ${THREAT_GENERATOR_ID}, ${TRAIL_HEALTH_GENERATOR_ID}; every page).`,
    'Current users and active keys from the IAM credential report of each account (iam:GenerateCredentialReport, iam:GetCredentialReport); IAM regenerates it at most every 4 hours, so its time is given per account. Where the report cannot be parsed, from iam:ListUsers and iam:ListAccessKeys instead.',
    'Key usage (last used date, service, region) as the findings recorded it from iam:GetAccessKeyLastUsed.',
    'Times to resolve come from the detection and resolution times the findings record; a finding written before KeyWarden recorded them has none.',
  ];
  return {
    format: 'keywarden-evidence',
    formatVersion: EVIDENCE_FORMAT_VERSION,
    tool: { name: 'keywarden', version: context.version },
    generatedAt: context.now.toISOString(),
    generatedBy: context.generatedBy,
    period: { from: new Date(from).toISOString(), to: context.now.toISOString(), days: context.sinceDays },
    control: { title: CONTROL_TITLE, benchmark: 'CIS AWS Foundations Benchmark', mappings: CIS_MAPPINGS },
    scope: context.scope,
    roleName: context.roleName ?? null,
    region: context.region,
    sources,
    accounts,
    total: {
      ...summarize(rows),
      accounts: accounts.length,
      accountsRead: read.length,
      accountsUnreadable: accounts.length - read.length,
      accountsNotCovered: accounts.filter((a) => a.coverage !== 'covered').length,
      openViolations: all((a) => a.openViolations).length,
      exemptions: all((a) => a.exemptions).length,
      resolved: resolved.length,
      resolveTimes: resolveTimes(resolved),
      threatsOpen: threats.filter((t) => t.state === 'open').length,
      threatsResolved: threats.filter((t) => t.state === 'resolved').length,
    },
    openPerDay: openPerDay(
      all((a) => a.openViolations),
      resolved,
      from,
      now,
    ),
  };
}

/**
 * The findings the report covers, for the OCSF export: every compliance and threat finding still open, and every
 * one written in the period.
 */
export function reportedFindings(inputs: readonly AccountInput[], context: EvidenceContext): Finding[] {
  const from = context.now.getTime() - context.sinceDays * DAY_MS;
  return inputs.flatMap((input) =>
    input.read.kind === 'read'
      ? input.read.findings.filter(
          (f) =>
            f.AwsAccountId === input.accountId &&
            (f.GeneratorId === GENERATOR_ID || f.GeneratorId === THREAT_GENERATOR_ID) &&
            ((f.RecordState === 'ACTIVE' && statusOf(f) !== 'PASSED') || time(f.UpdatedAt) >= from),
        )
      : [],
  );
}
